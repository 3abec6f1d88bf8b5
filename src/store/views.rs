//! Read-only views for operators: the epoch pipeline, withdrawals by settlement status, deposits, and the
//! figures `/metrics` publishes. Every figure comes from the store, so it survives restarts and two instances
//! report the same thing.

use alloy::primitives::{Address, B256, U256};
use serde::Serialize;
use sqlx::Row;

use super::{Pool, Result, fixed, parse_u256};

/// Token amounts and figures are decimal strings in JSON: exact at any size, and what a person types into
/// `cast`. (serde's default for U256 is hex.)
pub mod decimal {
    use alloy::primitives::U256;

    /// Serializes a U256 as a decimal string.
    pub fn serialize<S: serde::Serializer>(value: &U256, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    /// Serializes an optional U256 as a decimal string or null.
    pub fn option<S: serde::Serializer>(value: &Option<U256>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.collect_str(v),
            None => s.serialize_none(),
        }
    }
}

/// Where a withdrawal is on its way to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawalStatus {
    /// Certified in a batch whose root is not on chain yet.
    Requested,
    /// In a committed root, inside its challenge window.
    InRoot,
    /// In a final root, claimable, not yet paid.
    Final,
    /// Paid by the escrow.
    Paid,
}

impl WithdrawalStatus {
    /// The name the API and the SQL use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::InRoot => "in_root",
            Self::Final => "final",
            Self::Paid => "paid",
        }
    }

    /// Parses `requested`, `in_root`, `final` or `paid`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "requested" => Self::Requested,
            "in_root" => Self::InRoot,
            "final" => Self::Final,
            "paid" => Self::Paid,
            _ => return None,
        })
    }
}

/// One epoch in the pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EpochView {
    /// Epoch.
    pub epoch: u64,
    /// Batch digest.
    pub digest: B256,
    /// State root.
    pub state_root: B256,
    /// When the batch was accepted (Unix seconds).
    pub received_at: i64,
    /// When its root was committed (Unix seconds), if it was.
    pub committed_at: Option<i64>,
    /// The commit transaction.
    pub commit_tx: Option<B256>,
    /// Claims in its root.
    pub claims: u64,
    /// When its root becomes final, in the chain's time (Unix seconds), once committed.
    pub final_at: Option<i64>,
    /// Certified MYCO supply (WAD) before the epoch's withdrawals.
    #[serde(with = "decimal")]
    pub total_supply: U256,
    /// Certified reserve value (WAD USD).
    #[serde(with = "decimal")]
    pub total_reserve: U256,
    /// The epoch's P-AMM rate (WAD), if computed.
    #[serde(serialize_with = "decimal::option")]
    pub pamm_rate: Option<U256>,
    /// What its net curve orders did: `executed`, `nothing`, `planned`, or none yet.
    pub curve: Option<String>,
}

/// One withdrawal claim with its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WithdrawalView {
    /// Claim id.
    #[serde(with = "decimal")]
    pub claim_id: U256,
    /// Epoch.
    pub epoch: u64,
    /// Off-chain account.
    pub account: B256,
    /// Recipient.
    pub recipient: Address,
    /// MYCO redeemed.
    #[serde(with = "decimal")]
    pub myco_amount: U256,
    /// Flow penalty (WAD).
    #[serde(with = "decimal")]
    pub flow_penalty: U256,
    /// MYCO redeemed before it by the epoch's claims with smaller ids (the claim's slice of the curve starts
    /// here).
    #[serde(with = "decimal")]
    pub prior_redeemed: U256,
    /// Status.
    pub status: WithdrawalStatus,
    /// When it was certified (batch accepted, Unix seconds).
    pub requested_at: i64,
    /// The root's commit transaction.
    pub commit_tx: Option<B256>,
    /// USDC paid.
    #[serde(serialize_with = "decimal::option")]
    pub usdc_paid: Option<U256>,
    /// The escrow's payment transaction.
    pub paid_tx: Option<B256>,
}

/// One escrow deposit with its credit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DepositView {
    /// Deposit id.
    pub deposit_id: u64,
    /// Depositor.
    pub depositor: Address,
    /// Off-chain account.
    pub recipient: B256,
    /// USDC.
    #[serde(with = "decimal")]
    pub amount: U256,
    /// Transaction.
    pub tx_hash: B256,
    /// Block.
    pub block_number: u64,
    /// The epoch that credited it, if any (see `reconciliation` for whether the credit matches).
    pub credited_in: Option<u64>,
    /// Where reconciliation stands: `credited` (matches the chain), `credit_differs` (credited with another
    /// account or amount), `not_credited` (not credited within the allowed epochs), `awaiting_credit`.
    pub reconciliation: &'static str,
}

