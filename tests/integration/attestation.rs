//! No single key moves money: `StateCommitment` takes a commitment only with a quorum of the validators'
//! attesters over exactly it, the relayer submits only what a quorum computed as it did, and an attester never
//! signs two commitments for one epoch.

use alloy::primitives::{B256, Bytes, U256};
use myco_bridge::attest::service::{self, Attester};
use myco_bridge::chain::bindings::StateCommitment;
use myco_bridge::chain::bindings::state_commitment::IStateCommitment::ReserveFigures;
use myco_bridge::chain::{RootCommit, send_call};
use myco_bridge::devnet::simulate::EpochInputs;
use myco_bridge::devnet::{ADMIN_ACCOUNT, RELAYER_ACCOUNT};
use myco_bridge::health::Alarm;
use myco_bridge::ids::Epoch;
use myco_bridge::ingest::folder::FolderSource;
use myco_bridge::settle::CommittedFigures;
use myco_bridge::store::{attestations, batches, commitments};

use crate::common::{Harness, wait_until};

fn root(epoch: u64, state_root: B256, total_reserve: u64) -> RootCommit {
    RootCommit {
        epoch: Epoch(epoch),
        state_root,
        parent_root: B256::ZERO,
        digest: B256::repeat_byte(9),
        timestamp: 1,
        figures: CommittedFigures {
            total_supply: U256::from(100),
            total_reserve: U256::from(total_reserve),
            ..Default::default()
        },
    }
}

fn figures(r: &RootCommit) -> ReserveFigures {
    ReserveFigures {
        totalSupply: r.figures.total_supply,
        totalReserve: r.figures.total_reserve,
        flowPressure: r.figures.flow_pressure,
        timestamp: r.timestamp,
    }
}

async fn committed(h: &Harness, epoch: u64) -> bool {
    commitments::latest(&h.pool).await.unwrap().is_some_and(|e| e.0 >= epoch)
}

/// The relayer key alone (or with the wrong figures signed) commits nothing; the typed data is the contract's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relayer_key_cannot_commit_without_a_quorum_over_exactly_these_figures() {
    let h = Harness::start().await;
    let provider = h.devnet.provider(RELAYER_ACCOUNT);
    let sc = StateCommitment::new(h.devnet.deployment.state_commitment, &provider);
    let wanted = root(1, B256::repeat_byte(0xaa), 1_000_000);

    // Our EIP-712 digest is the contract's.
    let digest = h.devnet.attestation_domain().digest(&wanted);
    let theirs = sc.attestationDigest(1, wanted.parent_root, wanted.state_root, wanted.digest, figures(&wanted));
    assert_eq!(theirs.call().await.unwrap(), digest);

    // No signatures.
    let alone = sc.commit(1, wanted.parent_root, wanted.state_root, wanted.digest, figures(&wanted), Vec::new());
    let err = send_call("commit", alone).await.unwrap_err().to_string();
    assert!(err.contains("AttestationBelowThreshold"), "{err}");

    // A quorum's signatures over a smaller reserve, submitted with a larger one.
    let signed = root(1, wanted.state_root, 1);
    let sigs = h.quorum(&signed);
    let swapped = sc.commit(1, wanted.parent_root, wanted.state_root, wanted.digest, figures(&wanted), sigs);
    let err = send_call("commit", swapped).await.unwrap_err().to_string();
    assert!(err.contains("AttestationUnknownSigner") || err.contains("AttestationSignersNotAscending"), "{err}");

    // The relayer key's own signature is not an attester's.
    let key = h.devnet.signer(RELAYER_ACCOUNT);
    let own: Vec<Bytes> = vec![h.devnet.attestation_domain().sign(&key, &wanted).unwrap().to_vec().into(); 3];
    let err = send_call("commit", sc.commit(1, B256::ZERO, wanted.state_root, wanted.digest, figures(&wanted), own))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("Attestation"), "{err}");
    assert_eq!(sc.latestEpoch().call().await.unwrap(), 0);

    // The quorum's signatures over exactly these values: anyone (here the admin) may submit them.
    let admin = h.devnet.provider(ADMIN_ACCOUNT);
    let anyone = StateCommitment::new(h.devnet.deployment.state_commitment, &admin);
    let commit = anyone.commit(1, B256::ZERO, wanted.state_root, wanted.digest, figures(&wanted), h.quorum(&wanted));
    send_call("commit", commit).await.unwrap();
    assert_eq!(anyone.latestEpoch().call().await.unwrap(), 1);
}

