//! Sends the relayer's transactions and sees each one mined: one nonce sequence, EIP-1559 fees, replacement
//! with bumped fees when a transaction is not mined in time, confirmations, and a resubmission when a receipt's
//! block is reorged out. Every attempt is stored, so a restart resumes the same nonce with higher fees instead
//! of queueing a second transaction behind a stuck one.
//!
//! The nonce is never kept in memory or in the store: it is the chain's count of mined transactions of the
//! relayer's account, read before each send. A transaction of ours already in the pool with that nonce is
//! replaced, not queued behind (op txmgr's lesson: a persisted counter drifts).

use std::time::Duration;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};

use std::sync::Arc;

use super::Error;
use super::attempts::{Attempt, AttemptLog, AttemptStatus, NewAttempt};
use super::fees::Fees;
use crate::ids::{Epoch, Purpose};

/// How transactions are sent and awaited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxPolicy {
    /// Blocks on top of a receipt before it counts (at least 1: the receipt's own block).
    pub confirmations: u64,
    /// Blocks a transaction may stay unmined before it is replaced with higher fees (CoW: 5).
    pub resubmit_after_blocks: u64,
    /// Fee increase per replacement, in percent; nodes refuse replacements below +10% (CoW: 13).
    pub bump_percent: u64,
    /// Fee cap as a multiple of the first estimate (op txmgr: 5).
    pub max_fee_multiple: u64,
    /// How often receipts and the head are polled.
    pub poll_interval: Duration,
    /// How long one `send` may wait in all before it gives up (retryable: the next call resumes).
    pub timeout: Duration,
}

impl Default for TxPolicy {
    fn default() -> Self {
        Self {
            confirmations: 1,
            resubmit_after_blocks: 5,
            bump_percent: 13,
            max_fee_multiple: 5,
            poll_interval: Duration::from_millis(500),
            timeout: Duration::from_secs(300),
        }
    }
}

/// A transaction that was mined and confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mined {
    /// The attempt that was mined.
    pub tx_hash: B256,
    /// Its block.
    pub block_number: u64,
    /// Gas it used.
    pub gas_used: u64,
    /// Its receipt.
    pub receipt: TransactionReceipt,
}

/// The relayer's one sender.
#[derive(Debug, Clone)]
pub struct TxManager {
    provider: DynProvider,
    from: Address,
    log: Arc<dyn AttemptLog>,
    policy: TxPolicy,
}

/// One send in progress: what is sent, at which nonce and fees, and the attempts so far.
struct InFlight {
    purpose: Purpose,
    epoch: Epoch,
    request: TransactionRequest,
    nonce: u64,
    gas_limit: u64,
    fees: Fees,
    /// The fee cap for this send (a multiple of the first estimate).
    cap: u128,
    /// Attempts the node took: (log id, hash).
    sent: Vec<(i64, B256)>,
    /// The head when the last attempt was sent (or refused at the cap).
    last_send_block: u64,
    /// Whether the next round sends (first round, or after a bump).
    need_send: bool,
    /// Refused even at the cap: wait for a new block, whose base fee may be lower.
    refused_at_cap: bool,
}

/// What one broadcast did.
enum Broadcast {
    /// The node took it.
    Sent,
    /// Refused as too cheap and bumped: send again at once.
    Bumped,
    /// The nonce was used by our own earlier attempt, which is mined.
    AlreadyMined(Box<Mined>),
}

impl TxManager {
    /// A sender for `from` (the address `provider` signs as), recording attempts in `log`.
    pub fn new(provider: DynProvider, from: Address, log: impl AttemptLog + 'static, policy: TxPolicy) -> Self {
        Self { provider, from, log: Arc::new(log), policy }
    }

    /// The policy.
    pub fn policy(&self) -> &TxPolicy {
        &self.policy
    }

