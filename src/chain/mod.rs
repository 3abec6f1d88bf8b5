//! The chain side: contract bindings, the transaction manager, the state-root submitter, the net-order settler,
//! the escrow's events and the deployment. It reads and writes the chain only; what it records goes through
//! types and traits it owns (`attempts::AttemptLog`), never through the store.

pub mod attempts;
pub mod bindings;
pub mod commitment_events;
pub mod deploy;
pub mod escrow_controls;
pub mod escrow_events;
mod fees;
pub mod logs;
pub mod settlements;
pub mod settler;
pub mod submitter;
pub mod txmgr;

use alloy::primitives::{Address, B256};
use alloy::transports::TransportError;

pub use settler::{CurveSettler, CurveView, Executed};
pub use submitter::{Outcome, RootCommit, Submitter};
pub use txmgr::{Mined, TxManager, TxPolicy};

/// A chain-side error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The RPC node did not answer or answered with a transport-level failure.
    #[error("rpc: {0}")]
    Rpc(#[from] TransportError),
    /// A call or transaction reverted; `reason` is the decoded custom error.
    #[error("{call} reverted: {reason}")]
    Reverted {
        /// The contract function.
        call: &'static str,
        /// The decoded revert reason.
        reason: String,
        /// The custom error's selector (the first four bytes of the revert data), to classify it without parsing
        /// `reason`.
        selector: Option<[u8; 4]>,
    },
    /// Any other contract-call failure (encoding, decoding of a return value).
    #[error("{call}: {source}")]
    Contract {
        /// The contract function.
        call: &'static str,
        /// The underlying error (boxed: it is large and rare).
        source: Box<alloy::contract::Error>,
    },
    /// A mined transaction failed.
    #[error("transaction {tx} for epoch {epoch} failed on chain")]
    TxFailed {
        /// The epoch.
        epoch: u64,
        /// The transaction.
        tx: B256,
    },
    /// A mined transaction reverted.
    #[error("{call}: transaction {tx} reverted")]
    TxReverted {
        /// The contract function.
        call: &'static str,
        /// The transaction.
        tx: B256,
    },
    /// Waiting for a receipt failed.
    #[error("waiting for the receipt of {tx}: {reason}")]
    Receipt {
        /// The transaction.
        tx: B256,
        /// Why.
        reason: String,
    },
    /// An event or return value did not decode as our contracts define it.
    #[error("decoding {what}: {reason}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// The chain holds a different commitment for an epoch than the one we computed: never overwrite, halt.
    #[error(
        "epoch {epoch}: the chain's commitment differs from ours in {differs} (chain root {on_chain}, ours {ours}); {}",
        if *is_final {
            "it is final, so nothing on chain can undo it: halting; compare `myco-bridge inspect-batch` with the chain's \
             `commitmentOf`, and if ours is right the network must decide what the final history means \
             (runbook: conflicting commitment)"
        } else {
            "waiting for the guardian to revoke it"
        }
    )]
    RootConflict {
        /// The epoch.
        epoch: u64,
        /// Whether the chain's commitment is final (no revocation can remove it any more).
        is_final: bool,
        /// The root on chain.
        on_chain: B256,
        /// Ours.
        ours: B256,
        /// The fields that differ (root, parent, digest, figures).
        differs: String,
    },
    /// The guardian revoked the very commitment we compute for this epoch: our computation is what was judged
    /// wrong, so recommitting it is pointless and a person must look.
    #[error(
        "epoch {epoch}: the guardian revoked our own commitment {commitment} (root {root}); our computation gives the \
         same again, so it is not recommitted. Halting: ask the guardian's operator (the auditor's findings name \
         why it revoked), compare this relayer's batch, configuration and version with every attester's, fix what \
         differs, then restart (runbook: revoked own commitment)"
    )]
    OwnCommitmentRevoked {
        /// The epoch.
        epoch: u64,
        /// The revoked commitment's hash.
        commitment: B256,
        /// Its state root.
        root: B256,
    },
    /// Another transaction took the nonce we were sending with (not one of ours): re-read the chain and retry.
    #[error("nonce {nonce} was taken by a transaction we did not send; re-reading the chain")]
    NonceTaken {
        /// The nonce.
        nonce: u64,
    },
    /// The relayer's account cannot pay for gas.
    #[error("the relayer's account cannot pay for gas: {reason}")]
    InsufficientFunds {
        /// The node's message.
        reason: String,
    },
    /// The call reverted while being prepared for sending although it had just simulated fine: the chain moved
    /// (e.g. a transaction of a previous leader landed). The caller re-reads the chain and decides again.
    #[error("{call}: the chain moved between simulation and sending ({reason}); re-reading it")]
    StateMoved {
        /// The step.
        call: &'static str,
        /// The decoded revert.
        reason: String,
    },
    /// Recording an attempt failed.
    #[error("recording a transaction attempt: {0}")]
    Log(#[from] attempts::LogError),
    /// The chain reorganised below every block hash the watcher keeps: its stored events cannot be checked.
    #[error(
        "reorg deeper than the watcher's history: block {tip} changed and so did every kept hash down to \
         {oldest_known}; halting: check the RPC endpoint follows the canonical chain, raise `[chain] confirmations` \
         if the chain reorgs this deep, then re-read the escrow's events (runbook: deep reorg)"
    )]
    ReorgTooDeep {
        /// The watcher's tip.
        tip: u64,
        /// The oldest block whose hash it kept.
        oldest_known: u64,
    },
    /// The curve has not settled the epoch before the one being planned: the auction would run at a spot other
    /// than the one the epoch's inputs name (a bug, never expected: epochs settle in order).
    #[error(
        "epoch {epoch}: the curve's last settled epoch is {last_settled}; orders are planned only after the previous \
         epoch's. Halting: this is a bug (epochs settle in order); report it with `myco-bridge status` and the logs"
    )]
    SettlementOutOfOrder {
        /// The epoch being planned.
        epoch: u64,
        /// `lastSettledEpoch()`.
        last_settled: u64,
    },
    /// The configured escrow migrated to a successor (`IEscrowMigration.Migrated`): its USDC and its claims are
    /// the successor's now, so every figure read from the old one would mislead the conservation audit.
    #[error(
        "the escrow {escrow} migrated to {successor}: it holds nothing and pays nothing any more. Halting: set \
         `[chain] escrow` to {successor} and move the watcher to its deployment block, here and in every attester \
         and auditor, then restart (runbook: the way out)"
    )]
    EscrowMigrated {
        /// The configured escrow.
        escrow: Address,
        /// Where it migrated to.
        successor: Address,
    },
    /// The chain is missing an earlier epoch (e.g. it was revoked); nothing is skipped.
    #[error("epoch {epoch}: chain's latest committed epoch is {latest}, cannot commit out of order")]
    OutOfOrder {
        /// The epoch we wanted to commit.
        epoch: u64,
        /// The chain's latest epoch.
        latest: u64,
    },
}

