//! Running the `myco-bridge` binary as an operator does: a configuration file, the key in the environment, the
//! status API over HTTP.

use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use myco_bridge::ingest::certificate::format_keys;
use serde_json::Value;

use crate::common::{Harness, TIMEOUT};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub async fn get(url: &str) -> (u16, String) {
    let client = myco_bridge::net::client(Duration::from_secs(10)).unwrap();
    match client.get(url).send().await {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(_) => (0, String::new()),
    }
}

pub async fn json(url: &str) -> Value {
    let (status, body) = get(url).await;
    assert_eq!(status, 200, "{url}: {body}");
    serde_json::from_str(&body).unwrap()
}

pub fn write_config(h: &Harness, dir: &Path, port: u16) -> std::path::PathBuf {
    let source = format!("folder = \"{}\"", h.batch_dir.display());
    write_config_with(h, dir, port, h.devnet.url().as_str(), &source)
}

/// A configuration for `h`'s devnet and store with the RPC at `rpc_url` and `source` as the `[source]` body.
pub fn write_config_with(h: &Harness, dir: &Path, port: u16, rpc_url: &str, source: &str) -> std::path::PathBuf {
    let d = h.devnet.deployment;
    let keys = dir.join("validators.txt");
    std::fs::write(&keys, format_keys(&h.network.validator_keys())).unwrap();
    let config = format!(
        r#"
[chain]
rpc_url = "{rpc}"
chain_id = {chain_id}
state_commitment = "{sc}"
escrow = "{escrow}"
curve = "{curve}"
start_block = {start}
confirmations = 0

[validators]
keys_file = "{keys}"

[source]
{source}

[database]
url = "{db}"

[transactions]
confirmations = 1

[relayer]
poll_interval_ms = 100

[api]
listen = "127.0.0.1:{port}"

[attestation]
endpoints = [{endpoints}]
"#,
        endpoints = h.attesters.iter().map(|a| format!("\"{}\"", a.url)).collect::<Vec<_>>().join(", "),
        rpc = rpc_url,
        chain_id = h.devnet.chain_id(),
        sc = d.state_commitment,
        escrow = d.escrow,
        curve = d.curve,
        start = d.start_block,
        keys = keys.display(),
        db = h.database_url,
    );
    let path = dir.join("myco-bridge.toml");
    std::fs::write(&path, config).unwrap();
    path
}

pub fn spawn_run(config: &Path, key: &str, log: &Path) -> Child {
    spawn_run_with(config, key, log, &[])
}

/// `run` with extra environment variables (e.g. `SSL_CERT_FILE`, `MYCO_BRIDGE__…` overrides).
pub fn spawn_run_with(config: &Path, key: &str, log: &Path, env: &[(&str, &str)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_myco-bridge"))
        .args(["run", "--config"])
        .arg(config)
        .envs(env.iter().copied())
        .env("MYCO_BRIDGE_PRIVATE_KEY", key)
        .env("RUST_LOG", "info")
        .stdout(std::fs::File::create(log.with_extension("out")).unwrap())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("myco-bridge runs")
}

pub async fn wait_for_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(tokio::time::Instant::now() < deadline, "myco-bridge did not exit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `run --check` with `env`: its exit code and what it printed.
pub fn check(config: &Path, key: &str, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_myco-bridge"))
        .args(["run", "--check", "--config"])
        .arg(config)
        .envs(env.iter().copied())
        .env("MYCO_BRIDGE_PRIVATE_KEY", key)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text)
}

/// Waits until the API at `base` lists `epochs` epochs, all committed; panics if `child` exits first.
pub async fn wait_committed(base: &str, epochs: usize, child: &mut Child, log: &Path) {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let (status, body) = get(&format!("{base}/api/v1/epochs")).await;
        let listed: serde_json::Value =
            if status == 200 { serde_json::from_str(&body).unwrap() } else { Default::default() };
        let items = listed["items"].as_array().cloned().unwrap_or_default();
        if items.len() >= epochs && items.iter().all(|e| !e["committed_at"].is_null()) {
            return;
        }
        assert!(child.try_wait().unwrap().is_none(), "myco-bridge exited: {}", std::fs::read_to_string(log).unwrap());
        assert!(
            tokio::time::Instant::now() < deadline,
            "epochs not committed in time: {}",
            std::fs::read_to_string(log).unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The hex private key of anvil account `index`.
pub fn key_of(h: &Harness, index: usize) -> String {
    format!("0x{}", alloy::hex::encode(h.devnet.signer(index).to_bytes()))
}

/// `myco-bridge run` for a harness, as a process with its own folder, configuration, log and API port.
pub struct Service {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:<port>`: the status API.
    pub base: String,
    /// Its configuration file.
    pub config: std::path::PathBuf,
    /// Its log (stderr).
    pub log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Service {
    /// Starts `run` on `h`'s devnet, store and batch folder, signing as the relayer account.
    pub fn start(h: &Harness) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = write_config(h, dir.path(), port);
        let log = dir.path().join("run.log");
        let child = spawn_run(&config, &key_of(h, myco_bridge::devnet::RELAYER_ACCOUNT), &log);
        Self { child, base: format!("http://127.0.0.1:{port}"), config, log, _dir: dir }
    }

    /// Waits until the API lists `epochs` epochs, all committed.
    pub async fn wait_committed(&mut self, epochs: usize) {
        wait_committed(&self.base, epochs, &mut self.child, &self.log).await;
    }

    /// SIGTERM, then the exit status.
    pub async fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        wait_for_exit(&mut self.child).await
    }
}