    /// Sends `request` (to, input) for `purpose`/`epoch` and waits until it is mined with the policy's
    /// confirmations. The caller has checked that the chain does not already hold this work; an attempt stored
    /// by an earlier run that got mined meanwhile is recognised and returned instead of sending again.
    #[tracing::instrument(skip_all, fields(purpose = %purpose, epoch = epoch.0))]
    pub async fn send(&self, purpose: Purpose, epoch: Epoch, request: TransactionRequest) -> Result<Mined, Error> {
        let deadline = tokio::time::Instant::now() + self.policy.timeout;
        let open = self.log.open(purpose, epoch).await?;
        if let Some(mined) = self.find_mined(&open).await? {
            return Ok(mined);
        }
        let mut tx = self.prepare(purpose, epoch, request, open).await?;
        loop {
            let head = self.provider.get_block_number().await.map_err(Error::from)?;
            if tx.refused_at_cap && head > tx.last_send_block {
                // Refused even at the fee cap; a new block may have brought the base fee down.
                tx.refused_at_cap = false;
                tx.need_send = true;
            }
            if tx.need_send {
                match self.broadcast(&mut tx, head).await? {
                    Broadcast::Sent => {}
                    Broadcast::Bumped => continue,
                    Broadcast::AlreadyMined(mined) => return Ok(*mined),
                }
            }
            let not_mined = match self.confirmed(&tx.sent, head).await? {
                Confirmation::Confirmed(mined) => return Ok(*mined),
                Confirmation::Mined => false,
                Confirmation::NotMined => true,
            };
            if not_mined
                && head >= tx.last_send_block + self.policy.resubmit_after_blocks
                && self.bump_stuck(&mut tx, head).await?
            {
                continue;
            }
            if tokio::time::Instant::now() > deadline {
                return Err(Error::Receipt {
                    tx: tx.sent.last().map_or(B256::ZERO, |s| s.1),
                    reason: format!("not mined within {} s", self.policy.timeout.as_secs()),
                });
            }
            tokio::time::sleep(self.policy.poll_interval).await;
        }
    }

    /// Gas, fees and nonce for a send; an open attempt with the chain's next nonce (ours, still in some pool
    /// from before a restart) is replaced with bumped fees rather than queued behind.
    async fn prepare(
        &self,
        purpose: Purpose,
        epoch: Epoch,
        request: TransactionRequest,
        mut open: Vec<Attempt>,
    ) -> Result<InFlight, Error> {
        let request = request.with_from(self.from);
        // Gas: estimated plus 20% headroom. Estimation runs the call, so a revert fails here too; callers simulate
        // with `eth_call` first to get it decoded.
        // Three independent reads, at once: each is a round trip to the node.
        let (gas, estimate, nonce) = tokio::join!(
            self.provider.estimate_gas(request.clone()).into_future(),
            self.provider.estimate_eip1559_fees(),
            self.provider.get_transaction_count(self.from).latest().into_future(),
        );
        let gas = match gas {
            Ok(gas) => gas,
            // The caller's simulation passed a moment ago; a revert now means the chain moved under us. A revert
            // that persists is caught, decoded, by that simulation on the next pass.
            Err(e) => match e.as_error_resp().and_then(|r| r.as_revert_data()) {
                Some(data) => {
                    return Err(Error::StateMoved { call: "estimateGas", reason: super::decode_revert_data(&data) });
                }
                None => return Err(Error::from_rpc(e)),
            },
        };
        let estimate = estimate.map_err(Error::from)?;
        let suggested = Fees { max_fee: estimate.max_fee_per_gas, tip: estimate.max_priority_fee_per_gas };
        let cap = suggested.max_fee.saturating_mul(self.policy.max_fee_multiple as u128);
        let nonce = nonce.map_err(Error::from)?;
        open.retain(|a| a.nonce == nonce);
        let previous = open
            .iter()
            .map(|a| Fees { max_fee: a.max_fee_per_gas, tip: a.max_priority_fee_per_gas })
            .max_by_key(|f| f.max_fee);
        let fees = match previous {
            Some(previous) => previous.bumped(self.policy.bump_percent).max(suggested),
            None => suggested,
        }
        .capped(cap.max(suggested.max_fee));
        Ok(InFlight {
            purpose,
            epoch,
            request,
            nonce,
            gas_limit: gas.saturating_mul(6) / 5,
            fees,
            cap,
            sent: open.iter().filter_map(|a| Some((a.id, a.tx_hash?))).collect(),
            last_send_block: 0,
            need_send: true,
            refused_at_cap: false,
        })
    }

