//! Proofs read from the stored trees: each epoch's Merkle tree is stored once (`claim_trees`) and a claim's proof
//! read out of it by the claim's place, so for every claim of epochs of 1, 2, 3, 7 and 300 claims, what
//! `claims::get` and `claims::all` return is the proof computed from the settlement, and it proves the root. A
//! claim stored before trees were (its proof in its row) still reads with its proof. On SQLite, and on PostgreSQL
//! under `scripts/with-postgres`.

use alloy::primitives::{Address, B256, U256};
use myco_bridge::ids::{ClaimId, Epoch};
use myco_bridge::ingest::document::WithdrawalRequest;
use myco_bridge::settle::EpochSettlement;
use myco_bridge::settle::merkle::process_proof;
use myco_bridge::store::{self, Pool, claims};

use crate::common::{database_url, store_epoch};

/// Stores epoch `epoch` with `n` claims numbered from `first`; returns its settlement.
async fn accept(pool: &Pool, epoch: u64, first: u64, n: u64) -> EpochSettlement {
    let withdrawals = (first..first + n)
        .map(|id| WithdrawalRequest {
            claim_id: U256::from(id),
            account: B256::from(U256::from(id % 5)),
            amount: U256::from(id) * U256::from(10u64).pow(U256::from(15)),
            recipient: Address::repeat_byte(2),
            reissues: None,
        })
        .collect();
    store_epoch(pool, epoch, withdrawals, false).await
}

#[tokio::test]
async fn every_proof_read_from_a_stored_tree_is_the_settlements_and_proves_its_root() {
    let dir = tempfile::tempdir().unwrap();
    let pool = store::connect(&database_url(dir.path()).await).await.unwrap();
    let mut settlements = Vec::new();
    let mut first = 1;
    for (epoch, n) in [1u64, 2, 3, 7, 300].into_iter().enumerate() {
        settlements.push(accept(&pool, epoch as u64 + 1, first, n).await);
        first += n;
    }
    let all = claims::all(&pool).await.unwrap();
    assert_eq!(all.len() as u64, first - 1);
    for settlement in &settlements {
        for claim in &settlement.claims {
            let stored = claims::get(&pool, ClaimId(claim.claim_id)).await.unwrap().unwrap();
            let expected = settlement.proof(claim);
            assert_eq!(stored.proof, expected, "claim {} of epoch {}", claim.claim_id, settlement.epoch);
            assert_eq!(process_proof(&settlement.leaf(claim), &stored.proof), settlement.root());
            let listed = all.iter().find(|c| c.claim.claim_id == claim.claim_id).unwrap();
            assert_eq!(listed.proof, expected);
        }
    }

    // A claim stored before trees were: its proof in its row, no place in a tree.
    let old_proof = [B256::repeat_byte(7), B256::repeat_byte(8)];
    sqlx::query(
        "INSERT INTO claims (claim_id, epoch, account, recipient, myco_amount, flow_penalty, prior_redeemed, leaf,
                             proof)
         VALUES ('999999', $1, $2, $3, '1', '1000000000000000000', '0', $4, $5)",
    )
    .bind(Epoch(1))
    .bind(B256::ZERO.to_vec())
    .bind(Address::ZERO.to_vec())
    .bind(B256::ZERO.to_vec())
    .bind(old_proof.iter().flat_map(|h| h.0).collect::<Vec<u8>>())
    .execute(&pool)
    .await
    .unwrap();
    let stored = claims::get(&pool, ClaimId(U256::from(999_999u64))).await.unwrap().unwrap();
    assert_eq!(stored.proof, old_proof);
}
