//! The canary through the binary: stdout (except `get` and `export`), stderr (with TRACE logs)
//! and `--redact`ed program output never show a secret value.

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
    // Where a value is asked for, it is there.
    assert!(String::from_utf8_lossy(&creds(&["get", "token"]).stdout).contains(&canary));
}