/// f = 1 of 4: one lying attester changes nothing while three honest ones sign, and it is recorded with what it
/// changed; with f + 1 = 2 silent the relayer waits (alarm, nothing committed, no halt) and goes on once they are
/// back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f_faulty_attesters_change_nothing_and_f_plus_one_silent_ones_stall_without_harm() {
    let mut h = Harness::start().await;
    let source = FolderSource::new(&h.batch_dir);
    // Attester 0 lies: it signs its own commitment with a doctored reserve figure.
    let liar = h.attesters.remove(0);
    let liar_address = liar.address;
    liar.stop().await;
    let lie = {
        let keys = myco_bridge::devnet::attesters::keys(myco_bridge::devnet::attesters::ATTESTER_SEED, 4);
        let key = keys.into_iter().find(|k| k.address() == liar_address).unwrap();
        let upstream = h.attesters.last().unwrap().url.clone();
        ProxyAttester::lying(key, h.devnet.attestation_domain(), upstream).await
    };
    let mut config = h.config();
    config.attestation_endpoints.push(lie.url.clone());

    let b1 = h.network.next_batch(&EpochInputs { timestamp: 1, ..Default::default() });
    source.publish(1, &b1.bytes).await.unwrap();
    let relayer = h.spawn_relayer_with(RELAYER_ACCOUNT, config);
    wait_until("epoch 1 is committed by the three honest attesters", || committed(&h, 1)).await;
    let recorded = commitments::all(&h.pool).await.unwrap();
    assert_eq!(recorded[0].attested_by.len(), 3);
    assert!(!recorded[0].attested_by.contains(&liar_address), "the liar's signature never counts");
    let disagreements = attestations::disagreements(&h.pool).await.unwrap();
    assert_eq!(disagreements.len(), 1, "{disagreements:?}");
    assert_eq!((disagreements[0].signer, disagreements[0].fields.as_str()), (Some(liar_address), "total reserve"));

    // f + 1 = 2 go silent (the liar and one honest attester): two honest ones left, below the threshold.
    // Nothing is committed, and nothing halts.
    lie.stop();
    h.attesters.remove(0).stop().await;
    let b2 = h.network.next_batch(&EpochInputs { timestamp: 2, ..Default::default() });
    source.publish(2, &b2.bytes).await.unwrap();
    wait_until("the relayer waits for epoch 2's attestations", || async {
        relayer
            .health
            .alarms()
            .iter()
            .any(|(a, m)| *a == Alarm::AwaitingAttestations && m.contains("epoch 2: 2 of the 3"))
    })
    .await;
    assert!(!committed(&h, 2).await);

    // They come back (fresh stores: they verify and sign again); the relayer goes on by itself.
    let validators = myco_bridge::ingest::ValidatorSet::new(h.network.validator_keys()).unwrap();
    let mut back = h.devnet.spawn_attesters(validators, h.source.clone()).await.unwrap();
    h.attesters.append(&mut back);
    // The relayer keeps asking its configured endpoints; the returning attesters listen elsewhere, so it is
    // restarted on the new list, as an operator would update it.
    relayer.stop().await.unwrap();
    let relayer = h.spawn_relayer(RELAYER_ACCOUNT);
    wait_until("epoch 2 is committed once a quorum is back", || committed(&h, 2)).await;
    relayer.stop().await.unwrap();
}

