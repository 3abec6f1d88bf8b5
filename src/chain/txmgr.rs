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

use super::Error;
use crate::store::{self, Pool, attempts};

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
    pool: Pool,
    policy: TxPolicy,
}

/// Fees of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fees {
    max_fee: u128,
    tip: u128,
}

impl Fees {
    fn bumped(self, percent: u64) -> Self {
        let up = |x: u128| x.saturating_mul(100 + percent as u128).div_ceil(100).max(x + 1);
        Self { max_fee: up(self.max_fee), tip: up(self.tip) }
    }

    fn max(self, other: Self) -> Self {
        Self { max_fee: self.max_fee.max(other.max_fee), tip: self.tip.max(other.tip) }
    }

    fn capped(self, cap: u128) -> Self {
        let max_fee = self.max_fee.min(cap);
        Self { max_fee, tip: self.tip.min(max_fee) }
    }
}

impl TxManager {
    /// A sender for `from` (the address `provider` signs as), recording attempts in `pool`.
    pub fn new(provider: DynProvider, from: Address, pool: Pool, policy: TxPolicy) -> Self {
        Self { provider, from, pool, policy }
    }

    /// The policy.
    pub fn policy(&self) -> &TxPolicy {
        &self.policy
    }

    /// Sends `request` (to, input) for `purpose`/`epoch` and waits until it is mined with the policy's
    /// confirmations. The caller has checked that the chain does not already hold this work; an attempt stored
    /// by an earlier run that got mined meanwhile is recognised and returned instead of sending again.
    #[tracing::instrument(skip_all, fields(purpose = purpose, epoch = epoch))]
    pub async fn send(&self, purpose: &'static str, epoch: u64, request: TransactionRequest) -> Result<Mined, Error> {
        let deadline = tokio::time::Instant::now() + self.policy.timeout;
        let mut open = attempts::open(&self.pool, purpose, epoch).await.map_err(store_error)?;
        if let Some(mined) = self.find_mined(&open).await? {
            return Ok(mined);
        }
        let request = request.with_from(self.from);
        // Gas: estimated plus 20% headroom. Estimation runs the call, so a revert fails here too; callers simulate
        // with `eth_call` first to get it decoded.
        let gas = match self.provider.estimate_gas(request.clone()).await {
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
        let gas_limit = gas.saturating_mul(6) / 5;
        let estimate = self.provider.estimate_eip1559_fees().await.map_err(Error::from)?;
        let suggested = Fees { max_fee: estimate.max_fee_per_gas, tip: estimate.max_priority_fee_per_gas };
        let cap = suggested.max_fee.saturating_mul(self.policy.max_fee_multiple as u128);
        let nonce = self.provider.get_transaction_count(self.from).latest().await.map_err(Error::from)?;
        // A stored attempt with this nonce is still in some pool (ours, before a restart): replace it.
        open.retain(|a| a.nonce == nonce);
        let mut fees = match open
            .iter()
            .map(|a| Fees { max_fee: a.max_fee_per_gas, tip: a.max_priority_fee_per_gas })
            .max_by_key(|f| f.max_fee)
        {
            Some(previous) => previous.bumped(self.policy.bump_percent).max(suggested),
            None => suggested,
        }
        .capped(cap.max(suggested.max_fee));
        let mut sent: Vec<(i64, B256)> = open.iter().filter_map(|a| Some((a.id, a.tx_hash?))).collect();
        let mut last_send_block = 0;
        let mut need_send = true;
        let mut refused_at_cap = false;
        loop {
            let head = self.provider.get_block_number().await.map_err(Error::from)?;
            if refused_at_cap && head > last_send_block {
                // Refused even at the fee cap; a new block may have brought the base fee down.
                refused_at_cap = false;
                need_send = true;
            }
            if need_send {
                let tx = request
                    .clone()
                    .with_nonce(nonce)
                    .with_gas_limit(gas_limit)
                    .with_max_fee_per_gas(fees.max_fee)
                    .with_max_priority_fee_per_gas(fees.tip);
                match self.provider.send_transaction(tx).await {
                    Ok(pending) => {
                        let hash = *pending.tx_hash();
                        let id = self.record(purpose, epoch, nonce, Some(hash), fees, gas_limit, head, None).await?;
                        tracing::info!(tx = %hash, nonce, max_fee = fees.max_fee, tip = fees.tip, "transaction sent");
                        sent.push((id, hash));
                    }
                    Err(e) => {
                        let message = e.to_string();
                        let lower = message.to_lowercase();
                        self.record(purpose, epoch, nonce, None, fees, gas_limit, head, Some(&message)).await?;
                        if lower.contains("nonce too low") {
                            // Usually our own earlier attempt was mined: look before calling it a conflict.
                            let open = attempts::open(&self.pool, purpose, epoch).await.map_err(store_error)?;
                            return match self.find_mined(&open).await? {
                                Some(mined) => Ok(mined),
                                None => Err(Error::NonceTaken { nonce }),
                            };
                        } else if is_fee_refusal(&lower) {
                            // Too cheap for the pool or for the current base fee: bump at once (and re-price).
                            let next = self.next_fees(fees, cap).await?;
                            if next == fees {
                                tracing::warn!(nonce, max_fee = fees.max_fee, cap, reason = %message, "refused at the fee cap; trying again next block");
                                refused_at_cap = true;
                                last_send_block = head;
                                need_send = false;
                            } else {
                                tracing::warn!(nonce, max_fee = next.max_fee, reason = %message, "refused as too cheap, bumping");
                                fees = next;
                            }
                            continue;
                        } else if lower.contains("insufficient funds") {
                            return Err(Error::InsufficientFunds { reason: message });
                        } else {
                            return Err(Error::Rpc(e));
                        }
                    }
                }
                last_send_block = head;
                need_send = false;
            }
            let waiting_for_confirmations = match self.confirmed(&sent, head).await? {
                Confirmation::Confirmed(mined) => return Ok(*mined),
                Confirmation::Mined => true,
                Confirmation::NotMined => false,
            };
            if !waiting_for_confirmations && head >= last_send_block + self.policy.resubmit_after_blocks {
                let next = self.next_fees(fees, cap).await?;
                if next == fees {
                    tracing::warn!(nonce, max_fee = fees.max_fee, cap, "not mined and already at the fee cap; waiting");
                    last_send_block = head;
                } else {
                    tracing::warn!(
                        nonce,
                        blocks = head - last_send_block,
                        max_fee = next.max_fee,
                        "not mined in time, replacing with higher fees"
                    );
                    fees = next;
                    need_send = true;
                    continue;
                }
            }
            if tokio::time::Instant::now() > deadline {
                return Err(Error::Receipt {
                    tx: sent.last().map_or(B256::ZERO, |s| s.1),
                    reason: format!("not mined within {} s", self.policy.timeout.as_secs()),
                });
            }
            tokio::time::sleep(self.policy.poll_interval).await;
        }
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
            let status = if receipt.status() { attempts::Status::Mined } else { attempts::Status::Reverted };
            attempts::settle(&self.pool, id, status, block, receipt.gas_used).await.map_err(store_error)?;
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
    pub async fn resolve(&self, purpose: &'static str, epoch: u64) -> Result<Option<Mined>, Error> {
        let open = attempts::open(&self.pool, purpose, epoch).await.map_err(store_error)?;
        let mined = self.find_mined(&open).await?;
        attempts::close(&self.pool, purpose, epoch).await.map_err(store_error)?;
        Ok(mined)
    }

    /// An earlier attempt that is already mined, if any (confirmations are not awaited here).
    async fn find_mined(&self, open: &[attempts::Attempt]) -> Result<Option<Mined>, Error> {
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

    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        purpose: &str,
        epoch: u64,
        nonce: u64,
        tx_hash: Option<B256>,
        fees: Fees,
        gas_limit: u64,
        head: u64,
        error: Option<&str>,
    ) -> Result<i64, Error> {
        let attempt = attempts::NewAttempt {
            purpose,
            epoch,
            nonce,
            tx_hash,
            max_fee_per_gas: fees.max_fee,
            max_priority_fee_per_gas: fees.tip,
            gas_limit,
            sent_block: head,
            status: if tx_hash.is_some() { attempts::Status::Sent } else { attempts::Status::Refused },
            error,
        };
        attempts::insert(&self.pool, &attempt).await.map_err(store_error)
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

fn store_error(e: store::Error) -> Error {
    Error::Store(Box::new(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bumps_are_at_least_the_percentage_and_respect_the_cap() {
        let f = Fees { max_fee: 100, tip: 10 };
        assert_eq!(f.bumped(13), Fees { max_fee: 113, tip: 12 });
        // Tiny fees still move by at least one wei, or the node would refuse the replacement as equal.
        assert_eq!(Fees { max_fee: 1, tip: 0 }.bumped(13), Fees { max_fee: 2, tip: 1 });
        assert_eq!(f.bumped(13).capped(105), Fees { max_fee: 105, tip: 12 });
        assert_eq!(Fees { max_fee: 100, tip: 100 }.capped(50), Fees { max_fee: 50, tip: 50 });
    }
}
