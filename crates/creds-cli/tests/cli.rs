//! The `creds` binary end to end: values, exit codes of spec §3, `run` and its environment,
//! status and signals, and that a value never reaches stderr or argv.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const CANARY: &str = "canary-cli-9b7e";

fn creds() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_creds"));
    cmd.env_remove("CREDS_LOG")
        .env_remove("CREDS_CONFIG")
        .env_remove("CREDS_PROFILE");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("creds runs")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited normally")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn get_prints_the_value_and_a_newline() {
    let out = run(creds()
        .args(["get", "env://CREDS_T_KEY"])
        .env("CREDS_T_KEY", CANARY));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(out.stdout, format!("{CANARY}\n").as_bytes());
    assert!(!stderr(&out).contains(CANARY));

    let out = run(creds()
        .args(["get", "-n", "env://CREDS_T_KEY"])
        .env("CREDS_T_KEY", CANARY));
    assert_eq!(out.stdout, CANARY.as_bytes());
}

#[test]
fn get_reads_dotenv_files_and_selectors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "DB='{\"user\":\"app\",\"password\":\"pw\"}'\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("secret"), [0u8, 0xff, b'\n']).unwrap();
    let out = run(creds()
        .args(["get", "dotenv://DB#password"])
        .current_dir(dir.path()));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(out.stdout, b"pw\n");
    // Bytes are printed as they are.
    let out = run(creds()
        .args(["get", "-n", "file://secret"])
        .current_dir(dir.path()));
    assert_eq!(out.stdout, [0u8, 0xff]);
}

#[test]
fn exit_codes_follow_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plain"), CANARY).unwrap();
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["get", "env://CREDS_T_SURELY_UNSET"],
            3,
            "env://CREDS_T_SURELY_UNSET",
        ),
        (&["get", "file://missing"], 3, "file://missing"),
        (&["get", "env://X?bogus=1"], 2, "unknown option `bogus`"),
        (&["get", "nope://x"], 2, "unknown scheme"),
        (&["get", "env://"], 2, "empty locator"),
        (&["get", "env://A%zz"], 2, "percent-escape"),
        (&["get", "api_key"], 2, "logical name"),
        (&["get", "file://plain#field"], 1, "JSON"),
        (&["get"], 2, "REFERENCE"),
        (&["frobnicate"], 2, "frobnicate"),
        (&["run", "--"], 2, ""),
        (
            &["run", "--env", "NOEQUALS", "--", "true"],
            2,
            "NAME=REFERENCE",
        ),
        (
            &["run", "--env", "A=env://CREDS_T_SURELY_UNSET", "--", "true"],
            3,
            "CREDS_T_SURELY_UNSET",
        ),
    ];
    for (args, expected, needle) in cases {
        let out = run(creds().args(*args).current_dir(dir.path()));
        let err = stderr(&out);
        assert_eq!(code(&out), *expected, "{args:?}: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: stderr lacks `{needle}`: {err}"
        );
        assert!(!err.contains(CANARY), "{args:?}: stderr leaked the value");
        if *expected != 0 {
            assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
        }
    }
}

#[test]
fn run_injects_secrets_and_returns_the_status() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("db"), "file-value\n").unwrap();
    std::fs::write(
        dir.path().join("refs.env"),
        "# NAME=REFERENCE\nFROM_FILE=file://db\n\nexport FROM_ENV_FILE=env://CREDS_T_SRC\n",
    )
    .unwrap();
    let out = run(creds()
        .args([
            "run",
            "--env",
            "API_KEY=env://CREDS_T_SRC",
            "--env-file",
            "refs.env",
            "--",
        ])
        .args([
            "sh",
            "-c",
            "printf '%s|%s|%s' \"$API_KEY\" \"$FROM_FILE\" \"$FROM_ENV_FILE\"; exit 7",
        ])
        .env("CREDS_T_SRC", CANARY)
        .current_dir(dir.path()));
    assert_eq!(code(&out), 7, "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{CANARY}|file-value|{CANARY}")
    );
}

#[test]
fn run_does_not_start_the_program_when_a_secret_fails() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(creds()
        .args([
            "run",
            "--env",
            "A=env://CREDS_T_SURELY_UNSET",
            "--env",
            "B=nope://x",
            "--",
        ])
        .args(["sh", "-c", "touch started"])
        .current_dir(dir.path()));
    assert_ne!(code(&out), 0);
    assert!(!dir.path().join("started").exists());
    let out = run(creds()
        .args(["run", "--env", "A=env://CREDS_T_SURELY_UNSET", "--"])
        .args(["sh", "-c", "touch started"])
        .current_dir(dir.path()));
    assert_eq!(code(&out), 3);
    assert!(stderr(&out).contains("CREDS_T_SURELY_UNSET"));
    let out = run(creds().args(["run", "--", "/nonexistent/program"]));
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("/nonexistent/program"));
}