impl Error {
    /// Whether retrying the same operation later may succeed (network trouble, not a verdict of the chain).
    pub fn is_retryable(&self) -> bool {
        match self {
            // A local usage error (no key for the account asked to send) is this process's configuration, not
            // the network: waiting does not fix it.
            Error::Rpc(alloy::transports::RpcError::LocalUsageError(_)) => false,
            Error::Rpc(e) => !e.is_error_resp() || e.as_error_resp().is_some_and(|r| r.code == 429 || r.code == -32005),
            Error::Contract { source, .. } => {
                matches!(&**source, alloy::contract::Error::TransportError(e) if !e.is_error_resp())
            }
            Error::Receipt { .. } | Error::NonceTaken { .. } | Error::StateMoved { .. } => true,
            _ => false,
        }
    }

    /// How the service handles this error: retry, wait for funds or an unpause, or halt.
    pub fn handling(&self) -> crate::Handling {
        use alloy::sol_types::SolError;
        use bindings::brake::IBrake::BrakeEngaged;
        use bindings::curve::IMycoBondingCurve::CurveEpochNotCommitted as NotCommitted;
        use bindings::state_commitment::IStateCommitment::StateCommitmentTimestampInFuture as TimestampInFuture;
        use bindings::state_commitment::IStateCommitment::StateCommitmentUnknownEpoch as UnknownEpoch;
        match self {
            e if e.is_retryable() => crate::Handling::Retry,
            Error::InsufficientFunds { .. } => crate::Handling::AwaitFunds,
            Error::Reverted { selector: Some(s), .. } if *s == BrakeEngaged::SELECTOR => crate::Handling::AwaitUnpause,
            Error::RootConflict { is_final: false, .. } => crate::Handling::AwaitRevocation,
            // A batch stamped later than the chain's clock: the clock will get there.
            Error::Reverted { selector: Some(s), .. } if *s == TimestampInFuture::SELECTOR => crate::Handling::Retry,
            // Orders for an epoch whose root a reorg took out: the next pass commits the root again first.
            Error::Reverted { selector: Some(s), .. } if *s == NotCommitted::SELECTOR => crate::Handling::Retry,
            // An epoch we committed has no live commitment any more: revoked (or reorged out) since the pass read
            // the chain. The next pass forgets it and resubmits, and says which (`OwnCommitmentRevoked` if ours
            // was revoked); not a halt of its own with a bare revert.
            Error::Reverted { selector: Some(s), .. } if *s == UnknownEpoch::SELECTOR => crate::Handling::Retry,
            Error::Log(e) if e.transient => crate::Handling::Retry,
            _ => crate::Handling::Halt,
        }
    }

