//! `creds.toml`, profiles and the verbs `export`, `check` and `set`, end to end through the
//! binary, on the local stores and (when up) the real servers of `cargo xtask ci`.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const CANARY: &str = "canary-config-77d1";

fn creds(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_creds"));
    cmd.current_dir(dir)
        .env_remove("CREDS_LOG")
        .env_remove("CREDS_CONFIG")
        .env_remove("CREDS_PROFILE");
    cmd
}

fn out(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("creds.toml"),
        r#"default-profile = "dev"

[profiles.dev]
chain = ["env://APP_{NAME}", "dotenv://APP_{NAME}"]

[profiles.other]
chain = ["dotenv://OTHER_{NAME}"]

[profiles.prod]
chain = ["aws-sm://app/{name}", "env://APP_{NAME}"]
policy = "strict"

[secrets]
api_key = {}
db_password = { env = "DATABASE_PASSWORD" }
direct = { ref = "dotenv://DIRECT" }
maybe = { ref = "env://CREDS_T_NEVER_SET", optional = true }
"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join(".env"),
        format!("APP_DB_PASSWORD='has \"quotes\", $HOME and spaces'\nAPP_API_KEY=from-dotenv\nDIRECT={CANARY}\nOTHER_API_KEY=other-profile\n"),
    )
    .unwrap();
    dir
}

#[test]
fn logical_names_through_declarations_chains_and_profiles() {
    let p = project();
    let o = out(creds(p.path()).args(["get", "api_key"]));
    assert_eq!(
        (code(&o), stdout(&o).as_str()),
        (0, "from-dotenv\n"),
        "{}",
        err(&o)
    );
    let o = out(creds(p.path())
        .args(["get", "api_key"])
        .env("APP_API_KEY", "from-env"));
    assert_eq!(stdout(&o), "from-env\n", "the chain's first template wins");
    let o = out(creds(p.path()).args(["get", "direct"]));
    assert_eq!(stdout(&o), format!("{CANARY}\n"));
    let o = out(creds(p.path()).args(["--profile", "other", "get", "api_key"]));
    assert_eq!(stdout(&o), "other-profile\n", "{}", err(&o));
    let o = out(creds(p.path())
        .args(["get", "api_key"])
        .env("CREDS_PROFILE", "other"));
    assert_eq!(stdout(&o), "other-profile\n");
    let o = out(creds(p.path()).args(["--profile", "nope", "get", "api_key"]));
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("no profile `nope`"), "{}", err(&o));
    let o = out(creds(p.path()).args(["get", "unknown_name"]));
    assert_eq!(code(&o), 3, "{}", err(&o));
    // --config and $CREDS_CONFIG from elsewhere.
    let elsewhere = tempfile::tempdir().unwrap();
    let cfg = p.path().join("creds.toml");
    let o = out(creds(elsewhere.path()).args(["--config", cfg.to_str().unwrap(), "get", "direct"]));
    assert_eq!(
        code(&o),
        3,
        "the .env is relative to the working directory: {}",
        err(&o)
    );
    let o = out(creds(elsewhere.path())
        .args(["get", "api_key"])
        .env("CREDS_CONFIG", &cfg)
        .env("APP_API_KEY", "x"));
    assert_eq!(stdout(&o), "x\n", "{}", err(&o));
}

#[test]
fn bad_files_and_strict_profiles_are_refused_with_lines() {
    let p = project();
    let o = out(creds(p.path()).args(["--profile", "prod", "get", "api_key"]));
    assert_eq!(code(&o), 2, "{}", err(&o));
    let e = err(&o);
    assert!(
        e.contains("strict")
            && e.contains("line 10")
            && e.contains("env://APP_{NAME}")
            && e.contains("line 16"),
        "{e}"
    );
    std::fs::write(
        p.path().join("bad.toml"),
        "[profiles.dev]\nchain = []\npolicy = \"strict\"\nchian = 1\n",
    )
    .unwrap();
    let o = out(creds(p.path()).args(["--config", "bad.toml", "get", "x"]));
    assert_eq!(code(&o), 2);
    assert!(
        err(&o).contains("line 4") && err(&o).contains("chian"),
        "{}",
        err(&o)
    );
    let o = out(creds(p.path()).args(["--config", "missing.toml", "get", "x"]));
    assert_eq!(code(&o), 2);
}

