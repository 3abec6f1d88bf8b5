//! `myco-bridge status` and `migrate`: what the relayer (running or not) has done, from its store.

use std::process::ExitCode;

use super::{EXIT_HALTED, database_url};
use crate::cli::{MigrateArgs, StatusArgs};

pub async fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    use myco_bridge::store::{self, clock, halts, mismatches, views};
    let pool = store::connect(&database_url(args.config.as_deref(), args.database)?).await?;
    // Finality is judged by the chain's clock as the relayer last saw it, as on the page and in /metrics.
    let clock = clock::get(&pool).await?;
    let chain_now = clock.map_or(0, |c| c.head_time);
    let t = views::totals(&pool, chain_now).await?;
    let open = mismatches::open(&pool).await?;
    let halt = halts::current(&pool).await?;
    let pending = views::withdrawals(&pool, None, None, chain_now, views::Page { offset: 0, limit: 500 })
        .await?
        .into_iter()
        .filter(|w| w.status != views::WithdrawalStatus::Paid)
        .collect::<Vec<_>>();
    let halted = halt
        .as_ref()
        .map(|h| h.reason.clone())
        .or((t.equivocations > 0).then(|| "an equivocation is on record".to_string()));
    if args.json {
        let value = serde_json::json!({
            "last_ingested_epoch": t.last_ingested_epoch,
            "last_committed_epoch": t.last_committed_epoch,
            "epochs_finalized": t.epochs_finalized,
            "chain": clock.map(|c| serde_json::json!({
                "head_block": c.head_block, "head_time": c.head_time, "finalized_block": c.finalized_block,
                "observed_at": c.observed_at,
            })),
            "pending_withdrawals": pending,
            "open_mismatches": open.iter().map(|m| serde_json::json!({ "kind": m.kind, "subject": m.subject, "detail": m.detail })).collect::<Vec<_>>(),
            "halted": halted,
            "halted_by_equivocation": t.equivocations > 0,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!(
            "epochs: ingested {}, committed {}, finalized {}",
            t.last_ingested_epoch, t.last_committed_epoch, t.epochs_finalized
        );
        match clock {
            Some(c) => println!(
                "chain: head block {} at chain time {}, observed {} s ago (finality is judged by chain time)",
                c.head_block,
                c.head_time,
                (store::now() - c.observed_at).max(0)
            ),
            None => println!("chain: not observed yet (nothing is final until the relayer has seen the chain)"),
        }
        println!("withdrawals pending: {}", pending.len());
        for w in &pending {
            println!("  claim {} (epoch {}): {}", w.claim_id, w.epoch, w.status.as_str());
        }
        println!("open mismatches: {}", open.len());
        for m in &open {
            println!("  {} {}: {}", m.kind, m.subject, m.detail);
        }
        if let Some(reason) = &halted {
            println!("HALTED: {reason}");
        }
    }
    Ok(if halted.is_some() { ExitCode::from(EXIT_HALTED) } else { ExitCode::SUCCESS })
}

pub async fn migrate(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    let url = database_url(args.config.as_deref(), args.database)?;
    myco_bridge::store::connect(&url).await?;
    println!("database schema is up to date ({})", myco_bridge::store::Backend::of(&url)?.name());
    Ok(ExitCode::SUCCESS)
}
