//! Compiles the contracts with the npm-pinned forge, so the deployment bytecode in `out/` always matches
//! `contracts/`. The service's call bindings come from the Solidity interfaces and need no compiler: without
//! forge (not installed yet, or a platform npm has no Foundry build for) the service still builds, with a warning,
//! and only `deploy` is unavailable. The `devnet` feature deploys contracts in every test, so it needs forge.

use std::path::Path;
use std::process::Command;

fn main() {
    for watched in ["contracts", "foundry.toml", "package-lock.json", "scripts/solc"] {
        println!("cargo::rerun-if-changed={watched}");
    }
    println!("cargo::rustc-check-cfg=cfg(contract_bytecode)");
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest_dir);
    let forge = root.join("node_modules/.bin/forge");
    let devnet = std::env::var_os("CARGO_FEATURE_DEVNET").is_some();
    let out = match Command::new(&forge).args(["build", "--root"]).arg(root).output() {
        Ok(out) => out,
        Err(e) if devnet => panic!(
            "the `devnet` feature deploys the contracts and needs forge, but {} cannot run ({e}): run `npm ci` (or \
             `make deps`) first",
            forge.display()
        ),
        Err(e) => {
            println!(
                "cargo::warning=forge ({}) cannot run ({e}); building without contract bytecode: `myco-bridge deploy` \
                 is unavailable in this build, everything else works. Run `npm ci` to install it.",
                forge.display()
            );
            return;
        }
    };
    // A contract that does not compile is a broken checkout, not a missing tool.
    if !out.status.success() {
        panic!(
            "forge build failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    println!("cargo::rustc-cfg=contract_bytecode");
}