#[test]
fn run_injects_declared_secrets() {
    let p = project();
    let o = out(creds(p.path())
        .args(["run", "--env", "EXTRA=direct", "--"])
        .args(["sh", "-c", "printf '%s|%s|%s|%s|%s' \"$API_KEY\" \"$DATABASE_PASSWORD\" \"$DIRECT\" \"$EXTRA\" \"${MAYBE-unset}\""]));
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert_eq!(
        stdout(&o),
        format!("from-dotenv|has \"quotes\", $HOME and spaces|{CANARY}|{CANARY}|unset")
    );
    assert!(!err(&o).contains(CANARY));
    // A required secret that fails: the program does not start.
    std::fs::write(p.path().join(".env"), "APP_API_KEY=x\n").unwrap();
    let o = out(creds(p.path()).args(["run", "--", "sh", "-c", "touch started"]));
    assert_eq!(code(&o), 3, "{}", err(&o));
    assert!(!p.path().join("started").exists());
}

#[test]
fn export_in_every_format() {
    let p = project();
    let o = out(creds(p.path()).args(["export"]));
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(err(&o).contains("warning"));
    let text = stdout(&o);
    assert!(text.contains("API_KEY=\"from-dotenv\"\n"), "{text}");
    assert!(text.contains(&format!("DIRECT=\"{CANARY}\"\n")), "{text}");
    assert!(!text.contains("MAYBE"), "optional and missing: left out");
    let o = out(creds(p.path()).args(["export", "--format", "json"]));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["DATABASE_PASSWORD"], "has \"quotes\", $HOME and spaces");
    // The shell form evaluates back to the same values; so does the dotenv form.
    let o = out(creds(p.path()).args(["export", "--format", "shell"]));
    let script = format!("{}\nprintf '%s' \"$DATABASE_PASSWORD\"", stdout(&o));
    let sh = Command::new("sh").args(["-c", &script]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&sh.stdout),
        "has \"quotes\", $HOME and spaces"
    );
    let o = out(creds(p.path()).args(["export", "--format", "dotenv"]));
    std::fs::write(p.path().join("exported.env"), &o.stdout).unwrap();
    let o = out(creds(p.path()).args(["get", "dotenv://DATABASE_PASSWORD?path=exported.env"]));
    assert_eq!(
        stdout(&o),
        "has \"quotes\", $HOME and spaces\n",
        "{}",
        err(&o)
    );
}

#[test]
fn check_never_prints_values() {
    let p = project();
    let o = out(creds(p.path()).args(["check"]));
    assert_eq!(code(&o), 0, "{}", err(&o));
    let table = stdout(&o);
    assert!(table.starts_with("NAME"), "{table}");
    assert!(
        table.contains("direct") && table.contains("dotenv"),
        "{table}"
    );
    assert!(table.contains("missing (optional)"), "{table}");
    assert!(!table.contains(CANARY) && !err(&o).contains(CANARY));
    let o = out(creds(p.path()).args(["check", "--format", "json"]));
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 4);
    assert!(!stdout(&o).contains(CANARY));
    std::fs::write(p.path().join(".env"), "APP_API_KEY=x\n").unwrap();
    let o = out(creds(p.path()).args(["check"]));
    assert_eq!(code(&o), 3, "a required secret is missing");
}

fn set(dir: &Path, reference: &str, value: &[u8]) -> Output {
    let mut child = creds(dir)
        .args(["set", reference])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(value).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn set_writes_stdin_to_writable_stores() {
    let p = project();
    // Not writable: the environment.
    let o = set(p.path(), "env://X", b"v");
    assert_eq!(code(&o), 1, "{}", err(&o));
    assert!(err(&o).contains("cannot be written"));
    let o = set(p.path(), "nope://x", b"v");
    assert_eq!(code(&o), 2);
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        let service = format!("creds-cli-set-{}", std::process::id());
        let o = set(
            p.path(),
            &format!("keyring://{service}/token"),
            format!("{CANARY}\n").as_bytes(),
        );
        assert_eq!(code(&o), 0, "{}", err(&o));
        assert!(!err(&o).contains(CANARY));
        let st = Command::new("secret-tool")
            .args(["lookup", "service", &service, "username", "token"])
            .output()
            .unwrap();
        assert_eq!(st.stdout, CANARY.as_bytes(), "one trailing newline removed");
    }
    if std::env::var_os("AWS_ENDPOINT_URL").is_some()
        && let Ok(python) = std::env::var("CREDS_TEST_PYTHON")
    {
        let name = format!("creds-cli-set-{}", std::process::id());
        assert_eq!(
            code(&set(
                p.path(),
                &format!("aws-sm://{name}"),
                br#"{"user":"u","password":"old"}"#
            )),
            0
        );
        let o = set(p.path(), &format!("aws-sm://{name}#password"), b"new\n");
        assert_eq!(code(&o), 0, "{}", err(&o));
        let py = Command::new(python)
            .args(["-c", "import boto3, sys; print(boto3.client('secretsmanager').get_secret_value(SecretId=sys.argv[1])['SecretString'], end='')", &name])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&py.stdout).unwrap();
        assert_eq!(v, serde_json::json!({"user": "u", "password": "new"}));
    }
    if std::env::var_os("VAULT_ADDR").is_some()
        && let Ok(python) = std::env::var("CREDS_TEST_PYTHON")
    {
        let path = format!("creds-cli-set-{}", std::process::id());
        let o = set(
            p.path(),
            &format!("vault://secret/{path}#password"),
            b"from-creds",
        );
        assert_eq!(code(&o), 0, "{}", err(&o));
        let bao = std::path::PathBuf::from(python).with_file_name("bao");
        let got = Command::new(bao)
            .args(["kv", "get", "-mount=secret", "-field=password", &path])
            .env("BAO_ADDR", std::env::var("VAULT_ADDR").unwrap())
            .env("BAO_TOKEN", "root")
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&got.stdout).trim(), "from-creds");
    }
}

