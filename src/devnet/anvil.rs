//! Starts anvil on a free local port from the npm-installed Foundry binary.

use std::path::PathBuf;

use alloy::node_bindings::{Anvil, AnvilInstance};

use super::Error;

/// The anvil binary: `$MYCO_ANVIL` if set, else the one `npm ci` installed in this repository.
pub fn binary() -> PathBuf {
    std::env::var_os("MYCO_ANVIL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node_modules/.bin/anvil"))
}

/// Starts anvil on an OS-assigned loopback port; it stops when the returned instance is dropped.
pub fn spawn() -> Result<AnvilInstance, Error> {
    spawn_with(&[])
}

/// Starts anvil with extra command-line arguments (e.g. `--no-mining`, `--block-time`).
pub fn spawn_with(args: &[&str]) -> Result<AnvilInstance, Error> {
    let path = binary();
    if !path.exists() {
        return Err(Error::Anvil {
            path: path.display().to_string(),
            reason: "not installed; run `npm ci` (or `make deps`) first".into(),
        });
    }
    Anvil::at(&path)
        .arg("--host")
        .arg("127.0.0.1")
        .args(args.iter().copied())
        .try_spawn()
        .map_err(|e| Error::Anvil { path: path.display().to_string(), reason: e.to_string() })
}