    /// Sends the current attempt and records it; a refusal is recorded too and classified: too cheap (bump,
    /// or wait at the cap), our nonce already used (find our mined attempt), no funds, or a node failure.
    async fn broadcast(&self, tx: &mut InFlight, head: u64) -> Result<Broadcast, Error> {
        let request = tx
            .request
            .clone()
            .with_nonce(tx.nonce)
            .with_gas_limit(tx.gas_limit)
            .with_max_fee_per_gas(tx.fees.max_fee)
            .with_max_priority_fee_per_gas(tx.fees.tip);
        let (nonce, fees) = (tx.nonce, tx.fees);
        match self.provider.send_transaction(request).await {
            Ok(pending) => {
                let hash = *pending.tx_hash();
                let id = self.record(tx, Some(hash), head, None).await?;
                tracing::info!(tx = %hash, nonce, max_fee = fees.max_fee, tip = fees.tip, "transaction sent");
                tx.sent.push((id, hash));
                tx.last_send_block = head;
                tx.need_send = false;
                Ok(Broadcast::Sent)
            }
            Err(e) => {
                let message = e.to_string();
                let lower = message.to_lowercase();
                self.record(tx, None, head, Some(&message)).await?;
                if lower.contains("nonce too low") {
                    // Usually our own earlier attempt was mined: look before calling it a conflict.
                    let open = self.log.open(tx.purpose, tx.epoch).await?;
                    return match self.find_mined(&open).await? {
                        Some(mined) => Ok(Broadcast::AlreadyMined(Box::new(mined))),
                        None => Err(Error::NonceTaken { nonce }),
                    };
                }
                if lower.contains("insufficient funds") {
                    return Err(Error::InsufficientFunds { reason: message });
                }
                if !is_fee_refusal(&lower) {
                    return Err(Error::Rpc(e));
                }
                // Too cheap for the pool or for the current base fee: bump at once (and re-price).
                let next = self.next_fees(fees, tx.cap).await?;
                if next == fees {
                    tracing::warn!(nonce, max_fee = fees.max_fee, cap = tx.cap, reason = %message, "refused at the fee cap; trying again next block");
                    tx.refused_at_cap = true;
                    tx.last_send_block = head;
                    tx.need_send = false;
                    Ok(Broadcast::Sent)
                } else {
                    tracing::warn!(nonce, max_fee = next.max_fee, reason = %message, "refused as too cheap, bumping");
                    tx.fees = next;
                    Ok(Broadcast::Bumped)
                }
            }
        }
    }

    /// A transaction not mined for `resubmit_after_blocks`: replaced with higher fees (true: send now), or, at
    /// the cap, left to wait.
    async fn bump_stuck(&self, tx: &mut InFlight, head: u64) -> Result<bool, Error> {
        let next = self.next_fees(tx.fees, tx.cap).await?;
        if next == tx.fees {
            tracing::warn!(
                nonce = tx.nonce,
                max_fee = tx.fees.max_fee,
                cap = tx.cap,
                "not mined and already at the fee cap; waiting"
            );
            tx.last_send_block = head;
            return Ok(false);
        }
        tracing::warn!(
            nonce = tx.nonce,
            blocks = head - tx.last_send_block,
            max_fee = next.max_fee,
            "not mined in time, replacing with higher fees"
        );
        tx.fees = next;
        tx.need_send = true;
        Ok(true)
    }

    /// The fees of the next replacement: at least the bump over `fees` and at least today's estimate (the base
    /// fee may have jumped), within `cap`.
    async fn next_fees(&self, fees: Fees, cap: u128) -> Result<Fees, Error> {
        let estimate = self.provider.estimate_eip1559_fees().await.map_err(Error::from)?;
        let suggested = Fees { max_fee: estimate.max_fee_per_gas, tip: estimate.max_priority_fee_per_gas };
        Ok(fees.bumped(self.policy.bump_percent).max(suggested).capped(cap))
    }

