//! The relayer's side: ask every configured attester for its signature of an epoch, keep only signatures over
//! the relayer's own commitment by registered attesters, and hand the contract a quorum of them, ordered by
//! signer. An attester that signed something else is recorded with what differs (an N-version check: two
//! independent computations must agree before money moves) and never counted; a silent or slow one costs at most
//! the request timeout.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use alloy::primitives::{Address, Bytes};

use super::wire::Attestation;
use super::{AttestationDomain, Error};
use crate::chain::RootCommit;
use crate::store::Pool;
use crate::store::attestations::{self, Disagreement};

/// The largest answer read from an attester: an attestation is well under a kilobyte, and an endpoint that sends
/// more is not read further (a lying endpoint cannot grow our memory).
pub const MAX_ATTESTATION_BYTES: usize = 16 * 1024;

/// The attesters `StateCommitment` accepts now, and how many must sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quorum {
    /// Registered attesters.
    pub attesters: BTreeSet<Address>,
    /// Signatures a commitment needs.
    pub threshold: usize,
}

/// Asks attester endpoints for signatures.
#[derive(Debug, Clone)]
pub struct Collector {
    endpoints: Vec<String>,
    client: reqwest::Client,
    domain: AttestationDomain,
}

/// What one endpoint gave for an epoch.
enum Answer {
    /// A signature over our commitment by a registered attester.
    Counts(Address, Bytes),
    /// Nothing usable, and why (silent, not found, not an attester): not evidence of anything.
    Missing(String),
    /// A signed statement that differs from ours: evidence, recorded.
    Disagrees(Disagreement),
}

impl Collector {
    /// A collector asking `endpoints` (base URLs), each request bounded by `timeout`.
    pub fn new(endpoints: Vec<String>, domain: AttestationDomain, timeout: Duration) -> crate::Result<Self> {
        let client = crate::net::client(timeout).map_err(|e| Error::Client { reason: e.to_string() })?;
        Ok(Self { endpoints, client, domain })
    }

    /// The signers and signatures over our own commitment `root`, at least `quorum.threshold` of them, ordered by
    /// ascending signer, each signature in the one form the contract takes (65 bytes, v 27 or 28, low s); or
    /// `Error::Quorum` saying which endpoints did not count and why. All that count are returned: the submitter
    /// sends `threshold` and keeps the rest in case the contract refuses one.
    pub async fn collect(
        &self,
        pool: &Pool,
        root: &RootCommit,
        quorum: &Quorum,
    ) -> crate::Result<Vec<(Address, Bytes)>> {
        let mut asks = tokio::task::JoinSet::new();
        for endpoint in self.endpoints.clone() {
            let (client, domain, root) = (self.client.clone(), self.domain, *root);
            let attesters = quorum.attesters.clone();
            asks.spawn(async move {
                let answer = ask(&client, &endpoint, domain, &root, &attesters).await;
                (endpoint, answer)
            });
        }
        let mut tally = Tally::default();
        while let Some(joined) = asks.join_next().await {
            let Ok((endpoint, answer)) = joined else { continue };
            if let Answer::Disagrees(d) = &answer
                && attestations::record_disagreement(pool, d).await?
            {
                tracing::warn!(epoch = root.epoch.0, endpoint = %d.endpoint, signer = ?d.signer,
                    differs = %d.fields, "an attester signed a different commitment");
            }
            if let Some(replay) = tally.add(endpoint, answer) {
                tracing::warn!(epoch = root.epoch.0, "{replay}");
            }
        }
        if tally.counted.len() < quorum.threshold {
            tally.notes.sort();
            return Err(Error::Quorum {
                epoch: root.epoch.0,
                have: tally.counted.len(),
                need: quorum.threshold,
                detail: tally.notes.join("; "),
            }
            .into());
        }
        // BTreeMap order is ascending by address, as the contract wants.
        Ok(tally.counted.into_iter().map(|(signer, (_, signature))| (signer, signature)).collect())
    }
}

/// The answers of one round, by signer: each signer counts once, and the endpoint that first served it is kept so
/// that a second endpoint serving the same signer's signature (a replay, or two endpoints for one key) is named.
#[derive(Default)]
struct Tally {
    counted: BTreeMap<Address, (String, Bytes)>,
    notes: Vec<String>,
}