    /// Turns a contract-call error into a decoded revert when the node returned revert data.
    pub(crate) fn from_call(call: &'static str, e: alloy::contract::Error) -> Self {
        match e.as_revert_data() {
            Some(data) => Error::Reverted { call, reason: decode_revert_data(&data), selector: selector(&data) },
            None => match e {
                alloy::contract::Error::TransportError(t) => Error::from_rpc(t),
                other => Error::Contract { call, source: Box::new(other) },
            },
        }
    }

    /// Classifies a transport error: a node's "insufficient funds" (at estimation or sending) is the account's
    /// balance, not the network's health.
    pub(crate) fn from_rpc(e: TransportError) -> Self {
        match e.as_error_resp() {
            Some(resp) if resp.message.to_lowercase().contains("insufficient funds") => {
                Error::InsufficientFunds { reason: resp.message.to_string() }
            }
            _ => Error::Rpc(e),
        }
    }
}

/// The custom error's selector, if the revert data carries one.
fn selector(data: &[u8]) -> Option<[u8; 4]> {
    data.get(..4)?.try_into().ok()
}

/// Decodes revert data into the name and fields of any of our contracts' custom errors.
pub fn decode_revert(e: &alloy::contract::Error) -> Option<String> {
    e.as_revert_data().map(|data| decode_revert_data(&data))
}

/// Decodes revert data into the name and fields of any of our contracts' custom errors.
pub fn decode_revert_data(data: &[u8]) -> String {
    use alloy::sol_types::SolInterface;
    use bindings::openzeppelin::{IAccessControl, IAccessControlDefaultAdminRules, IGuards};
    use bindings::{MycoBondingCurve as C, StateCommitment as S, USDCEscrow as U};
    if let Ok(err) = S::IStateCommitmentErrors::abi_decode(data) {
        return format!("{err:?}");
    }
    if let Ok(err) = bindings::attester_quorum::IAttesterQuorum::IAttesterQuorumErrors::abi_decode(data) {
        return format!("{err:?}");
    }
    if let Ok(err) = U::IUSDCEscrowErrors::abi_decode(data) {
        return format!("{err:?}");
    }
    if let Ok(err) = C::IMycoBondingCurveErrors::abi_decode(data) {
        return format!("{err:?}");
    }
    if let Ok(err) = IAccessControl::IAccessControlErrors::abi_decode(data) {
        return format!("{err:?}");
    }
    if let Ok(err) = IAccessControlDefaultAdminRules::IAccessControlDefaultAdminRulesErrors::abi_decode(data) {
        return format!("{err:?}");
    }
    if let Ok(err) = bindings::brake::IBrake::IBrakeErrors::abi_decode(data) {
        return format!("{err:?}");
    }
    if let Ok(err) = bindings::delayed_roles::IDelayedRoles::IDelayedRolesErrors::abi_decode(data) {
        return format!("{err:?}");
    }
    if let Ok(err) = IGuards::IGuardsErrors::abi_decode(data) {
        return format!("{err:?}");
    }
    format!("unrecognised revert data {}", alloy::hex::encode_prefixed(data))
}

/// A claim as `USDCEscrow.withdraw` takes it.
pub fn withdrawal_claim(c: &crate::settle::Claim) -> bindings::escrow::IUSDCEscrow::WithdrawalClaim {
    bindings::escrow::IUSDCEscrow::WithdrawalClaim {
        claimId: c.claim_id,
        account: c.account,
        recipient: c.recipient,
        mycoAmount: c.myco_amount,
        flowPenalty: c.flow_penalty,
        epoch: c.epoch,
        priorRedeemed: c.prior_redeemed,
    }
}

