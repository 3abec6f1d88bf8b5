//! The auditor's checks of what the chain holds: each commitment against the one it computes from the certified
//! batch (every field the escrow pays from), the attesters' signatures the commit carried, and the conservation
//! audit of each accepted batch.

use alloy::primitives::Address;
use serde_json::json;

use super::Auditor;
use super::settled::Settled;
use crate::attest::wire::CommitmentFields;
use crate::attest::{AttestationDomain, commitment};
use crate::chain::commitment_events::CommitmentEvents;
use crate::store::audit::{self, Action, NewFinding, Observed, Verdict};
use crate::store::{batches, ledger};
use crate::{Error, Result};

/// Commitments checked per store read (a long catch-up goes through them a page at a time).
const PAGE: u64 = 256;
/// Commit transactions whose signatures are read at once (a catch-up waits on the node's round trips, not on its
/// work, and a hosted provider takes a few requests in flight).
const CONCURRENT_READS: usize = 8;

/// What a commit transaction's signatures show.
#[derive(Debug, Default)]
struct Attested {
    /// The attesters whose signatures it carried, in order.
    signers: Vec<Address>,
    /// What is wrong with them, if anything (the contract should have refused the commit).
    problem: Option<String>,
    /// Whether the transaction called `commit` directly (else the signatures could not be read).
    direct: bool,
}

