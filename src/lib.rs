//! myco-bridge: the relayer between a BFT-certified Automerge payment network and an EVM chain.
//!
//! # Layout
//!
//! The modules follow the data flow; a value travels left to right and never back. The reader (ingest, settle,
//! store) is shared by every mode that reads batches; a mode differs only in its writer (docs/architecture.md).
//!
//! ```text
//!             ┌──────────── reader ─────────────┐   writer (relayer)
//!  validators ──▶ ingest ──▶ settle ──▶ store ──┼──▶ chain::settler ───▶ MycoBondingCurve.sol (net orders)
//!  (batches)     verify      auction,           │   chain::submitter ─▶ StateCommitment.sol (root per epoch)
//!                            claims, root       │   (both via chain::txmgr: one nonce, fee bumps)
//!                                               │
//!                          store ◀──────────────┴── watcher ◀── chain::escrow_events ◀── USDCEscrow.sol (reorg-aware)
//!                            ▲
//!                        reconcile: escrow events against certified claims and credits → mismatches
//! ```
//!
//! Reading and computing:
//! - [`ingest`]: batch envelopes, the Ed25519 certificate, the Automerge document schema and value checks,
//!   batch sources (folder, HTTP), and the chain-of-batches verifier (bytes in, verified [`ingest::Batch`] out).
//! - [`settle`]: pure settlement math (no I/O, no async): the batch auction, the bonding curve, P-AMM, flow
//!   penalties, tranche splits, withdrawal claims and the state root.
//! - [`reader`]: a source to verified, settled, stored epochs: verification, quarantine, the equivocation watch;
//!   never writes to the chain.
//!
//! Writing and watching:
//! - [`chain`]: contract bindings, the transaction manager, the net-order settler, the root submitter, the
//!   escrow's events, bounded log reads, the production deployment.
//! - [`relayer`]: the writer: each stored epoch's root then its net orders, and the escrow watcher with
//!   reconciliation, both cancellable, faults waited out with alarms.
//! - [`watcher`]: the escrow's events (`chain::escrow_events`) into the store, following reorgs.
//! - [`escrow_side`]: one step of the escrow side (clock, watcher, reconciliation), for the relayer and the auditor.
//! - [`audit`]: the independent auditor: every commitment recomputed and compared, attestations, conservation,
//!   late equivocations, withdrawals; a wrong commitment revoked with a guardian key or alarmed.
//! - [`reconcile`]: every escrow event against the certified ledger; disagreements become stored mismatches.
//! - [`store`]: SQLite or PostgreSQL through sqlx; one module per table.
//!
//! Running it:
//! - [`config`]: the TOML file and its environment overrides, validated with errors that name the key.
//! - [`preflight`]: before anything is sent, the configuration is checked against the chain and the store.
//! - [`service`]: `myco-bridge run`: preflight, leader election, the status API and the relayer, with a
//!   graceful shutdown.
//! - [`leader`]: exactly one sending instance per store (a PostgreSQL advisory lock; SQLite has one process).
//! - [`health`]: leadership, the halt reason and the alarms, shared by the relayer and the API.
//! - [`api`]: `/health`, `/ready`, `/metrics`, the JSON API and the status page.
//! - [`net`]: outbound HTTP(S) with rustls and the system's CA store, for the RPC and the batch endpoints.
//! - [`backoff`]: exponential backoff for every retry loop.
//! - [`error`]: the crate's error and how the service handles each kind (retry, wait, halt).
//! - [`ids`]: epochs, claim and deposit ids, and transaction purposes as types of their own.
//!
//! Built only with the `devnet` feature (the tests, `make demo`, `simulate`; never the service build):
//! - `devnet`: anvil, the test deployment, the validator simulator (and its bad batches), a batch server.
//! - `demo`: the whole bridge on a local chain, end to end.
//! - `rng`: the simulator's deterministic generator (also compiled for the unit tests).

pub mod api;
pub mod attest;
pub mod audit;
pub mod backoff;
pub mod chain;
pub mod config;
#[cfg(feature = "devnet")]
pub mod demo;
#[cfg(feature = "devnet")]
pub mod devnet;
pub mod error;
pub mod escrow_side;
pub mod health;
pub mod ids;
pub mod ingest;
pub mod leader;
pub mod net;
pub mod parallel;
pub mod preflight;
pub mod reader;
pub mod reconcile;
pub mod relayer;
#[cfg(any(test, feature = "devnet"))]
pub mod rng;
pub mod server;
pub mod service;
pub mod settle;
pub mod store;
pub mod watcher;

pub use error::{Error, Handling, Result};
