//! The web UI in a real browser (issue 16's proof): `tests/browser/webui.mjs` drives
//! headless chromium (playwright-core, both installed by `scripts/test-setup.sh`)
//! against a live three-master `mesos-local`. The script prints a line per step and
//! closes with `N passed, N failed`; this test fails when the script does.

use std::path::Path;
use std::process::Command;

use super::{leader_line, master_line, start_local};

/// Opened at a follower, the page shows every master and the leader, both agents, a
/// running task (started by pymesos) with its stdout, the task's
/// `mesos.internal.RunTaskMessage` in the sequence diagram (when the build has the
/// message ring), the event queue and registrar metrics as numbers; after kill -9 of
/// the task's agent (mesos-local restarts it) the diagram shows its
/// `ReregisterSlaveMessage` / `SlaveReregisteredMessage` and the task is still
/// running; after kill -9 of the leader, reloaded at the follower, the new leader.
#[test]
fn web_ui_in_chromium_from_a_follower_through_a_failover() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let browser = root.join("tests/browser");
    assert!(
        browser.join("node_modules/playwright-core").exists()
            && Path::new("/usr/bin/chromium").exists(),
        "chromium and playwright-core are installed by scripts/test-setup.sh (run scripts/test.sh)"
    );
    let python = root.join("target/client-venv/bin/python");
    assert!(python.exists(), "pymesos is installed by scripts/test-setup.sh (run scripts/test.sh)");

    let (local, ports) = start_local(3, 2);
    let (leader_port, leader_os_pid, _) = leader_line(&local.lines);
    let follower = *ports.iter().find(|p| **p != leader_port).expect("a follower");
    // Each agent's address and OS pid (the browser script kills the task's agent).
    let agent_os_pids: serde_json::Map<String, serde_json::Value> = local
        .lines
        .iter()
        .filter(|l| l.trim_start().starts_with("agent "))
        .map(|l| {
            let (port, os_pid, _) = master_line(l);
            (format!("127.0.0.1:{port}"), serde_json::json!(os_pid))
        })
        .collect();
    assert_eq!(agent_os_pids.len(), 2, "{:?}", local.lines);
    let launch = serde_json::json!([
        python,
        root.join("tests/clients/pymesos_scheduler.py"),
        // Checkpointing, so its task survives the agent's restart (Mesos recovers only
        // the tasks of checkpointing frameworks).
        "--checkpoint",
        format!("127.0.0.1:{leader_port}"),
        "echo hello-from-the-web-ui; sleep 600",
        "1",
    ]);
    // Screenshots go to target/ unless asked for docs/images (UPDATE_SCREENSHOTS=1).
    let shots = match std::env::var_os("UPDATE_SCREENSHOTS") {
        Some(_) => root.join("docs/images"),
        None => root.join("target/webui-screenshots"),
    };
    let output = Command::new("node")
        .arg(browser.join("webui.mjs"))
        .current_dir(&browser)
        .env("WEBUI_FOLLOWER", format!("127.0.0.1:{follower}"))
        .env("WEBUI_LEADER", format!("127.0.0.1:{leader_port}"))
        .env("WEBUI_LEADER_OS_PID", leader_os_pid.to_string())
        .env("WEBUI_MASTERS", "3")
        .env("WEBUI_AGENTS", "2")
        .env("WEBUI_LAUNCH", launch.to_string())
        .env("WEBUI_STDOUT", "hello-from-the-web-ui")
        .env("WEBUI_AGENT_OS_PIDS", serde_json::Value::Object(agent_os_pids).to_string())
        .env("WEBUI_SHOTS", &shots)
        .output()
        .expect("run node tests/browser/webui.mjs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the browser test failed:\n{stdout}");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    drop(local);
}