    /// Whether one of `sent` is mined with enough confirmations and still in the canonical chain.
    async fn confirmed(&self, sent: &[(i64, B256)], head: u64) -> Result<Confirmation, Error> {
        for &(id, hash) in sent.iter().rev() {
            let Some(receipt) = self.provider.get_transaction_receipt(hash).await.map_err(Error::from)? else {
                continue; // not mined, replaced, or its block was reorged out: keep waiting and bumping
            };
            let block = receipt.block_number.unwrap_or_default();
            // The head was read before the send; a receipt in a newer block (a node that mines as it takes a
            // transaction does) makes it stale, so read it again rather than wait a poll for what is already there.
            let head = if block > head {
                self.provider.get_block_number().await.map_err(Error::from)?.max(head)
            } else {
                head
            };
            if head + 1 < block + self.policy.confirmations.max(1) {
                return Ok(Confirmation::Mined);
            }
            // Still canonical? The block at that height must be the receipt's block.
            let canonical =
                self.provider.get_block_by_number(block.into()).await.map_err(Error::from)?.map(|b| b.header.hash);
            if canonical != receipt.block_hash {
                tracing::warn!(tx = %hash, block, "receipt's block was reorged out; waiting for the transaction again");
                continue;
            }
            let status = if receipt.status() { AttemptStatus::Mined } else { AttemptStatus::Reverted };
            self.log.settle(id, status, block, receipt.gas_used).await?;
            if !receipt.status() {
                return Err(Error::TxReverted { call: "transaction", tx: hash });
            }
            return Ok(Confirmation::Confirmed(Box::new(Mined {
                tx_hash: hash,
                block_number: block,
                gas_used: receipt.gas_used,
                receipt,
            })));
        }
        Ok(Confirmation::NotMined)
    }

    /// Settles the stored attempts of work the chain already holds: the one that was mined, if any of ours was
    /// (returned), and every other marked replaced.
    pub async fn resolve(&self, purpose: Purpose, epoch: Epoch) -> Result<Option<Mined>, Error> {
        let open = self.log.open(purpose, epoch).await?;
        let mined = self.find_mined(&open).await?;
        self.log.close(purpose, epoch).await?;
        Ok(mined)
    }

    /// An earlier attempt that is already mined, if any (confirmations are not awaited here).
    async fn find_mined(&self, open: &[Attempt]) -> Result<Option<Mined>, Error> {
        let sent: Vec<(i64, B256)> = open.iter().filter_map(|a| Some((a.id, a.tx_hash?))).collect();
        if sent.is_empty() {
            return Ok(None);
        }
        let head = self.provider.get_block_number().await.map_err(Error::from)?;
        // Lower the bar to one confirmation: the caller waits for more on the next poll if it must.
        let one = Self { policy: TxPolicy { confirmations: 1, ..self.policy }, ..self.clone() };
        Ok(match one.confirmed(&sent, head).await? {
            Confirmation::Confirmed(mined) => Some(*mined),
            Confirmation::Mined | Confirmation::NotMined => None,
        })
    }

    /// Logs the current attempt of `tx`: sent (with its hash) or refused (with the node's reason).
    async fn record(&self, tx: &InFlight, tx_hash: Option<B256>, head: u64, error: Option<&str>) -> Result<i64, Error> {
        let attempt = NewAttempt {
            purpose: tx.purpose,
            epoch: tx.epoch,
            nonce: tx.nonce,
            tx_hash,
            max_fee_per_gas: tx.fees.max_fee,
            max_priority_fee_per_gas: tx.fees.tip,
            gas_limit: tx.gas_limit,
            sent_block: head,
            status: if tx_hash.is_some() { AttemptStatus::Sent } else { AttemptStatus::Refused },
            error,
        };
        Ok(self.log.record(&attempt).await?)
    }
}

/// Where the attempts of one send stand.
enum Confirmation {
    /// One is mined, confirmed and canonical.
    Confirmed(Box<Mined>),
    /// One is mined and waiting for confirmations: no replacement now.
    Mined,
    /// None is mined (or a receipt's block was reorged out).
    NotMined,
}

/// A node's refusal of a transaction as too cheap: for its pool ("replacement transaction underpriced"), for the
/// current base fee, or already known at this price.
fn is_fee_refusal(message: &str) -> bool {
    ["underpriced", "already known", "fee too low", "less than block base fee", "max fee per gas less than"]
        .iter()
        .any(|pattern| message.contains(pattern))
}
