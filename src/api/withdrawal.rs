//! `GET /api/v1/withdrawals/{claim_id}`: everything a user needs to claim a withdrawal without running anything
//! of ours: the claim exactly as `USDCEscrow.withdraw` takes it (every field; amounts as decimal strings), its
//! Merkle proof, whether its root is final and from when the escrow pays it (`payableAt`: finality plus the
//! withdrawal delay), what it pays now (`quoteWithdrawal`, read live), and a ready
//! `cast send` command line. `myco-bridge withdraw --claim ID --api URL` sends the same thing.

use alloy::primitives::U256;
use alloy::providers::Provider;
use alloy::sol_types::SolValue;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{ApiState, bad_request, internal, probe};
use crate::chain::bindings::{StateCommitment, USDCEscrow};
use crate::settle::Claim;
use crate::store::{claims, commitments, views};

/// The Solidity signature of `USDCEscrow.withdraw`, for `cast`.
pub const WITHDRAW_SIGNATURE: &str = "withdraw((uint256,bytes32,address,uint256,uint256,uint64,uint256),bytes32[])";

/// Where a claim is read from and judged: the chain and the contracts, and where its status comes from.
#[derive(Debug, Clone, Copy)]
pub struct Deployment {
    /// Chain id.
    pub chain_id: u64,
    /// `USDCEscrow`.
    pub escrow: alloy::primitives::Address,
    /// `StateCommitment`.
    pub state_commitment: alloy::primitives::Address,
}

/// How a claim's status is judged.
#[derive(Debug, Clone, Copy)]
pub enum Judged {
    /// From this relayer's store (its commitments, the watcher's payments and cancellations) at chain time `now`.
    ByStore,
    /// From the chain alone, read now (an auditor, which commits nothing, answers this way): paid, cancelled,
    /// payable, committed or only certified, as the escrow and `StateCommitment` say.
    ByChain,
}

pub(super) async fn claim(State(s): State<ApiState>, Path(id): Path<String>) -> Response {
    let d =
        Deployment { chain_id: s.chain.chain_id, escrow: s.chain.escrow, state_commitment: s.chain.state_commitment };
    entry(&s.pool, &s.provider, d, &id, Judged::ByStore).await
}

