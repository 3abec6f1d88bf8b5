//! myco-bridge: the relayer between a BFT-certified Automerge payment network and an EVM chain.
//!
//! # Layout
//!
//! The modules follow the data flow; a value travels left to right and never back.
//!
//! ```text
//!  validators ──▶ ingest ──▶ settle ──▶ chain::settler ───▶ MycoBondingCurve.sol (net orders)
//!  (batches)     verify      auction,    chain::submitter ─▶ StateCommitment.sol (root per epoch)
//!                   │        claims,     (both via chain::txmgr: one nonce, fee bumps)
//!                   │        root               │
//!                   ▼           ▼               ▼
//!                 store ◀──────────────── chain::watcher ◀── USDCEscrow.sol events (reorg-aware)
//!                   ▲
//!               reconcile: escrow events against certified claims and credits → mismatches
//! ```
//!
//! - [`ingest`]: batch envelopes, the Ed25519 certificate, the Automerge document schema and value checks,
//!   batch sources (folder, HTTP), and the chain-of-batches verifier (bytes in, verified [`ingest::Batch`] out).
//! - [`settle`]: pure settlement math (no I/O, no async): the batch auction, the bonding curve, P-AMM, flow
//!   penalties, tranche splits, withdrawal claims and the state root.
//! - [`chain`]: contract bindings generated from forge artifacts, the transaction manager, the net-order
//!   settler, the root submitter, the escrow watcher.
//! - [`reconcile`]: every escrow event against the certified ledger; disagreements become stored mismatches.
//! - [`store`]: SQLite through sqlx; one module per table.
//! - [`relayer`]: wiring of the stages into one cancellable service.
//! - [`devnet`]: anvil, deployment, the validator simulator (and its bad batches), shared by the demo, the
//!   `simulate` command and the tests.
//! - [`demo`]: the whole bridge on a local chain, end to end.

pub mod api;
pub mod backoff;
pub mod chain;
pub mod config;
pub mod demo;
pub mod devnet;
pub mod error;
pub mod health;
pub mod ingest;
pub mod leader;
pub mod net;
pub mod preflight;
pub mod reader;
pub mod reconcile;
pub mod relayer;
pub mod service;
pub mod settle;
pub mod store;

pub use error::{Error, Handling, Result};
