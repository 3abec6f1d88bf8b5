//! The shipped alerting rules (`deploy/alerts.yml`) pass `promtool check rules` and their unit tests
//! (`deploy/alerts.test.yml`) when Debian's `prometheus` is installed; `.ci/run` installs it and sets
//! `MYCO_REQUIRE_PROMTOOL`, so there the check always runs.

use std::path::Path;
use std::process::Command;

#[test]
fn the_alerting_rules_pass_promtool_and_their_unit_tests() {
    let Some(promtool) = ["/usr/bin/promtool", "/usr/local/bin/promtool"].into_iter().find(|p| Path::new(p).exists())
    else {
        assert!(
            std::env::var_os("MYCO_REQUIRE_PROMTOOL").is_none(),
            "MYCO_REQUIRE_PROMTOOL is set but promtool is not installed"
        );
        eprintln!("alerting rules: promtool not installed, check NOT RUN (apt-get install prometheus)");
        return;
    };
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    for args in [["check", "rules", "alerts.yml"], ["test", "rules", "alerts.test.yml"]] {
        let out = Command::new(promtool).args(args).current_dir(&deploy).output().unwrap();
        assert!(
            out.status.success(),
            "promtool {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