/// A page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return (at most 500).
    pub limit: u64,
}

impl Page {
    fn bounds(self) -> (i64, i64) {
        (self.limit.clamp(1, 500) as i64, self.offset.min(i64::MAX as u64) as i64)
    }
}

/// Epochs, newest first.
pub async fn epochs(pool: &Pool, page: Page) -> Result<Vec<EpochView>> {
    const T: &str = "batches";
    let (limit, offset) = page.bounds();
    let rows = sqlx::query(
        "SELECT b.epoch, b.digest, b.state_root, b.received_at, c.committed_at, c.tx_hash,
                (SELECT COUNT(*) FROM claims k WHERE k.epoch = b.epoch), b.total_supply, b.total_reserve,
                o.pamm_rate, s.status, c.final_at
         FROM batches b
         LEFT JOIN commitments c ON c.epoch = b.epoch
         LEFT JOIN epoch_outputs o ON o.epoch = b.epoch
         LEFT JOIN curve_settlements s ON s.epoch = b.epoch
         ORDER BY b.epoch DESC LIMIT $1 OFFSET $2",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(EpochView {
                epoch: r.get::<i64, _>(0) as u64,
                digest: B256::from(fixed::<32>(T, "digest", r.get(1))?),
                state_root: B256::from(fixed::<32>(T, "state_root", r.get(2))?),
                received_at: r.get(3),
                committed_at: r.get(4),
                commit_tx: hash(T, r.get(5))?,
                claims: r.get::<i64, _>(6) as u64,
                total_supply: parse_u256(T, "total_supply", r.get(7))?,
                total_reserve: parse_u256(T, "total_reserve", r.get(8))?,
                pamm_rate: r.get::<Option<&str>, _>(9).map(|s| parse_u256(T, "pamm_rate", s)).transpose()?,
                curve: r.get(10),
                final_at: r.get(11),
            })
        })
        .collect()
}

/// Withdrawals, newest first, optionally of one `status` and/or one `account`. A root counts as final once the
/// chain's time (`chain_now`, the head block's timestamp) reaches its `final_at`.
pub async fn withdrawals(
    pool: &Pool,
    status: Option<WithdrawalStatus>,
    account: Option<B256>,
    chain_now: i64,
    page: Page,
) -> Result<Vec<WithdrawalView>> {
    const T: &str = "claims";
    let (limit, offset) = page.bounds();
    // The status is computed in SQL so that filtering and paging agree.
    let rows = sqlx::query(
        "SELECT * FROM (
             SELECT k.claim_id, k.epoch, k.account, k.recipient, k.myco_amount, k.flow_penalty, b.received_at,
                    c.tx_hash, w.usdc_amount, w.tx_hash AS paid_tx,
                    CASE WHEN w.claim_id IS NOT NULL THEN 'paid'
                         WHEN c.epoch IS NULL THEN 'requested'
                         WHEN c.final_at <= $1 THEN 'final'
                         ELSE 'in_root' END AS status,
                    k.prior_redeemed
             FROM claims k
             JOIN batches b ON b.epoch = k.epoch
             LEFT JOIN commitments c ON c.epoch = k.epoch
             LEFT JOIN escrow_withdrawals w ON w.claim_id = k.claim_id
         ) AS v
         WHERE ($2 = '' OR status = $2) AND ($3 = '' OR account = $4)
         ORDER BY epoch DESC, LENGTH(claim_id) DESC, claim_id DESC LIMIT $5 OFFSET $6",
    )
    .bind(chain_now)
    .bind(status.map_or("", WithdrawalStatus::as_str))
    .bind(if account.is_some() { "account" } else { "" })
    .bind(account.unwrap_or_default().to_vec())
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let status: &str = r.get(10);
            Ok(WithdrawalView {
                claim_id: parse_u256(T, "claim_id", r.get(0))?,
                epoch: r.get::<i64, _>(1) as u64,
                account: B256::from(fixed::<32>(T, "account", r.get(2))?),
                recipient: Address::from(fixed::<20>(T, "recipient", r.get(3))?),
                myco_amount: parse_u256(T, "myco_amount", r.get(4))?,
                flow_penalty: parse_u256(T, "flow_penalty", r.get(5))?,
                prior_redeemed: parse_u256(T, "prior_redeemed", r.get(11))?,
                requested_at: r.get(6),
                commit_tx: hash(T, r.get(7))?,
                usdc_paid: r.get::<Option<&str>, _>(8).map(|s| parse_u256(T, "usdc_amount", s)).transpose()?,
                paid_tx: hash(T, r.get(9))?,
                status: WithdrawalStatus::parse(status).ok_or(super::Error::Corrupt {
                    table: T,
                    column: "status".into(),
                    reason: status.to_string(),
                })?,
            })
        })
        .collect()
}