impl Tally {
    /// Counts `answer` from `endpoint`; returns the note when it repeats a signer another endpoint served.
    fn add(&mut self, endpoint: String, answer: Answer) -> Option<String> {
        match answer {
            Answer::Counts(signer, signature) => {
                if let Some((first, _)) = self.counted.get(&signer) {
                    let note = format!("{endpoint}: serves attester {signer}, already served by {first}");
                    self.notes.push(note.clone());
                    return Some(note);
                }
                self.counted.insert(signer, (endpoint, signature));
            }
            Answer::Missing(why) => self.notes.push(format!("{endpoint}: {why}")),
            Answer::Disagrees(d) => {
                self.notes.push(format!("{endpoint}: signed a different commitment ({})", d.fields));
            }
        }
        None
    }
}

/// One endpoint's answer for `root`'s epoch.
async fn ask(
    client: &reqwest::Client,
    endpoint: &str,
    domain: AttestationDomain,
    root: &RootCommit,
    attesters: &BTreeSet<Address>,
) -> Answer {
    let url = format!("{}/v1/attestations/{}", endpoint.trim_end_matches('/'), root.epoch.0);
    let response = match client.get(&url).send().await {
        Ok(r) => r,
        Err(e) => return Answer::Missing(format!("unreachable: {}", crate::error::with_causes(&e))),
    };
    if !response.status().is_success() {
        return Answer::Missing(format!("answered {}", response.status()));
    }
    let text = match read_bounded(response).await {
        Ok(t) => t,
        Err(why) => return Answer::Missing(why),
    };
    let attestation: Attestation = match serde_json::from_str(&text) {
        Ok(a) => a,
        Err(e) => return Answer::Missing(format!("not an attestation: {e}")),
    };
    judge(endpoint, domain, root, attesters, &attestation, text)
}

/// The answer's body as text, at most [`MAX_ATTESTATION_BYTES`].
async fn read_bounded(mut response: reqwest::Response) -> Result<String, String> {
    let too_large = || format!("answer larger than {MAX_ATTESTATION_BYTES} bytes");
    if response.content_length().is_some_and(|n| n > MAX_ATTESTATION_BYTES as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| format!("reading the answer: {e}"))? {
        if body.len() + chunk.len() > MAX_ATTESTATION_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|_| "the answer is not UTF-8".to_string())
}

