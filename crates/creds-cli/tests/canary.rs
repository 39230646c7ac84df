//! The canary through the binary: stdout (except `get` and `export`), stderr (with TRACE logs),
//! `--redact`ed program output and the errors of `set` never show a secret value.

#[test]
fn the_cli_never_shows_the_canary_except_where_asked() {
    let canary = format!("CANARY-CLI-{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("creds.toml"),
        "[secrets]\ntoken = { ref = \"env://CANARY_SRC\" }\nbroken = { ref = \"env://CANARY_JSON#missing\" }\n",
    )
    .unwrap();
    let creds = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_creds"))
            .args(args)
            .current_dir(dir.path())
            .env("CANARY_SRC", &canary)
            .env("CANARY_JSON", format!(r#"{{"a":"{canary}"}}"#))
            .env("CREDS_LOG", "trace")
            .env_remove("CREDS_CONFIG")
            .output()
            .unwrap()
    };
    for args in [
        &["check"][..],
        &["check", "--format", "json"],
        &["get", "broken"],
        &["get", "env://CANARY_JSON#nope"],
        &["run", "--", "true"],
        &[
            "run",
            "--redact",
            "--",
            "sh",
            "-c",
            "echo $TOKEN; echo $TOKEN >&2",
        ],
    ] {
        let out = creds(args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stdout.contains(&canary), "{args:?} stdout: {stdout}");
        assert!(!stderr.contains(&canary), "{args:?} stderr: {stderr}");
    }
    // `set` reads the value from stdin; its errors never repeat it: a store that cannot be
    // written, a member write into a value that is not JSON, a bad reference, a value too big.
    std::fs::write(dir.path().join("plain"), "not json").unwrap();
    let set = |target: &str, value: &str| {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_creds"))
            .args(["set", target])
            .current_dir(dir.path())
            .env("CREDS_LOG", "trace")
            .env_remove("CREDS_CONFIG")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(value.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let oversized = canary.repeat(70_000 / canary.len() + 1);
    for (target, value) in [
        ("env://CANARY_SRC", canary.as_str()),
        ("file://plain#k", canary.as_str()),
        ("file://plain?raw=maybe", canary.as_str()),
        ("gcp-sm://p/s?location=x&location=y", canary.as_str()),
        // Refused before any call, with or without credentials.
        ("aws-ssm:///creds-canary/oversized", oversized.as_str()),
        ("gcp-sm://p/oversized", oversized.as_str()),
        ("azure-kv://v/oversized", oversized.as_str()),
    ] {
        let out = set(target, value);
        assert_ne!(out.status.code(), Some(0), "set {target} failed");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.is_empty(), "set {target} said why");
        assert!(!stdout.contains(&canary), "set {target} stdout: {stdout}");
        assert!(!stderr.contains(&canary), "set {target} stderr: {stderr}");
    }
    // Where a value is asked for, it is there.
    assert!(String::from_utf8_lossy(&creds(&["get", "token"]).stdout).contains(&canary));
}