/// When the escrow starts paying `epoch`'s claims, in chain time (`USDCEscrow.payableAt`: final plus the
/// withdrawal delay; `i64::MAX` while the commitment clock is stopped).
pub async fn escrow_payable_at(
    provider: &alloy::providers::DynProvider,
    escrow: alloy::primitives::Address,
    epoch: crate::ids::Epoch,
) -> Result<i64, Error> {
    let at = bindings::USDCEscrow::new(escrow, provider)
        .payableAt(epoch.0)
        .call()
        .await
        .map_err(|e| Error::from_call("payableAt", e))?;
    Ok(at.min(i64::MAX as u64) as i64)
}

/// The P-AMM parameters `escrow` pays by. Claims are priced and committed flow pressure is decayed with these,
/// never with a copy of our own: a relayer configured differently from the contract would otherwise report
/// payouts the escrow does not make.
pub async fn escrow_pamm_params(
    provider: &alloy::providers::DynProvider,
    escrow: alloy::primitives::Address,
) -> Result<crate::settle::pamm::Params, Error> {
    let escrow = bindings::USDCEscrow::new(escrow, provider);
    let p = escrow.pammParams().call().await.map_err(|e| Error::from_call("pammParams", e))?;
    let params =
        crate::settle::pamm::Params { alpha_bar: p.alphaBar, xu_bar: p.xuBar, theta_bar: p.thetaBar, decay: p.decay };
    // The escrow's constructor refuses these; a contract that reports them is not our escrow.
    params.check().map_err(|reason| Error::Decode { what: "pammParams", reason: reason.into() })?;
    Ok(params)
}

/// How long any one RPC request may take: a node that stalls but keeps the connection open must not stall the
/// relayer (op txmgr uses 10 s).
pub const RPC_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A provider over HTTP(S) (see [`crate::net`]) that signs with `signer`, type-erased so every stage shares one type. Every request
/// times out after [`RPC_TIMEOUT`].
pub fn signing_provider(
    url: alloy::transports::http::reqwest::Url,
    signer: alloy::signers::local::PrivateKeySigner,
) -> alloy::providers::DynProvider {
    use alloy::providers::{Provider, ProviderBuilder};
    // Guaranteed by construction: ring supports the safe default TLS versions, and reqwest knows the rustls
    // configuration type it is given; neither depends on input.
    let client = crate::net::client(RPC_TIMEOUT).expect("an HTTP client with TLS and timeouts");
    ProviderBuilder::new().wallet(signer).connect_reqwest(client, url).erased()
}

/// A provider over HTTP(S) that only reads (an auditor without a guardian key), with the same timeouts as
/// [`signing_provider`].
pub fn read_provider(url: alloy::transports::http::reqwest::Url) -> alloy::providers::DynProvider {
    use alloy::providers::{Provider, ProviderBuilder};
    let client = crate::net::client(RPC_TIMEOUT).expect("an HTTP client with TLS and timeouts");
    ProviderBuilder::new().connect_reqwest(client, url).erased()
}

/// Simulates, sends and waits for the receipt of a contract call; a revert comes back decoded.
pub async fn send_call<P, C>(
    call: &'static str,
    builder: alloy::contract::SolCallBuilder<P, C>,
) -> Result<alloy::rpc::types::TransactionReceipt, Error>
where
    P: alloy::providers::Provider,
    C: alloy::sol_types::SolCall,
{
    // Estimated for the pending block, plus headroom as the relayer's sender gives (20%, and a cold storage
    // write): a write whose cost depends on the block's time (unpausing adds the paused time to a total that may
    // still be zero) costs more when the call is mined a second later than estimated.
    let gas = builder.estimate_gas().await.map_err(|e| Error::from_call(call, e))?;
    let pending =
        builder.gas(gas.saturating_mul(6) / 5 + 22_100).send().await.map_err(|e| Error::from_call(call, e))?;
    let tx = *pending.tx_hash();
    let receipt = pending.get_receipt().await.map_err(|e| Error::Receipt { tx, reason: e.to_string() })?;
    if receipt.status() { Ok(receipt) } else { Err(Error::TxReverted { call, tx }) }
}