/// The entry of claim `id` (decimal), from the certified batches in `pool`, read live from the chain through
/// `provider` where the chain is the authority.
pub async fn entry(
    pool: &crate::store::Pool,
    provider: &alloy::providers::DynProvider,
    d: Deployment,
    id: &str,
    judged: Judged,
) -> Response {
    let Ok(claim_id) = U256::from_str_radix(id, 10) else {
        return bad_request(format!("claim_id: {id:?} is not a decimal integer"));
    };
    let stored = match claims::get(pool, claim_id.into()).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            let body = json!({ "error": format!("claim {claim_id} is in no accepted batch") });
            return (StatusCode::NOT_FOUND, axum::Json(body)).into_response();
        }
        Err(e) => return internal(e),
    };
    let c = &stored.claim;
    let tuple = crate::chain::withdrawal_claim(c);
    let escrow = USDCEscrow::new(d.escrow, provider.clone());
    let commitment = StateCommitment::new(d.state_commitment, provider.clone());
    // Live reads: the chain is the authority on finality and on what the escrow pays; null when it did not answer
    // (or, for the quote, when the epoch is not committed yet).
    let is_final = probe(commitment.isFinal(c.epoch).call()).await;
    let quote = probe(escrow.quoteWithdrawal(tuple.clone()).call()).await;
    let payable_at = probe(escrow.payableAt(c.epoch).call()).await;
    let outflow_available = probe(escrow.outflowAvailable().call()).await;
    let (status, final_at, paid, paid_tx) = match judged {
        Judged::ByStore => {
            let status = match crate::store::clock::chain_time(pool).await {
                Ok(now) => views::withdrawal_status(pool, claim_id.into(), now).await,
                Err(e) => Err(e),
            };
            let (status, final_at) = match (status, commitments::final_at(pool, c.epoch.into()).await) {
                (Ok(status), Ok(final_at)) => (status, final_at),
                (Err(e), _) | (_, Err(e)) => return internal(e),
            };
            (status, final_at.map(|t| t as u64), stored.paid_tx.is_some(), stored.paid_tx)
        }
        Judged::ByChain => {
            let live = probe(commitment.liveCommitment(c.epoch).call()).await;
            let cancelled = match &live {
                Some(l) => probe(escrow.isCancelled(l.commitmentHash).call()).await.unwrap_or(false),
                None => false,
            };
            let paid = probe(escrow.isPaid(claim_id).call()).await.unwrap_or(false);
            let now =
                probe(provider.get_block_by_number(Default::default())).await.flatten().map(|b| b.header.timestamp);
            let status = if paid {
                views::WithdrawalStatus::Paid
            } else if live.is_none() {
                views::WithdrawalStatus::Requested
            } else if cancelled {
                views::WithdrawalStatus::Cancelled
            } else if now.zip(payable_at).is_some_and(|(now, at)| now >= at) {
                views::WithdrawalStatus::Final
            } else {
                views::WithdrawalStatus::InRoot
            };
            (Some(status), live.map(|l| l.finalAtTime), paid, None)
        }
    };
    let proof: Vec<String> = stored.proof.iter().map(|p| p.to_string()).collect();
    // A cancelled commitment pays nothing whatever `payableAt` and the quote say: they are not shown, and the
    // cancellation is, with when it may be undone.
    let cancelled = status == Some(views::WithdrawalStatus::Cancelled);
    let cancellation = match (cancelled, judged) {
        (true, Judged::ByStore) => match crate::store::escrow::standing_cancellations(pool).await {
            Ok(all) => all.into_iter().rfind(|x| x.epoch.0 == c.epoch).map(|x| json!(x)),
            Err(e) => return internal(e),
        },
        (true, Judged::ByChain) => Some(json!({ "epoch": c.epoch })),
        (false, _) => None,
    };
    let (payable_at, quote) = if cancelled { (None, None) } else { (payable_at, quote) };
    let body = json!({
        "claim": claim_json(c),
        "proof": proof,
        "status": status.map(|s| s.as_str()),
        "cancellation": cancellation,
        "final": is_final,
        "final_at": final_at,
        "payable_at": payable_at,
        "outflow_available_usdc": outflow_available.map(|a| a.to_string()),
        "paid": paid,
        "paid_tx": paid_tx,
        "quote_usdc": quote.map(|q| q.to_string()),
        "chain_id": d.chain_id,
        "escrow": d.escrow.to_string(),
        "calldata": alloy::hex::encode_prefixed((tuple, stored.proof.clone()).abi_encode_params()),
        "cast": cast_command(&d.escrow.to_string(), c, &proof),
    });
    axum::Json(body).into_response()
}

/// The claim's fields under the names `USDCEscrow.WithdrawalClaim` gives them, amounts as decimal strings.
pub fn claim_json(c: &Claim) -> Value {
    json!({
        "claimId": c.claim_id.to_string(),
        "account": c.account,
        "recipient": c.recipient.to_string(),
        "mycoAmount": c.myco_amount.to_string(),
        "flowPenalty": c.flow_penalty.to_string(),
        "epoch": c.epoch,
        "priorRedeemed": c.prior_redeemed.to_string(),
    })
}

/// A `cast send` line that claims `c` (the RPC URL and key are the user's, left as variables).
fn cast_command(escrow: &str, c: &Claim, proof: &[String]) -> String {
    format!(
        "cast send {escrow} '{WITHDRAW_SIGNATURE}' '({},{},{},{},{},{},{})' '[{}]' --rpc-url \"$RPC_URL\" \
         --private-key \"$PRIVATE_KEY\"",
        c.claim_id,
        c.account,
        c.recipient,
        c.myco_amount,
        c.flow_penalty,
        c.epoch,
        c.prior_redeemed,
        proof.join(",")
    )
}