/// Where one claim stands (`None` if no accepted batch holds it), by the same rule as [`withdrawals`].
pub async fn withdrawal_status(pool: &Pool, claim_id: U256, chain_now: i64) -> Result<Option<WithdrawalStatus>> {
    let status: Option<String> = sqlx::query_scalar(
        "SELECT CASE WHEN w.claim_id IS NOT NULL THEN 'paid'
                     WHEN c.epoch IS NULL THEN 'requested'
                     WHEN c.final_at <= $1 THEN 'final'
                     ELSE 'in_root' END
         FROM claims k
         LEFT JOIN commitments c ON c.epoch = k.epoch
         LEFT JOIN escrow_withdrawals w ON w.claim_id = k.claim_id
         WHERE k.claim_id = $2",
    )
    .bind(chain_now)
    .bind(claim_id.to_string())
    .fetch_optional(pool)
    .await?;
    status
        .map(|s| {
            WithdrawalStatus::parse(&s).ok_or(super::Error::Corrupt {
                table: "claims",
                column: "status".into(),
                reason: s,
            })
        })
        .transpose()
}

/// Deposits, newest first.
pub async fn deposits(pool: &Pool, page: Page) -> Result<Vec<DepositView>> {
    const T: &str = "escrow_deposits";
    let (limit, offset) = page.bounds();
    let rows = sqlx::query(
        "SELECT d.deposit_id, d.depositor, d.recipient, d.amount, d.tx_hash, d.block_number, c.epoch,
                (SELECT MIN(m.kind) FROM mismatches m
                 WHERE m.resolved_at IS NULL AND m.subject = CAST(d.deposit_id AS TEXT)
                   AND m.kind IN ('credit_differs', 'deposit_not_credited'))
         FROM escrow_deposits d LEFT JOIN credits c ON c.deposit_id = d.deposit_id
         ORDER BY d.deposit_id DESC LIMIT $1 OFFSET $2",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DepositView {
                deposit_id: r.get::<i64, _>(0) as u64,
                depositor: Address::from(fixed::<20>(T, "depositor", r.get(1))?),
                recipient: B256::from(fixed::<32>(T, "recipient", r.get(2))?),
                amount: parse_u256(T, "amount", r.get(3))?,
                tx_hash: B256::from(fixed::<32>(T, "tx_hash", r.get(4))?),
                block_number: r.get::<i64, _>(5) as u64,
                credited_in: r.get::<Option<i64>, _>(6).map(|e| e as u64),
                reconciliation: match (r.get::<Option<&str>, _>(7), r.get::<Option<i64>, _>(6)) {
                    (Some("credit_differs"), _) => "credit_differs",
                    (Some(_), _) => "not_credited",
                    (None, Some(_)) => "credited",
                    (None, None) => "awaiting_credit",
                },
            })
        })
        .collect()
}

fn hash(table: &'static str, bytes: Option<&[u8]>) -> Result<Option<B256>> {
    bytes.map(|b| fixed::<32>(table, "tx_hash", b).map(B256::from)).transpose()
}