/// Whether `a` counts toward our commitment `root`, is missing, or disagrees with it.
fn judge(
    endpoint: &str,
    domain: AttestationDomain,
    root: &RootCommit,
    attesters: &BTreeSet<Address>,
    a: &Attestation,
    evidence: String,
) -> Answer {
    let disagree = |signer: Option<Address>, fields: String| {
        Answer::Disagrees(Disagreement { epoch: root.epoch, endpoint: endpoint.to_string(), signer, fields, evidence })
    };
    if a.chain_id != domain.chain_id || a.state_commitment != domain.state_commitment {
        return Answer::Missing(format!("attests for chain {} contract {}, not ours", a.chain_id, a.state_commitment));
    }
    let theirs = match a.commitment.to_root() {
        Ok(t) => t,
        Err(e) => return Answer::Missing(format!("malformed commitment: {e}")),
    };
    let differs = root.differences(&theirs);
    if !differs.is_empty() {
        // Who really signed it: their signature over their own commitment.
        return disagree(domain.signer(&theirs, &a.signature), differs.join(", "));
    }
    match domain.signer(root, &a.signature) {
        Some(signer) if signer != a.signer => {
            Answer::Missing(format!("signature recovers to {signer}, not the claimed {}", a.signer))
        }
        Some(signer) if !attesters.contains(&signer) => {
            Answer::Missing(format!("{signer} is not a registered attester"))
        }
        // Re-encoded: an attester may serve v as 0/1 or 37/38, which the contract refuses (ecrecover takes 27/28).
        Some(signer) => Answer::Counts(signer, crate::attest::typed::canonical(&a.signature)),
        None => Answer::Missing("the signature is malformed or malleable".into()),
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{B256, U256};
    use alloy::signers::local::PrivateKeySigner;

    use super::*;
    use crate::attest::wire::CommitmentFields;
    use crate::ids::Epoch;
    use crate::settle::CommittedFigures;

    fn root() -> RootCommit {
        RootCommit {
            epoch: Epoch(4),
            state_root: B256::repeat_byte(1),
            parent_root: B256::repeat_byte(2),
            digest: B256::repeat_byte(3),
            timestamp: 99,
            figures: CommittedFigures {
                total_supply: U256::from(10),
                total_reserve: U256::from(9),
                flow_pressure: U256::from(1),
            },
        }
    }

    const DOMAIN: AttestationDomain =
        AttestationDomain { chain_id: 31337, state_commitment: Address::repeat_byte(0x5c) };

    fn attestation(key: &PrivateKeySigner, r: &RootCommit, domain: AttestationDomain) -> Attestation {
        Attestation {
            chain_id: DOMAIN.chain_id,
            state_commitment: DOMAIN.state_commitment,
            signer: key.address(),
            signature: domain.sign(key, r).unwrap().to_vec().into(),
            commitment: CommitmentFields::from(r),
        }
    }

    #[test]
    fn only_a_registered_attesters_signature_over_our_own_commitment_counts() {
        let (key, stranger) = (PrivateKeySigner::random(), PrivateKeySigner::random());
        let attesters = BTreeSet::from([key.address()]);
        let ours = root();
        let judge = |a: &Attestation| judge("http://a", DOMAIN, &ours, &attesters, a, String::new());

        assert!(matches!(judge(&attestation(&key, &ours, DOMAIN)), Answer::Counts(s, _) if s == key.address()));
        assert!(matches!(judge(&attestation(&stranger, &ours, DOMAIN)), Answer::Missing(_)));

        // Their own, different figures: a disagreement naming the field and the signer.
        let mut theirs = ours;
        theirs.figures.total_reserve = U256::from(8);
        match judge(&attestation(&key, &theirs, DOMAIN)) {
            Answer::Disagrees(d) => {
                assert_eq!(d.fields, "total reserve");
                assert_eq!(d.signer, Some(key.address()));
            }
            _ => panic!("a different commitment must be recorded"),
        }

        // Our fields, but signed for another contract: the signature recovers to someone else.
        let elsewhere = AttestationDomain { state_commitment: Address::repeat_byte(0x77), ..DOMAIN };
        assert!(matches!(judge(&attestation(&key, &ours, elsewhere)), Answer::Missing(_)));
    }

    /// An attester serving its own valid signature with v as 0/1 or 37/38 (which `ecrecover`, and so the
    /// contract, refuses): counted, and handed on as the contract takes it (v 27 or 28), the same signature.
    #[test]
    fn a_signature_with_another_v_is_counted_in_the_contracts_encoding() {
        let key = PrivateKeySigner::random();
        let attesters = BTreeSet::from([key.address()]);
        let ours = root();
        let good = attestation(&key, &ours, DOMAIN);
        let parity = good.signature[64] - 27;
        for v in [parity, 37 + parity] {
            let mut hostile = good.clone();
            let mut bytes = hostile.signature.to_vec();
            bytes[64] = v;
            hostile.signature = bytes.into();
            match judge("http://a", DOMAIN, &ours, &attesters, &hostile, String::new()) {
                Answer::Counts(signer, signature) => {
                    assert_eq!(signer, key.address());
                    assert_eq!(signature, good.signature, "v {v} re-encoded as {}", parity + 27);
                }
                _ => panic!("v {v}: a valid signature must count"),
            }
        }
    }

    /// Two endpoints serving one attester's signature count once, and the alarm names both endpoints: an operator
    /// sees which configured endpoint is not the attester it was taken for.
    #[test]
    fn an_endpoint_serving_another_endpoints_signer_is_named() {
        let key = PrivateKeySigner::random();
        let signature = Bytes::from(vec![1u8; 65]);
        let mut tally = Tally::default();
        assert_eq!(tally.add("http://a".into(), Answer::Counts(key.address(), signature.clone())), None);
        let note = tally.add("http://b".into(), Answer::Counts(key.address(), signature)).expect("a replay is named");
        assert!(note.starts_with("http://b") && note.contains("http://a") && note.contains(&key.address().to_string()));
        assert_eq!(tally.counted.len(), 1, "one signer counts once");
        assert_eq!(tally.notes, [note], "the quorum alarm's detail carries it");
    }

    /// An endpoint that answers a megabyte is not read past the bound, and does not count.
    #[tokio::test]
    async fn an_oversized_answer_is_cut_off_and_does_not_count() {
        crate::net::install_crypto_provider();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app =
            axum::Router::new().route("/v1/attestations/{epoch}", axum::routing::get(|| async { " ".repeat(1 << 20) }));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = crate::net::client(Duration::from_secs(5)).unwrap();
        let attesters = BTreeSet::new();
        match ask(&client, &url, DOMAIN, &root(), &attesters).await {
            Answer::Missing(why) => assert!(why.contains("larger than"), "{why}"),
            _ => panic!("an oversized answer must not count"),
        }
    }
}
