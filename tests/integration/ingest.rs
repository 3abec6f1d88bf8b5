//! Ingest through the relayer against anvil: HTTP endpoints that lie, hang or refuse; equivocation.

use std::time::Duration;

use myco_bridge::devnet::RELAYER_ACCOUNT;
use myco_bridge::devnet::faults::Fault;
use myco_bridge::devnet::serve::BatchServer;
use myco_bridge::devnet::simulate::EpochInputs;
use myco_bridge::ingest::SourceConfig;
use myco_bridge::store::{commitments, equivocations, quarantine};
use tokio_util::sync::CancellationToken;

use crate::common::{Harness, wait_until};

/// An endpoint that accepts connections and never answers.
async fn black_hole() -> alloy::transports::http::reqwest::Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://{addr}/").parse().unwrap()
}

/// An address nothing listens on.
async fn refused() -> alloy::transports::http::reqwest::Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/").parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_honest_endpoint_is_enough_among_liars_and_dead_ones() {
    let mut h = Harness::start().await;
    let stop = CancellationToken::new();
    let honest = BatchServer::start("127.0.0.1:0".parse().unwrap(), stop.clone()).await.unwrap();
    let liar = BatchServer::start("127.0.0.1:0".parse().unwrap(), stop.clone()).await.unwrap();
    let faults = [Fault::BadSignature, Fault::WrongSchema, Fault::TooFewSigners];
    let mut previous = None;
    let mut good_batches = Vec::new();
    for (i, fault) in faults.into_iter().enumerate() {
        let epoch = i as u64 + 1;
        let good = h.network.next_batch(&EpochInputs { timestamp: epoch, intents: 4, ..Default::default() });
        liar.publish(epoch, h.network.faulty(&good, previous.as_ref(), fault));
        good_batches.push(good.bytes.clone());
        previous = Some(good);
    }
    let endpoints = vec![liar.url(), black_hole().await, refused().await, honest.url()];
    h.set_source(SourceConfig::Http { endpoints, timeout: Duration::from_millis(500) }).await;

    // The honest endpoint serves each epoch once the liar's version of it has been seen (a liar backs off after
    // each lie, so with every epoch already served it would not be asked again).
    let relayer = h.spawn_relayer(RELAYER_ACCOUNT);
    for (i, bytes) in good_batches.into_iter().enumerate() {
        let liar_origin = liar.url();
        wait_until(&format!("the liar's epoch {} is quarantined", i + 1), || async {
            quarantine::all(&h.pool)
                .await
                .unwrap()
                .iter()
                .filter(|q| q.source.starts_with(liar_origin.as_str()))
                .count()
                > i
        })
        .await;
        honest.publish(i as u64 + 1, bytes);
    }
    wait_until("all three epochs are committed", || async {
        commitments::latest(&h.pool).await.unwrap().map(|e| e.0).is_some_and(|l| l >= 3)
    })
    .await;
    relayer.stop().await.unwrap();
    stop.cancel();

    let reasons: Vec<_> = quarantine::all(&h.pool)
        .await
        .unwrap()
        .into_iter()
        .filter(|q| q.source.starts_with(liar.url().as_str()))
        .map(|q| q.reason)
        .collect();
    assert_eq!(reasons, ["bad_signature", "schema", "no_quorum"], "each lie quarantined once, with its reason");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicting_certified_batches_halt_and_are_kept_as_evidence() {
    let mut h = Harness::start().await;
    let stop = CancellationToken::new();
    let a = BatchServer::start("127.0.0.1:0".parse().unwrap(), stop.clone()).await.unwrap();
    let b = BatchServer::start("127.0.0.1:0".parse().unwrap(), stop.clone()).await.unwrap();
    let good = h.network.next_batch(&EpochInputs { timestamp: 1, ..Default::default() });
    let conflicting = h.network.faulty(&good, None, Fault::Equivocation);
    a.publish(1, good.bytes.clone());
    b.publish(1, conflicting.clone());
    h.set_source(SourceConfig::Http { endpoints: vec![a.url(), b.url()], timeout: Duration::from_secs(2) }).await;

    let relayer = h.spawn_relayer(RELAYER_ACCOUNT);
    let ended = tokio::time::timeout(crate::common::TIMEOUT, relayer.task).await.expect("relayer halts").unwrap();
    let err = ended.expect_err("equivocation must halt");
    assert!(err.to_string().contains("EQUIVOCATION"), "{err}");
    let evidence = equivocations::all(&h.pool).await.unwrap();
    assert_eq!(evidence.len(), 1);
    let mut raws = [evidence[0].first.raw.clone(), evidence[0].second.raw.clone()];
    raws.sort();
    let mut expected = [good.bytes.clone(), conflicting];
    expected.sort();
    assert_eq!(raws, expected, "both certified batches kept byte for byte");
    assert!(commitments::all(&h.pool).await.unwrap().is_empty(), "nothing of the epoch was committed");

    // A restarted relayer refuses to run while the evidence is on record.
    let again = h.spawn_relayer(RELAYER_ACCOUNT);
    let ended = tokio::time::timeout(crate::common::TIMEOUT, again.task).await.expect("refuses at once").unwrap();
    assert!(ended.expect_err("still halted").to_string().contains("EQUIVOCATION"));
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certified_fork_at_the_next_epoch_halts_and_is_kept_as_evidence() {
    let mut h = Harness::start().await;
    let source = myco_bridge::ingest::folder::FolderSource::new(&h.batch_dir);
    let first = h.network.next_batch(&EpochInputs { timestamp: 1, ..Default::default() });
    source.publish(1, &first.bytes).await.unwrap();
    let relayer = h.spawn_relayer(RELAYER_ACCOUNT);
    wait_until("epoch 1 is accepted", || async { myco_bridge::store::batches::last(&h.pool).await.unwrap().is_some() })
        .await;

    // Epoch 2, certified by the quorum, names a parent that is not the accepted epoch 1: the validators certified
    // another epoch 1 somewhere. Not a bad input to wait past: two histories, for a person to look at.
    let second = h.network.next_batch(&EpochInputs { timestamp: 2, ..Default::default() });
    let forked = h.network.faulty(&second, Some(&first), Fault::WrongParent);
    source.publish(2, &forked).await.unwrap();
    let ended = tokio::time::timeout(crate::common::TIMEOUT, relayer.task).await.expect("relayer halts").unwrap();
    assert!(ended.expect_err("a fork must halt").to_string().contains("EQUIVOCATION"));
    let evidence = equivocations::all(&h.pool).await.unwrap();
    assert_eq!(evidence.len(), 1);
    assert_eq!((evidence[0].epoch, evidence[0].shape), (1, equivocations::Shape::Fork));
    assert_eq!((evidence[0].first.raw.clone(), evidence[0].second.raw.clone()), (first.bytes.clone(), forked));
}

/// A failure of the relayer's own store while it checks a batch is not the batch's fault: the batch is not
/// quarantined (a folder would then not read the same file again), the read fails and is retried, and the batch
/// is accepted once the store answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_failure_while_checking_a_batch_is_retried_not_quarantined() {
    use myco_bridge::devnet::simulate::Sizes;
    use myco_bridge::reader::Reader;

    let mut h = Harness::start().await;
    let sizes = Sizes { balances: 10, intents: 2, withdrawals: 3, deposits: 0 };
    let batch = h.network.next_batch(&EpochInputs { timestamp: 1, exact: Some(sizes), ..Default::default() });
    myco_bridge::ingest::folder::FolderSource::new(&h.batch_dir).publish(1, &batch.bytes).await.unwrap();
    let config = h.config();
    let reader_config = myco_bridge::reader::Config {
        chain_id: config.chain_id,
        validators: config.validators.clone(),
        source: config.source.clone(),
        document_limits: config.document_limits,
        params: Default::default(),
        escrow: config.escrow,
    };
    let mut reader = Reader::open(h.pool.clone(), &reader_config).await.unwrap();

    // The claims table is where the reuse check of the batch's claim ids looks: take it away for one read.
    sqlx::query("ALTER TABLE claims RENAME TO claims_away").execute(&h.pool).await.unwrap();
    let error = reader.read_available().await.unwrap_err();
    assert!(matches!(error, myco_bridge::Error::Store(_)), "{error}");
    assert!(quarantine::all(&h.pool).await.unwrap().is_empty(), "the batch is not blamed");

    sqlx::query("ALTER TABLE claims_away RENAME TO claims").execute(&h.pool).await.unwrap();
    let accepted = reader.read_available().await.unwrap();
    assert_eq!(accepted.iter().map(|a| (a.epoch, a.claims)).collect::<Vec<_>>(), [(1, 3)]);
}
