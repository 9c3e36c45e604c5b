//! End to end through the binary: `serve` on a loopback port with a fresh data dir, the
//! `remote` client commands against it, restart reusing credentials, `token create`, and a
//! graceful shutdown on SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    base: String,
    org: String,
    token: String,
    banner: String,
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    c.env("NO_COLOR", "1")
        .env_remove("SWITCHBOARD_URL")
        .env_remove("SWITCHBOARD_TOKEN");
    c
}

fn start(data: &Path) -> Server {
    let mut child = bin()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::from(
            std::fs::File::create(data.with_extension("log")).unwrap(),
        ))
        .spawn()
        .expect("serve starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = String::new();
    let (mut base, mut org, mut token) = (String::new(), String::new(), String::new());
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        banner.push_str(&line);
        banner.push('\n');
        if let Some(u) = line.split("listening on ").nth(1) {
            base = u.trim().to_string();
        } else if let Some(o) = line.trim().strip_prefix("org id:") {
            org = o.trim().to_string();
        } else if let Some(t) = line.trim().strip_prefix("token:") {
            token = t.trim().to_string();
        } else if line.trim().starts_with("try:") {
            break;
        }
    }
    assert!(
        !base.is_empty() && !org.is_empty() && !token.is_empty(),
        "banner: {banner}"
    );
    Server {
        child,
        base,
        org,
        token,
        banner,
    }
}

fn remote(s: &Server, args: &[&str]) -> (i32, String, String) {
    let out = bin()
        .arg("remote")
        .args(args)
        .args(["--server", &s.base, "--token", &s.token, "--org", &s.org])
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn stop(mut s: Server) -> i32 {
    let pid = s.child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = s.child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn serve_then_drive_it_with_the_remote_commands() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = start(&data);
    assert!(s.banner.contains("created and saved to"), "{}", s.banner);
    assert!(data.join("credentials.json").exists());

    let (code, out, err) = remote(
        &s,
        &[
            "import",
            "tests/fixtures/seeds/basic-flow.json",
            "tests/fixtures/seeds/error-handler-flow.json",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("2 imported, 0 failed"), "{out}");

    let (code, out, _) = remote(&s, &["list", "--output", "json"]);
    assert_eq!(code, 0);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list["totalRecords"], 2);
    let id = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "SamplePlayMessageFlow")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let (code, out, err) = remote(
        &s,
        &[
            "patch",
            &id,
            "tests/fixtures/seeds/patch.json",
            "--expected-version",
            "0",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("now version 1"), "{out}");
    let (code, _, err) = remote(
        &s,
        &[
            "patch",
            &id,
            "tests/fixtures/seeds/patch.json",
            "--expected-version",
            "0",
        ],
    );
    assert_eq!(code, 1, "a stale expectedVersion is refused");
    assert!(err.contains("HTTP 409"), "{err}");

    let (code, out, _) = remote(&s, &["publish", &id, "--tag", "Live", "--comment", "first"]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = remote(
        &s,
        &["export", &id, "--flow-version", "1", "--output", "json"],
    );
    assert_eq!(code, 0);
    let exported: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(exported["version"], 1);
    assert!(exported["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["name"] == "HoldMessage"));

    let (code, out, _) = remote(
        &s,
        &[
            "import",
            "crates/validate/test_data/err/invalid-port-guide.json",
        ],
    );
    assert_eq!(code, 1);
    assert!(out.contains("INVALID_PORT"), "{out}");

    let code = stop(s);
    assert_eq!(
        code,
        0,
        "graceful shutdown exits 0; log:\n{}",
        std::fs::read_to_string(data.with_extension("log")).unwrap_or_default()
    );

    // A token issued offline works after a restart, which reuses the credentials.
    let out = bin()
        .args([
            "token",
            "create",
            "--user",
            "ci@example.com",
            "--scopes",
            "cjp:config_read",
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read_only = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let s = start(&data);
    assert!(s.banner.contains("reusing"), "{}", s.banner);
    let mut ro = Server {
        child: bin().arg("--version").spawn().unwrap(),
        base: s.base.clone(),
        org: s.org.clone(),
        token: read_only,
        banner: String::new(),
    };
    let (code, out, _) = remote(&ro, &["list"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("2 flows") || out.contains("of 2 flows"),
        "{out}"
    );
    let (code, _, err) = remote(
        &ro,
        &[
            "import",
            "tests/fixtures/seeds/basic-flow.json",
            "--overwrite",
        ],
    );
    assert_eq!(code, 1, "a read-only token cannot import");
    assert!(err.is_empty() || !err.contains("panicked"));
    let _ = ro.child.wait();
    assert_eq!(stop(s), 0);
}