/// An attester never signs two different commitments for one epoch, across a restart over its store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attester_refuses_to_sign_a_second_commitment_for_an_epoch_across_restarts() {
    let h = Harness::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("attester.db").display());
    let key = myco_bridge::devnet::attesters::keys(99, 1).remove(0);
    let config = service::Config {
        reader: myco_bridge::reader::Config {
            chain_id: h.devnet.chain_id(),
            validators: myco_bridge::ingest::ValidatorSet::new(h.network.validator_keys()).unwrap(),
            source: h.source.clone(),
            document_limits: Default::default(),
            params: Default::default(),
            escrow: h.devnet.deployment.escrow,
        },
        domain: h.devnet.attestation_domain(),
        poll_interval: std::time::Duration::from_millis(50),
        ledger: None,
    };
    let first = root(1, B256::repeat_byte(1), 10);
    {
        let pool = myco_bridge::store::connect(&url).await.unwrap();
        let attester = Attester::new(pool, key.clone(), config.clone());
        let signed = attester.sign(&first).await.unwrap();
        assert_eq!(attester.sign(&first).await.unwrap(), signed, "the same commitment again is the same signature");
    }
    let pool = myco_bridge::store::connect(&url).await.unwrap();
    let restarted = Attester::new(pool, key, config);
    let other = root(1, B256::repeat_byte(2), 10);
    let err = restarted.sign(&other).await.unwrap_err();
    assert_eq!(err.handling(), myco_bridge::Handling::Halt);
    assert!(err.to_string().contains("refusing to sign epoch 1"), "{err}");
    assert!(batches::all(&h.pool).await.unwrap().is_empty());
}

/// An attester endpoint that serves an honest attester's answer changed by `doctor`.
struct ProxyAttester {
    url: String,
    shutdown: tokio_util::sync::CancellationToken,
}

impl ProxyAttester {
    /// A liar: it signs, with `key`, the honest commitment with the reserve figure one wei higher.
    async fn lying(
        key: alloy::signers::local::PrivateKeySigner,
        domain: myco_bridge::attest::AttestationDomain,
        upstream: String,
    ) -> Self {
        Self::start(upstream, move |honest: myco_bridge::attest::Attestation| {
            let mut lie = honest.commitment.to_root().unwrap();
            lie.figures.total_reserve += U256::from(1);
            myco_bridge::attest::Attestation {
                signer: key.address(),
                signature: domain.sign(&key, &lie).unwrap().to_vec().into(),
                commitment: (&lie).into(),
                ..honest
            }
        })
        .await
    }

    async fn start(
        upstream: String,
        doctor: impl Fn(myco_bridge::attest::Attestation) -> myco_bridge::attest::Attestation
        + Clone
        + Send
        + Sync
        + 'static,
    ) -> Self {
        use axum::extract::Path;
        use axum::response::IntoResponse;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = tokio_util::sync::CancellationToken::new();
        let app = axum::Router::new().route(
            "/v1/attestations/{epoch}",
            axum::routing::get(move |Path(epoch): Path<u64>| {
                let (doctor, upstream) = (doctor.clone(), upstream.clone());
                async move {
                    let url = format!("{upstream}/v1/attestations/{epoch}");
                    let client = myco_bridge::net::client(std::time::Duration::from_secs(2)).unwrap();
                    let Ok(response) = client.get(&url).send().await else {
                        return axum::http::StatusCode::NOT_FOUND.into_response();
                    };
                    let Ok(honest) = response.json::<myco_bridge::attest::Attestation>().await else {
                        return axum::http::StatusCode::NOT_FOUND.into_response();
                    };
                    axum::Json(doctor(honest)).into_response()
                }
            }),
        );
        let stop = shutdown.clone();
        tokio::spawn(async move { axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned()).await });
        Self { url, shutdown }
    }

    fn stop(&self) {
        self.shutdown.cancel();
    }
}

/// An attester serving its own valid signature with v = 0/1 (or 37/38), which `ecrecover` refuses, beside two
/// honest ones it is needed with: the relayer sends the signature as the contract takes it, and commits. (It
/// used to submit the bytes as served, revert `AttestationSignatureInvalid(0)` and halt, again on every restart.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attester_serving_another_v_does_not_stop_the_commit() {
    let mut h = Harness::start().await;
    let source = FolderSource::new(&h.batch_dir);
    let upstream = h.attesters[2].url.clone();
    let hostile = ProxyAttester::start(upstream, |mut a: myco_bridge::attest::Attestation| {
        let mut bytes = a.signature.to_vec();
        // 27/28 become 0/1 on even epochs and 37/38 (EIP-155 at chain id 1) on odd ones.
        bytes[64] = bytes[64] - 27 + if a.commitment.epoch.is_multiple_of(2) { 0 } else { 37 };
        a.signature = bytes.into();
        a
    })
    .await;
    let mut config = h.config();
    config.attestation_endpoints = vec![h.attesters[0].url.clone(), h.attesters[1].url.clone(), hostile.url.clone()];
    for epoch in 1..=2 {
        let b = h.network.next_batch(&EpochInputs { timestamp: epoch, ..Default::default() });
        source.publish(epoch, &b.bytes).await.unwrap();
    }
    let relayer = h.spawn_relayer_with(RELAYER_ACCOUNT, config);
    wait_until("both epochs are committed with the hostile attester's signature", || committed(&h, 2)).await;
    assert!(relayer.health.halted().is_none());
    assert_eq!(commitments::all(&h.pool).await.unwrap()[1].attested_by.len(), 3);
    relayer.stop().await.unwrap();
    hostile.stop();
}

