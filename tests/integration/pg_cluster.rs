//! A PostgreSQL cluster of a test's own (initdb into a temporary folder, loopback, trust auth, no fsync), so the
//! test can stop and start the server without disturbing the others. Needs `MYCO_TEST_PG_BIN` (set by
//! `scripts/with-postgres`); as root the server runs as the `postgres` user, as PostgreSQL requires.

use std::path::PathBuf;
use std::process::Command;

/// The cluster; stopped and deleted when dropped.
pub struct PgCluster {
    bin: PathBuf,
    data: tempfile::TempDir,
    port: u16,
}

fn as_postgres(program: PathBuf) -> Command {
    // PostgreSQL refuses to run as root; as root, its programs run as the `postgres` user.
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

impl PgCluster {
    /// A new running cluster, or `None` when no PostgreSQL server is installed for tests.
    pub fn start() -> Option<Self> {
        let bin = PathBuf::from(std::env::var_os("MYCO_TEST_PG_BIN")?);
        let data = tempfile::tempdir().unwrap();
        let _ = Command::new("chown").arg("postgres").arg(data.path()).status();
        let port = crate::process::free_port();
        let init = as_postgres(bin.join("initdb"))
            .arg("-D")
            .arg(data.path())
            .args(["-U", "myco", "--auth=trust", "-E", "UTF8"])
            .output()
            .unwrap();
        assert!(init.status.success(), "initdb: {}", String::from_utf8_lossy(&init.stderr));
        let cluster = Self { bin, data, port };
        cluster.ctl("start");
        Some(cluster)
    }

    /// `postgres://…` for a database of this cluster.
    pub fn url(&self) -> String {
        format!("postgres://myco@127.0.0.1:{}/postgres", self.port)
    }

    /// Runs `pg_ctl <action>` (start, stop), waiting for it to finish.
    pub fn ctl(&self, action: &str) {
        let options = format!("-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off", self.port, self.dir());
        let out = as_postgres(self.bin.join("pg_ctl"))
            .args(["-D", &self.dir(), "-l", &format!("{}/server.log", self.dir()), "-w", "-m", "fast", "-o", &options])
            .arg(action)
            .output()
            .unwrap();
        assert!(out.status.success(), "pg_ctl {action}: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn dir(&self) -> String {
        self.data.path().display().to_string()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = as_postgres(self.bin.join("pg_ctl")).args(["-D", &self.dir(), "-m", "immediate", "stop"]).output();
    }
}
