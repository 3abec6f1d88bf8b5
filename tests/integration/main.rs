//! Integration tests against a real anvil and the real contracts, in one test binary (one link, shared helpers).

mod alerts;
mod attestation;
mod auditor;
mod capped_rpc;
mod chain_faults;
mod claim_proofs;
mod cli;
mod common;
mod conservation;
mod demo_flow;
mod differential;
mod escrow_params;
mod hostile;
mod ingest;
mod interop;
mod logs;
mod merkle;
mod operate;
mod pg_cluster;
mod process;
mod proxy;
mod real_chain;
mod relayer;
mod store_counts;
mod tls;
mod watcher;