/// `simulate --attest-for` runs one attester per validator beside the simulated network, keys from its seed (the
/// devnet's): a relayer given the URLs it prints commits with their signatures. With `--curve` its batches are
/// version 2, and they pass the conservation audit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_runs_attesters_a_relayer_commits_with() {
    use std::io::{BufRead, BufReader};
    let mut h = Harness::start().await;
    for a in std::mem::take(&mut h.attesters) {
        a.stop().await;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("batches");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_myco-bridge"))
        .args(["simulate", "--epochs", "3", "--interval-ms", "300", "--accounts", "8", "--withdrawals", "0"])
        .args(["--chain-id", &h.devnet.chain_id().to_string(), "--rpc-url", h.devnet.url().as_str()])
        .args(["--escrow", &h.devnet.deployment.escrow.to_string()])
        .args(["--curve", &h.devnet.deployment.curve.to_string()])
        .args(["--from-block", &h.devnet.deployment.start_block.to_string()])
        .args(["--attest-for", &h.devnet.deployment.state_commitment.to_string(), "--out"])
        .arg(&out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // "  0xADDRESS at http://127.0.0.1:PORT", one line per attester.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let urls: Vec<String> = lines
        .by_ref()
        .map_while(Result::ok)
        .filter_map(|l| l.split_once(" at http://").map(|(_, addr)| format!("http://{addr}")))
        .take(4)
        .collect();
    // Keep reading what it prints, or it dies of a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    assert_eq!(urls.len(), 4, "four attesters announced");
    let keys = std::fs::read_to_string(out.join("validators.txt")).unwrap();
    let validators =
        myco_bridge::ingest::ValidatorSet::new(myco_bridge::ingest::certificate::parse_keys(&keys).unwrap()).unwrap();
    let mut config = h.devnet.relayer_config(validators, myco_bridge::ingest::SourceConfig::Folder(out.clone()));
    config.attestation_endpoints = urls;
    let relayer = h.spawn_relayer_with(RELAYER_ACCOUNT, config);
    wait_until("the simulated epochs are committed with the simulator's attesters", || committed(&h, 3)).await;
    relayer.stop().await.unwrap();
    assert_eq!(commitments::all(&h.pool).await.unwrap()[1].attested_by.len(), 3);
    // With --curve the simulator writes version 2 batches, and each passed the conservation audit.
    let audits = myco_bridge::store::ledger::audits(&h.pool).await.unwrap();
    assert_eq!(audits.len(), 3);
    assert!(audits[1..].iter().all(|(_, t)| t["myco_supply"]["balanced"] == true), "{audits:?}");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// An attester answers an epoch it cannot hold (above 2^63) "not found" and a second name of epoch 1 (`+1`,
/// `0001`) "bad request": never a 503 with the database's words, never epoch 1's attestation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attester_answers_every_epoch_name_with_a_specific_status() {
    let h = Harness::start().await;
    let client = myco_bridge::net::client(std::time::Duration::from_secs(5)).unwrap();
    for (epoch, status) in [
        ("+1", 400),
        ("0001", 400),
        ("1e0", 400),
        ("9223372036854775808", 404),
        ("18446744073709551615", 404),
        ("99999999999999999999999", 400),
        ("1", 404),
    ] {
        let url = format!("{}/v1/attestations/{epoch}", h.attesters[0].url);
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{epoch}: {}", response.text().await.unwrap());
    }
}