#[test]
fn export_round_trips_hostile_values_and_never_emits_code() {
    // Values that a careless quoting would run or cut: quotes, command substitution, backticks,
    // backslashes, newlines, comment and assignment signs. `eval` of the shell form and a read
    // of the dotenv form give each value back, and nothing runs.
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let values = [
        format!(
            "it's $(touch {}) `touch {}`",
            marker.display(),
            marker.display()
        ),
        "back\\slash \\n \\' \\\" end\\".to_string(),
        "two\nlines\n".to_string(),
        "# not a comment = not a key ; && || > <".to_string(),
        "  spaces  \t and ${HOME} and $$ \u{1F511}".to_string(),
    ];
    let mut toml = String::from("[secrets]\n");
    for i in 0..values.len() {
        toml.push_str(&format!("v{i} = {{ ref = \"env://CREDS_T_V{i}\" }}\n"));
    }
    std::fs::write(dir.path().join("creds.toml"), toml).unwrap();
    let with_values = |cmd: &mut Command| {
        for (i, v) in values.iter().enumerate() {
            cmd.env(format!("CREDS_T_V{i}"), v);
        }
    };
    let mut cmd = creds(dir.path());
    cmd.args(["export", "--format", "shell"]);
    with_values(&mut cmd);
    let o = out(&mut cmd);
    assert_eq!(code(&o), 0, "{}", err(&o));
    for (i, v) in values.iter().enumerate() {
        let script = format!("eval \"$1\"; printf '%s' \"$V{i}\"");
        let sh = Command::new("sh")
            .args(["-c", &script, "sh", &stdout(&o)])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&sh.stdout),
            *v,
            "shell form of v{i}"
        );
    }
    assert!(!marker.exists(), "the shell form ran a command");

    let mut cmd = creds(dir.path());
    cmd.args(["export", "--format", "dotenv"]);
    with_values(&mut cmd);
    let o = out(&mut cmd);
    assert_eq!(code(&o), 0, "{}", err(&o));
    std::fs::write(dir.path().join("exported.env"), &o.stdout).unwrap();
    for (i, v) in values.iter().enumerate() {
        let o =
            out(creds(dir.path()).args(["get", "-n", &format!("dotenv://V{i}?path=exported.env")]));
        assert_eq!(stdout(&o), *v, "dotenv form of v{i}: {}", err(&o));
    }

    // A variable name that is shell text is refused when the file loads; the shell form refuses
    // any name that is not a shell name, wherever it came from.
    for env in ["A B; touch ran #", "A=B", "1ST", "", "PÄSS"] {
        std::fs::write(
            dir.path().join("creds.toml"),
            format!("[secrets]\nx = {{ ref = \"env://CREDS_T_V0\", env = {env:?} }}\n"),
        )
        .unwrap();
        let o = out(creds(dir.path()).args(["export", "--format", "shell"]));
        assert_eq!(code(&o), 2, "{env:?}: {}", err(&o));
        assert!(err(&o).contains("not a variable name"), "{}", err(&o));
    }
    std::fs::write(
        dir.path().join("creds.toml"),
        "default-profile = \"p\"\n[profiles.p]\nimport = [\"env://CREDS_T_J\"]\n",
    )
    .unwrap();
    let o = out(creds(dir.path())
        .args(["export", "--format", "shell"])
        .env("CREDS_T_J", r#"{"1st":"w"}"#));
    assert_eq!(code(&o), 2, "{}", err(&o));
    assert!(
        err(&o).contains("\"1ST\" is not a shell variable name"),
        "{}",
        err(&o)
    );
    assert!(o.stdout.is_empty());
}