/// Every figure `/metrics` publishes that the store knows. All are present (zero) from the start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// Batches accepted.
    pub batches_ingested: u64,
    /// Rejected inputs by reason.
    pub rejected_by_reason: Vec<(String, u64)>,
    /// The highest accepted epoch.
    pub last_ingested_epoch: u64,
    /// Epochs committed.
    pub epochs_committed: u64,
    /// The highest committed epoch.
    pub last_committed_epoch: u64,
    /// Epochs whose challenge window has passed.
    pub epochs_finalized: u64,
    /// Seconds from accepting each committed epoch's batch to committing its root.
    pub commit_latencies: Vec<i64>,
    /// Transaction attempts by (purpose, status).
    pub attempts: Vec<(String, String, u64)>,
    /// Gas used by mined transactions.
    pub gas_used: u64,
    /// Reorgs the watcher rewound over.
    pub reorgs: u64,
    /// Escrow deposits and their USDC.
    pub deposits: (u64, U256),
    /// Escrow withdrawals and their USDC.
    pub withdrawals: (u64, U256),
    /// Committed claims not yet paid.
    pub pending_withdrawals: u64,
    /// Open mismatches by kind.
    pub open_mismatches: Vec<(String, u64)>,
    /// The watcher's next block.
    pub watcher_next_block: Option<u64>,
    /// Whether an equivocation is on record (the relayer refuses to run).
    pub equivocations: u64,
    /// Net order legs left out, by reason code.
    pub skipped_net_orders: Vec<(String, u64)>,
    /// Rejected inputs counted rather than kept (more of a kind already kept for that source and epoch).
    pub rejected_repeats: u64,
}

/// Reads [`Totals`]; a root is final once the chain's time (`chain_now`) reaches its `final_at`.
pub async fn totals(pool: &Pool, chain_now: i64) -> Result<Totals> {
    let count = |sql: &'static str| async move {
        let n: i64 = sqlx::query_scalar(sql).fetch_one(pool).await?;
        Result::<u64>::Ok(n as u64)
    };
    let grouped = |sql: &'static str| async move {
        let rows = sqlx::query(sql).fetch_all(pool).await?;
        Result::<Vec<(String, u64)>>::Ok(
            rows.iter().map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1) as u64)).collect(),
        )
    };
    let escrow = |kind| async move {
        let t = super::escrow_totals::get(pool, kind).await?;
        Result::<(u64, U256)>::Ok((t.events, t.amount))
    };
    let latencies =
        sqlx::query("SELECT c.committed_at - b.received_at FROM commitments c JOIN batches b ON b.epoch = c.epoch")
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| r.get::<i64, _>(0))
            .collect();
    let attempts =
        sqlx::query("SELECT purpose, status, COUNT(*) FROM tx_attempts GROUP BY purpose, status ORDER BY 1, 2")
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1), r.get::<i64, _>(2) as u64))
            .collect();
    let finalized: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM commitments WHERE final_at <= $1")
        .bind(chain_now)
        .fetch_one(pool)
        .await?;
    let gas: Option<i64> =
        sqlx::query_scalar("SELECT CAST(SUM(gas_used) AS BIGINT) FROM tx_attempts WHERE status = 'mined'")
            .fetch_one(pool)
            .await?;
    Ok(Totals {
        batches_ingested: count("SELECT COUNT(*) FROM batches").await?,
        rejected_by_reason: grouped("SELECT reason, COUNT(*) FROM quarantine GROUP BY reason ORDER BY reason").await?,
        last_ingested_epoch: count("SELECT COALESCE(MAX(epoch), 0) FROM batches").await?,
        epochs_committed: count("SELECT COUNT(*) FROM commitments").await?,
        last_committed_epoch: count("SELECT COALESCE(MAX(epoch), 0) FROM commitments").await?,
        epochs_finalized: finalized as u64,
        commit_latencies: latencies,
        attempts,
        gas_used: gas.unwrap_or_default() as u64,
        reorgs: count("SELECT COUNT(*) FROM reorgs").await?,
        deposits: escrow(super::escrow_totals::Kind::Deposits).await?,
        withdrawals: escrow(super::escrow_totals::Kind::Withdrawals).await?,
        pending_withdrawals: count(
            "SELECT COUNT(*) FROM claims k LEFT JOIN escrow_withdrawals w ON w.claim_id = k.claim_id
             WHERE w.claim_id IS NULL",
        )
        .await?,
        open_mismatches: grouped(
            "SELECT kind, COUNT(*) FROM mismatches WHERE resolved_at IS NULL GROUP BY kind ORDER BY kind",
        )
        .await?,
        watcher_next_block: super::escrow::cursor(pool).await?,
        equivocations: count("SELECT COUNT(*) FROM equivocations").await?,
        skipped_net_orders: super::curve::skips_by_reason(pool).await?,
        rejected_repeats: super::quarantine::repeats(pool).await?,
    })
}
