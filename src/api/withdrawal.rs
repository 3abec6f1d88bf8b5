//! `GET /api/v1/withdrawals/{claim_id}`: everything a user needs to claim a withdrawal without running anything
//! of ours: the claim exactly as `USDCEscrow.withdraw` takes it (every field; amounts as decimal strings), its
//! Merkle proof, whether its root is final and from when the escrow pays it (`payableAt`: finality plus the
//! withdrawal delay), what it pays now (`quoteWithdrawal`, read live), and a ready
//! `cast send` command line. `myco-bridge withdraw --claim ID --api URL` sends the same thing.

use alloy::primitives::U256;
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

pub(super) async fn claim(State(s): State<ApiState>, Path(id): Path<String>) -> Response {
    let Ok(claim_id) = U256::from_str_radix(&id, 10) else {
        return bad_request(format!("claim_id: {id:?} is not a decimal integer"));
    };
    let stored = match claims::get(&s.pool, claim_id.into()).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            let body = json!({ "error": format!("claim {claim_id} is in no accepted batch") });
            return (StatusCode::NOT_FOUND, axum::Json(body)).into_response();
        }
        Err(e) => return internal(e),
    };
    let status = match s.chain_time().await {
        Ok(now) => views::withdrawal_status(&s.pool, claim_id.into(), now).await,
        Err(e) => Err(e),
    };
    let status = match status {
        Ok(status) => status,
        Err(e) => return internal(e),
    };
    let final_at = match commitments::final_at(&s.pool, stored.claim.epoch.into()).await {
        Ok(t) => t,
        Err(e) => return internal(e),
    };
    let c = &stored.claim;
    let tuple = crate::chain::withdrawal_claim(c);
    let escrow = USDCEscrow::new(s.chain.escrow, s.provider.clone());
    let commitment = StateCommitment::new(s.chain.state_commitment, s.provider.clone());
    // Live reads: the chain is the authority on finality and on what the escrow pays; null when it did not answer
    // (or, for the quote, when the epoch is not committed yet).
    let is_final = probe(commitment.isFinal(c.epoch).call()).await;
    let quote = probe(escrow.quoteWithdrawal(tuple.clone()).call()).await;
    let payable_at = probe(escrow.payableAt(c.epoch).call()).await;
    let outflow_available = probe(escrow.outflowAvailable().call()).await;
    let proof: Vec<String> = stored.proof.iter().map(|p| p.to_string()).collect();
    // A cancelled commitment pays nothing whatever `payableAt` and the quote say: they are not shown, and the
    // cancellation is, with when it may be undone.
    let cancelled = status == Some(views::WithdrawalStatus::Cancelled);
    let cancellation = match cancelled {
        true => match crate::store::escrow::standing_cancellations(&s.pool).await {
            Ok(all) => all.into_iter().rfind(|x| x.epoch.0 == c.epoch),
            Err(e) => return internal(e),
        },
        false => None,
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
        "paid": stored.paid_tx.is_some(),
        "paid_tx": stored.paid_tx,
        "quote_usdc": quote.map(|q| q.to_string()),
        "chain_id": s.chain.chain_id,
        "escrow": s.chain.escrow.to_string(),
        "calldata": alloy::hex::encode_prefixed((tuple, stored.proof.clone()).abi_encode_params()),
        "cast": cast_command(&s.chain.escrow.to_string(), c, &proof),
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