impl Auditor {
    /// Checks every commitment read from the chain whose certified batch is here, in epoch order; the first whose
    /// batch has not arrived waits (see [`Auditor::unverified`]).
    pub(super) async fn check_commitments(&self) -> Result<()> {
        let events = CommitmentEvents::new(self.provider.clone(), self.config.state_commitment);
        let domain =
            AttestationDomain { chain_id: self.config.reader.chain_id, state_commitment: self.config.state_commitment };
        loop {
            let page = audit::unchecked(&self.pool, PAGE).await?;
            let full = page.len() as u64 == PAGE;
            // The reader accepts epochs in order, so the commitments up to its last epoch have their batch.
            let accepted = batches::last(&self.pool).await?.map_or(0, |(e, _)| e.0);
            let ready = page.iter().take_while(|o| o.root.epoch.0 <= accepted).count();
            for chunk in page[..ready].chunks(CONCURRENT_READS) {
                for (observed, attested) in
                    chunk.iter().zip(read_attestations(&self.pool, &events, domain, chunk).await?)
                {
                    self.judge(observed, &attested).await?;
                }
            }
            if let Some(waiting) = page.get(ready) {
                return self.unverified(waiting).await;
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// Compares `observed` with the commitment of its certified batch, records what differs and the verdict.
    async fn judge(&self, observed: &Observed, attested: &Attested) -> Result<()> {
        let epoch = observed.root.epoch.0;
        let batch = batches::get(&self.pool, observed.root.epoch).await?.ok_or(crate::store::Error::Corrupt {
            table: "batches",
            column: "epoch".into(),
            reason: format!("epoch {epoch} is below the last accepted epoch but not stored"),
        })?;
        let expected = commitment::of_stored(&self.pool, &batch).await?;
        let differs = expected.differences(&observed.root);
        let signers: Vec<String> = attested.signers.iter().map(|a| a.to_string()).collect();
        let evidence = |expected: Option<&crate::chain::RootCommit>| {
            json!({
                "commitment_hash": observed.hash,
                "tx": observed.tx_hash,
                "block": observed.block_number,
                "final_at": observed.final_at,
                "signers": signers,
                "signatures_read": attested.direct,
                "on_chain": CommitmentFields::from(&observed.root),
                "expected": expected.map(CommitmentFields::from),
            })
        };
        if !differs.is_empty() {
            let mut evidence = evidence(Some(&expected));
            evidence["differs"] = json!(differs);
            let detail = format!(
                "epoch {epoch}: the commitment on chain differs from the certified batch in {} (signed by {})",
                differs.join(", "),
                if signers.is_empty() { "unknown attesters".to_string() } else { signers.join(", ") }
            );
            let kind = "commitment_differs";
            let subject = observed.hash.to_string();
            self.found(NewFinding { kind, epoch, subject, detail, evidence, action: Action::Open }).await?;
        }
        if let Some(problem) = &attested.problem {
            self.found(NewFinding {
                kind: "attestation",
                epoch,
                subject: observed.hash.to_string(),
                detail: format!("epoch {epoch}: the commit's attestations do not make a quorum: {problem}"),
                evidence: evidence(None),
                action: Action::Open,
            })
            .await?;
        }
        let verdict =
            if differs.is_empty() && attested.problem.is_none() { Verdict::Matches } else { Verdict::Differs };
        Ok(audit::set_verdict(&self.pool, observed.root.epoch, observed.hash, verdict, &signers.join(",")).await?)
    }

    /// A commitment whose certified batch no source has served while half its window has passed: nobody can
    /// check it, so nobody could challenge it in time. Absence is not proof (the sources may be down), so it
    /// alarms and is not revoked.
    async fn unverified(&self, observed: &Observed) -> Result<()> {
        let contract = crate::chain::bindings::StateCommitment::new(self.config.state_commitment, &self.provider);
        let window = contract
            .challengeWindow()
            .call()
            .await
            .map_err(|e| crate::chain::Error::from_call("challengeWindow", e))?;
        let now = crate::store::clock::chain_time(&self.pool).await?.max(0) as u64;
        if now < observed.final_at.saturating_sub(window / 2) {
            return Ok(());
        }
        let epoch = observed.root.epoch.0;
        self.found(NewFinding {
            kind: "unverified",
            epoch,
            subject: observed.hash.to_string(),
            detail: format!(
                "epoch {epoch}: committed with batch digest {} that no source has served, and its window closes at {}",
                observed.root.digest, observed.final_at
            ),
            evidence: json!({
                "commitment_hash": observed.hash,
                "tx": observed.tx_hash,
                "final_at": observed.final_at,
                "on_chain": CommitmentFields::from(&observed.root),
            }),
            action: Action::Alarmed,
        })
        .await?;
        Ok(())
    }

    /// Runs the conservation audit on each accepted batch not judged yet, in order, once the chain executed the
    /// epoch before it (`settled`, read forward from the curve's logs). A violation is a finding (the batch is
    /// evidence against the validators) and the audit stops there. The escrow's holdings bound is checked while
    /// the epoch is not final: until then no claim of it or of a later epoch can have been paid, so the head's
    /// balance is the one its figures must fit. The head is read once a pass, and finality once an epoch is not
    /// final (every later one is not either: windows run in commit order on one clock).
    pub(super) async fn check_conservation(&self, settled: &mut Settled) -> Result<()> {
        if !ledger::violations(&self.pool).await?.is_empty() {
            return Ok(());
        }
        let audit = self.ledger_audit();
        let c = &self.config;
        let contract = crate::chain::bindings::StateCommitment::new(c.state_commitment, &self.provider);
        let unaudited = batches::unaudited(&self.pool).await?;
        if unaudited.is_empty() {
            return Ok(());
        }
        settled.read(&self.provider, c.curve, c.confirmations, c.max_log_range).await?;
        let mut at_head = None;
        // What the claims before the last epoch audited owe, so the next adds only that epoch's.
        let mut owed: Option<(crate::ids::Epoch, alloy::primitives::U256)> = None;
        for batch in unaudited {
            for epoch in ledger::unsettled_before(&self.pool, batch.epoch).await? {
                let Some(s) = settled.take(epoch.0) else { return Ok(()) };
                audit.record_settlement(epoch, s.spot, s.sell, s.buy).await?;
            }
            let is_final = at_head.is_none()
                && contract
                    .isFinal(batch.epoch.0)
                    .call()
                    .await
                    .map_err(|e| crate::chain::Error::from_call("isFinal", e))?;
            let holdings = if is_final {
                None
            } else {
                if at_head.is_none() {
                    at_head = Some(audit.escrow_at_head(&self.provider, c.start_block, c.max_log_range).await?);
                }
                let at_head = at_head.as_ref().expect("read just above");
                let before = match owed {
                    Some((to, sum)) if to <= batch.epoch => {
                        sum + audit.owed_between(to, batch.epoch, &at_head.paid_since).await?
                    }
                    _ => audit.owed_before(batch.epoch, &at_head.paid_since).await?,
                };
                owed = Some((batch.epoch, before));
                Some(crate::settle::conservation::Holdings { escrow_usdc: at_head.escrow_usdc, owed_usdc: before })
            };
            match audit.audit(&batch, holdings).await {
                Ok(()) => {}
                Err(Error::Conservation(v)) => {
                    self.found(NewFinding {
                        kind: "conservation",
                        epoch: v.epoch,
                        subject: batch.digest.to_string(),
                        detail: format!(
                            "epoch {}: the certified batch breaks {}: {}",
                            v.epoch,
                            v.kind.code(),
                            v.detail
                        ),
                        evidence: json!({ "rule": v.kind.code(), "detail": v.detail, "batch_digest": batch.digest }),
                        action: Action::Open,
                    })
                    .await?;
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// The attestations of each of `chunk`'s commitments, read concurrently, in `chunk`'s order.
async fn read_attestations(
    pool: &crate::store::Pool,
    events: &CommitmentEvents,
    domain: AttestationDomain,
    chunk: &[Observed],
) -> Result<Vec<Attested>> {
    let mut reads = tokio::task::JoinSet::new();
    for (i, observed) in chunk.iter().enumerate() {
        let (pool, events, observed) = (pool.clone(), events.clone(), *observed);
        reads.spawn(async move { (i, attestations(&pool, &events, &domain, &observed).await) });
    }
    let mut out: Vec<Option<Attested>> = (0..chunk.len()).map(|_| None).collect();
    while let Some(joined) = reads.join_next().await {
        let (i, attested) = joined.map_err(|e| Error::Task { what: "attestation read", reason: e.to_string() })?;
        out[i] = Some(attested?);
    }
    Ok(out.into_iter().map(|a| a.expect("every read joined")).collect())
}

/// Reads the signatures `observed`'s transaction carried and checks them against the attester set in force at
/// its block, known from the contract's `AttestersChanged` logs (a set changed in the same block may precede the
/// commit, so it counts too): distinct, registered, at least the threshold, each over exactly this commitment.
async fn attestations(
    pool: &crate::store::Pool,
    events: &CommitmentEvents,
    domain: &AttestationDomain,
    observed: &Observed,
) -> Result<Attested> {
    let Some(signatures) = events.signatures(observed.tx_hash).await? else { return Ok(Attested::default()) };
    let mut sets = audit::attester_sets_at(pool, observed.block_number).await?;
    if sets.is_empty() {
        // Committed before every set the logs read hold (the auditor starts after the deployment): ask the
        // contract at the block before, which needs a node with that block's state.
        sets.push(events.quorum_at(observed.block_number.saturating_sub(1)).await?);
    }
    let judged: Vec<Attested> = sets.iter().map(|q| judge_signatures(domain, observed, &signatures, q)).collect();
    let first_valid = judged.iter().position(|a| a.problem.is_none()).unwrap_or(0);
    Ok(judged.into_iter().nth(first_valid).expect("at least one set"))
}

/// `signatures` against `quorum`.
fn judge_signatures(
    domain: &AttestationDomain,
    observed: &Observed,
    signatures: &[alloy::primitives::Bytes],
    quorum: &crate::attest::collect::Quorum,
) -> Attested {
    let mut attested = Attested { direct: true, ..Default::default() };
    let mut problems = Vec::new();
    for (i, signature) in signatures.iter().enumerate() {
        match domain.signer(&observed.root, signature) {
            Some(signer) if !quorum.attesters.contains(&signer) => {
                problems.push(format!("signature {i} is by {signer}, not a registered attester"));
            }
            Some(signer) if attested.signers.contains(&signer) => {
                problems.push(format!("{signer} signed twice"));
            }
            Some(signer) => attested.signers.push(signer),
            None => problems.push(format!("signature {i} does not recover over this commitment")),
        }
    }
    if attested.signers.len() < quorum.threshold {
        problems.push(format!("{} valid signatures, {} needed", attested.signers.len(), quorum.threshold));
    }
    attested.problem = (!problems.is_empty()).then(|| problems.join("; "));
    attested
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{B256, Bytes};
    use alloy::signers::local::PrivateKeySigner;

    use super::*;
    use crate::attest::collect::Quorum;
    use crate::ids::Epoch;

    #[test]
    fn signatures_count_only_as_distinct_registered_attesters_over_this_commitment() {
        let domain = AttestationDomain { chain_id: 1, state_commitment: Address::repeat_byte(9) };
        let root = crate::chain::RootCommit {
            epoch: Epoch(4),
            state_root: B256::repeat_byte(1),
            parent_root: B256::repeat_byte(2),
            digest: B256::repeat_byte(3),
            timestamp: 7,
            figures: Default::default(),
        };
        let observed = Observed { root, hash: root.hash(), final_at: 0, block_number: 1, tx_hash: B256::ZERO };
        let keys: Vec<_> = (1..=4u8).map(|i| PrivateKeySigner::from_bytes(&B256::repeat_byte(i)).unwrap()).collect();
        let quorum = Quorum { attesters: keys[..3].iter().map(|k| k.address()).collect(), threshold: 2 };
        let sign =
            |k: &PrivateKeySigner, r: &crate::chain::RootCommit| Bytes::from(domain.sign(k, r).unwrap().to_vec());

        let good = [sign(&keys[0], &root), sign(&keys[1], &root)];
        let judged = judge_signatures(&domain, &observed, &good, &quorum);
        assert_eq!((judged.problem, judged.signers.len()), (None, 2));

        let outsider = [sign(&keys[0], &root), sign(&keys[3], &root)];
        let judged = judge_signatures(&domain, &observed, &outsider, &quorum);
        let problem = judged.problem.unwrap();
        assert!(problem.contains("not a registered attester") && problem.contains("1 valid signatures, 2 needed"));

        let twice = [sign(&keys[0], &root), sign(&keys[0], &root)];
        assert!(judge_signatures(&domain, &observed, &twice, &quorum).problem.unwrap().contains("signed twice"));

        let other = crate::chain::RootCommit { timestamp: 8, ..root };
        let elsewhere = [sign(&keys[0], &root), sign(&keys[1], &other)];
        let judged = judge_signatures(&domain, &observed, &elsewhere, &quorum);
        assert!(judged.problem.is_some(), "a signature over another commitment does not count");
    }
}