#[test]
fn values_never_reach_argv() {
    // The child reads creds's own command line (its parent's) and its own.
    let out = run(creds()
        .args(["run", "--env", "SECRET=env://CREDS_T_SRC", "--"])
        .args([
            "sh",
            "-c",
            "tr '\\0' ' ' < /proc/$PPID/cmdline; echo; tr '\\0' ' ' < /proc/$$/cmdline",
        ])
        .env("CREDS_T_SRC", CANARY));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let argv = String::from_utf8_lossy(&out.stdout);
    assert!(
        argv.contains("env://CREDS_T_SRC"),
        "read the right process: {argv}"
    );
    assert!(!argv.contains(CANARY), "a value in argv: {argv}");
}

#[test]
fn sigterm_is_forwarded_to_the_program() {
    let mut child = creds()
        .args(["run", "--"])
        .args([
            "sh",
            "-c",
            "trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.05; done",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "got-term");
    let status = wait_with_deadline(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(42));
}

#[test]
fn killed_program_gives_128_plus_signal() {
    let out = run(creds().args(["run", "--", "sh", "-c", "kill -KILL $$"]));
    assert_eq!(code(&out), 128 + 9);
}

fn wait_with_deadline(
    child: &mut std::process::Child,
    deadline: Duration,
) -> std::process::ExitStatus {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            panic!("creds did not exit in time");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn keyring_values_written_by_secret_tool_are_read() {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        assert!(!creds_test_support::services_required());
        eprintln!("skipped: no session bus");
        return;
    }
    let service = format!("creds-cli-{}", std::process::id());
    let mut st = Command::new("secret-tool")
        .args([
            "store",
            "--label=creds cli test",
            "service",
            &service,
            "username",
            "api_key",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    st.stdin
        .take()
        .unwrap()
        .write_all(CANARY.as_bytes())
        .unwrap();
    assert!(st.wait().unwrap().success());
    let out = run(creds().args(["get", &format!("keyring://{service}/api_key")]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(out.stdout, format!("{CANARY}\n").as_bytes());
    let out = run(creds().args(["get", &format!("keyring://{service}/nobody")]));
    assert_eq!(code(&out), 3, "{}", stderr(&out));
}

#[test]
fn help_reads_well() {
    let out = run(creds().arg("--help"));
    assert_eq!(code(&out), 0);
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in ["get", "run", "Exit status"] {
        assert!(text.contains(needle), "{text}");
    }
    let out = run(creds().args(["run", "--help"]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("NAME=REF"));
}

#[test]
fn aws_secrets_manager_reference_through_the_binary() {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        assert!(!creds_test_support::services_required());
        eprintln!("skipped: no moto");
        return;
    }
    // Written with the AWS CLI's Python SDK (boto3, installed with moto), read with creds.
    let Ok(python) = std::env::var("CREDS_TEST_PYTHON") else {
        return;
    };
    let name = format!("creds-cli-aws-{}", std::process::id());
    let mut py = Command::new(python)
        .args(["-c", "import boto3, sys; boto3.client('secretsmanager').create_secret(Name=sys.argv[1], SecretString=sys.stdin.read())", &name])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    py.stdin
        .take()
        .unwrap()
        .write_all(format!(r#"{{"password":"{CANARY}"}}"#).as_bytes())
        .unwrap();
    assert!(py.wait().unwrap().success());
    let out = run(creds().args(["get", &format!("aws-sm://{name}#password")]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(out.stdout, format!("{CANARY}\n").as_bytes());
    let out = run(creds().args(["get", &format!("aws-sm://{name}-missing")]));
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains("aws-sm"));
    let out = run(creds()
        .args([
            "run",
            "--env",
            &format!("DB_PASSWORD=aws-sm://{name}#password"),
            "--",
        ])
        .args(["sh", "-c", "test \"$DB_PASSWORD\" = \"$EXPECTED\""])
        .env("EXPECTED", CANARY));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn redact_replaces_values_split_across_writes() {
    let script = r#"half=${#SECRET}; half=$((half / 2)); printf '%s' "$(printf '%s' "$SECRET" | cut -c1-$half)"; sleep 0.2; printf '%s\n' "$(printf '%s' "$SECRET" | cut -c$((half + 1))-)"; printf 'err: %s\n' "$SECRET" >&2"#;
    let out = run(creds()
        .args([
            "run",
            "--redact",
            "--env",
            "SECRET=env://CREDS_T_SRC",
            "--",
            "sh",
            "-c",
            script,
        ])
        .env("CREDS_T_SRC", CANARY));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[REDACTED:SECRET]\n");
    assert_eq!(stderr(&out), "err: [REDACTED:SECRET]\n");
    // Without --redact the program's output is its own.
    let out = run(creds()
        .args([
            "run",
            "--env",
            "SECRET=env://CREDS_T_SRC",
            "--",
            "sh",
            "-c",
            "printf '%s' \"$SECRET\"",
        ])
        .env("CREDS_T_SRC", CANARY));
    assert_eq!(out.stdout, CANARY.as_bytes());
}

#[test]
fn unavailable_and_rejected_credentials_exit_5_and_4() {
    // Nothing listens on port 1 of loopback: unavailable.
    let out = run(creds()
        .args(["get", "vault://secret/x"])
        .env("VAULT_ADDR", "http://127.0.0.1:1")
        .env("VAULT_TOKEN", "t"));
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert!(stderr(&out).contains("vault://secret/x"));
    // A token OpenBao does not know: rejected credentials.
    let Ok(addr) = std::env::var("VAULT_ADDR") else {
        assert!(!creds_test_support::services_required());
        return;
    };
    let out = run(creds()
        .args(["get", "vault://secret/x"])
        .env("VAULT_ADDR", addr)
        .env("VAULT_TOKEN", "not-a-real-token"));
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(!stderr(&out).contains("not-a-real-token"));
}

#[test]
fn redact_a_value_that_is_a_prefix_of_another() {
    // LONG split after SHORT is whole must become LONG's marker, not SHORT's and LONG's tail;
    // at the end of the stream a held-back prefix of LONG still has SHORT replaced.
    let script = r#"printf '%s' "${LONG%???}"; sleep 0.2; printf '%s\n' "${LONG#"${LONG%???}"}"; printf '%s-' "$SHORT""#;
    let out = run(creds()
        .args([
            "run",
            "--redact",
            "--env",
            "SHORT=env://CREDS_T_SHORT",
            "--env",
            "LONG=env://CREDS_T_LONG",
            "--",
            "sh",
            "-c",
            script,
        ])
        .env("CREDS_T_SHORT", "tok-8f3a")
        .env("CREDS_T_LONG", "tok-8f3a-91c2e7"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "[REDACTED:LONG]\n[REDACTED:SHORT]-"
    );
}

#[test]
fn an_env_file_of_values_is_refused_without_showing_them() {
    // A `.env` (or docker --env-file) handed over where NAME=REFERENCE lines belong: each shape
    // of value is refused with the file, the line and the variable, never the value.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("creds.toml"),
        "default-profile = \"dev\"\n[profiles.dev]\nchain = [\"env://APP_{NAME}\"]\n",
    )
    .unwrap();
    let value = format!("{CANARY}-x9");
    let files = [
        (
            "plain.env",
            format!("API_KEY={value}\n"),
            "plain.env:1: API_KEY",
        ),
        (
            "pem.env",
            format!(
                "OK=env://HOME\nTLS=\"-----BEGIN KEY-----\n{value}+AB/c==\n-----END KEY-----\"\n"
            ),
            "pem.env:2:",
        ),
        ("body.env", format!("{value}+AB/c==\n"), "body.env:1:"),
        ("padded.env", format!("{value}AB==\n"), "padded.env:1:"),
        (
            "dsn.env",
            format!("DATABASE_URL=postgres://app:{value}@db:5432/app\n"),
            "postgres://***@db:5432/app",
        ),
        (
            "token.env",
            format!("HOOK=https://hooks.example.com/x?token={value}\n"),
            "https://hooks.example.com/x?***",
        ),
    ];
    for (file, text, named) in &files {
        std::fs::write(dir.path().join(file), text).unwrap();
        for config in [None, Some("creds.toml")] {
            let mut cmd = creds();
            if let Some(c) = config {
                cmd.args(["--config", c]);
            }
            let out = run(cmd
                .args(["run", "--env-file", file, "--", "true"])
                .current_dir(dir.path()));
            let err = stderr(&out);
            assert!(!err.contains(CANARY), "{file}: {err}");
            assert!([2, 3].contains(&code(&out)), "{file}: {} {err}", code(&out));
            assert!(err.contains(named), "{file} names `{named}`: {err}");
        }
    }
}

#[test]
fn a_local_read_does_no_cloud_work() {
    // Every cloud is compiled into the binary, but reading `env://` (bare, or through a
    // creds.toml that configures Azure) makes no SDK client: at TRACE, every log line is creds'
    // own. (The Azure default credential used to build its HTTP clients at start.)
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("creds.toml"),
        "[secrets]\nx = { ref = \"env://CREDS_T_LOCAL\" }\n[backends.azure]\ncredential = \"managed-identity\"\n",
    )
    .unwrap();
    for args in [
        &["get", "env://CREDS_T_LOCAL"][..],
        &["get", "x"],
        &["run", "--", "true"],
    ] {
        let out = run(creds()
            .args(args)
            .current_dir(dir.path())
            .env("CREDS_LOG", "trace")
            .env("CREDS_T_LOCAL", "v"));
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        let log = stderr(&out);
        assert!(log.contains("creds::access"), "{args:?}: {log}");
        for line in log.lines() {
            let target = line.split_whitespace().nth(2).unwrap_or_default();
            assert!(target.starts_with("creds"), "{args:?}: {line}");
        }
    }
}
