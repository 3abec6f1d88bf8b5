//! State roots ≡ OpenZeppelin: our Merkle tree over withdrawal claims gives the same root and proofs as
//! `@openzeppelin/merkle-tree`'s `StandardMerkleTree`, our leaves equal the escrow's `ClaimLeaf`, and every one of
//! 10,000 proofs verifies on chain with OpenZeppelin `MerkleProof`.

use std::io::Write;
use std::process::{Command, Stdio};

use alloy::primitives::{Address, B256, U256};
use myco_bridge::chain::bindings::harness::IUSDCEscrow::WithdrawalClaim;
use myco_bridge::chain::bindings::harness::SettlementHarness;
use myco_bridge::chain::bindings::harness::SettlementHarness::SettlementHarnessInstance;
use myco_bridge::devnet::{self, ADMIN_ACCOUNT};
use myco_bridge::settle::{Claim, ClaimDomain, MerkleTree};

/// The domain the leaves here are bound to: anvil's chain and an escrow address of our choosing.
const DOMAIN: ClaimDomain =
    ClaimDomain { chain_id: 31337, escrow: alloy::primitives::address!("0x00000000000000000000000000000000000e5c40") };

fn leaf(c: &Claim) -> B256 {
    c.leaf(&DOMAIN)
}

fn claims(n: usize, seed: u64) -> Vec<Claim> {
    let h = |i: usize, tag: &str| alloy::primitives::keccak256(format!("{seed}/{tag}/{i}"));
    (0..n)
        .map(|i| Claim {
            claim_id: U256::from_be_bytes(h(i, "id").0),
            account: h(i, "account"),
            recipient: Address::from_slice(&h(i, "recipient")[12..]),
            myco_amount: U256::from_be_bytes(h(i, "amount").0) >> (i % 256),
            flow_penalty: U256::from(10u64).pow(U256::from(18)) + U256::from(i),
            epoch: if i % 7 == 0 { u64::MAX } else { i as u64 },
            prior_redeemed: U256::from(i) * U256::from(10u64).pow(U256::from(18)),
        })
        .collect()
}

/// Roots and proofs from `@openzeppelin/merkle-tree` for each set of claims.
fn openzeppelin(sets: &[Vec<Claim>]) -> Vec<(B256, Vec<Vec<B256>>)> {
    let trees: Vec<Vec<[String; 9]>> =
        sets.iter().map(|claims| claims.iter().map(|c| c.standard_tree_values(&DOMAIN)).collect()).collect();
    let input = serde_json::json!({ "trees": trees }).to_string();
    let mut child = Command::new("node")
        .arg("tests/interop/merkle-tree.js")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node runs");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "merkle-tree.js failed");
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    parsed["trees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let root: B256 = t["root"].as_str().unwrap().parse().unwrap();
            let proofs = t["proofs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_array().unwrap().iter().map(|h| h.as_str().unwrap().parse().unwrap()).collect())
                .collect();
            (root, proofs)
        })
        .collect()
}

#[test]
fn roots_and_proofs_equal_openzeppelins_standard_merkle_tree() {
    let sets: Vec<Vec<Claim>> =
        [1, 2, 3, 4, 5, 7, 8, 9, 31, 64, 100, 257, 1000].iter().map(|&n| claims(n, n as u64)).collect();
    for (claims, (root, proofs)) in sets.iter().zip(openzeppelin(&sets)) {
        let tree = MerkleTree::new(claims.iter().map(leaf).collect());
        assert_eq!(tree.root(), root, "{} claims", claims.len());
        for (claim, proof) in claims.iter().zip(proofs) {
            assert_eq!(tree.proof(&leaf(claim)).unwrap(), proof, "{} claims", claims.len());
        }
    }
}

fn to_sol(c: &Claim) -> WithdrawalClaim {
    WithdrawalClaim {
        claimId: c.claim_id,
        account: c.account,
        recipient: c.recipient,
        mycoAmount: c.myco_amount,
        flowPenalty: c.flow_penalty,
        epoch: c.epoch,
        priorRedeemed: c.prior_redeemed,
    }
}

async fn harness() -> (alloy::node_bindings::AnvilInstance, SettlementHarnessInstance<alloy::providers::DynProvider>) {
    let anvil = devnet::anvil::spawn().unwrap();
    let signer = alloy::signers::local::PrivateKeySigner::from(&anvil.keys()[ADMIN_ACCOUNT]);
    let provider = myco_bridge::chain::signing_provider(anvil.endpoint_url(), signer);
    let harness = SettlementHarness::deploy(provider).await.unwrap();
    (anvil, harness)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_leaves_and_proofs_verify_on_chain() {
    let (_anvil, harness) = harness().await;
    let claims = claims(10_000, 42);
    let tree = MerkleTree::new(claims.iter().map(leaf).collect());
    for chunk in claims.chunks(500) {
        let leaves = harness
            .leavesOf(U256::from(DOMAIN.chain_id), DOMAIN.escrow, chunk.iter().map(to_sol).collect())
            .call()
            .await
            .unwrap();
        let ours: Vec<B256> = chunk.iter().map(leaf).collect();
        assert_eq!(leaves, ours, "the escrow's leaf encoding");
        let proofs: Vec<Vec<B256>> = ours.iter().map(|l| tree.proof(l).unwrap()).collect();
        let ok = harness.verifyMany(tree.root(), ours.clone(), proofs.clone()).call().await.unwrap();
        assert!(ok.iter().all(|&v| v), "every proof verifies with MerkleProof");
        // A proof for one leaf does not prove another.
        let mut swapped = proofs.clone();
        swapped.swap(0, 1);
        let ok = harness.verifyMany(tree.root(), ours, swapped).call().await.unwrap();
        assert!(!ok[0] && !ok[1]);
    }
}
