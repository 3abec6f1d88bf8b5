//! Compiles the contracts with the npm-pinned forge so `sol!` can read their artifacts from `out/`.

use std::path::Path;
use std::process::Command;

fn main() {
    for watched in ["contracts", "foundry.toml", "package-lock.json", "scripts/solc"] {
        println!("cargo:rerun-if-changed={watched}");
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let forge = root.join("node_modules/.bin/forge");
    if !forge.exists() {
        panic!("{} is missing: run `npm ci` (or `make deps`) first to install the pinned toolchain", forge.display());
    }
    let out = Command::new(&forge)
        .args(["build", "--root"])
        .arg(root)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", forge.display()));
    if !out.status.success() {
        panic!(
            "forge build failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
