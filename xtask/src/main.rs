//! Project automation.
//!
//! - `cargo xtask ci`: installs what is missing (Debian packages, a Python venv with moto and
//!   OpenBao, cargo-deny), starts moto, OpenBao and a private D-Bus session with an unlocked
//!   gnome-keyring, runs fmt, clippy (the workspace, then the fuzz targets), the tests (under a
//!   fresh kernel session keyring), cargo-deny and rustdoc, then stops every service it started,
//!   also on failure. One summary line per step.
//! - `cargo xtask bench`: runs the criterion benchmarks (with the services, as `ci` starts them)
//!   and prints one `name: value` line per headline figure.
//! - `cargo xtask fuzz --time SECONDS [TARGET…]`: runs the cargo-fuzz targets of `fuzz/` (not part
//!   of `ci`, which checks that they compile and replays their seeds and regression inputs).
//! - `cargo xtask services -- CMD ARGS…`: the same services around any command (for example
//!   `cargo xtask services -- cargo test -p creds-local`).
//!
//! Environment: `CREDS_CACHE_DIR` (default `$CARGO_TARGET_DIR/xtask` or `target/xtask`) holds the
//! venv and the services' state.

mod bench;
mod fuzz;
mod services;
mod tools;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use services::Services;

type Result<T, E = String> = std::result::Result<T, E>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("services") => with_services(&args[1..]),
        Some("bench") => bench::bench(),
        Some("fuzz") => fuzz::fuzz(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask ci\n       cargo xtask services -- CMD [ARGS...]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root. `cargo run` sets `CARGO_MANIFEST_DIR` at run time too; that value wins
/// over the one compiled in, so a binary built from another checkout sharing the target directory
/// still works on this one.
pub(crate) fn root() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    Path::new(&manifest)
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// The cargo target directory.
pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Where the venv and service state live.
pub(crate) fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CREDS_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    target_dir().join("xtask")
}

struct Summary {
    lines: Vec<String>,
    started: Instant,
}

impl Summary {
    fn new() -> Self {
        Summary {
            lines: Vec::new(),
            started: Instant::now(),
        }
    }

    /// Runs one step, prints and records its summary line.
    fn step(&mut self, name: &str, f: impl FnOnce() -> Result<String>) -> Result<()> {
        eprintln!("==> {name}");
        let t = Instant::now();
        let result = f();
        let secs = t.elapsed().as_secs_f64();
        let line = match &result {
            Ok(note) if note.is_empty() => format!("ci: {name:<10} ok      {secs:7.1}s"),
            Ok(note) => format!("ci: {name:<10} ok      {secs:7.1}s  {note}"),
            Err(e) => format!("ci: {name:<10} FAILED  {secs:7.1}s  {e}"),
        };
        eprintln!("{line}");
        self.lines.push(line);
        result.map(|_| ())
    }

    fn print(&self) {
        eprintln!("\n---- summary ----");
        for line in &self.lines {
            eprintln!("{line}");
        }
        eprintln!("ci: total {:.1}s", self.started.elapsed().as_secs_f64());
    }
}

fn ci() -> Result<()> {
    let mut summary = Summary::new();
    let result = ci_steps(&mut summary);
    summary.print();
    result
}

fn ci_steps(summary: &mut Summary) -> Result<()> {
    let root = root();
    summary.step("packages", tools::ensure_system_packages)?;
    let venv = tools::venv_dir();
    summary.step("venv", || tools::ensure_venv(&venv))?;
    summary.step("cargo-deny", tools::ensure_cargo_deny)?;
    summary.step("features", || features_isolated(&root))?;
    summary.step("fmt", || {
        run(Command::new("cargo")
            .args(["fmt", "--all", "--", "--check"])
            .current_dir(&root))
    })?;
    summary.step("clippy", || {
        run(Command::new("cargo")
            .args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ])
            .current_dir(&root))
    })?;

    // The fuzz targets are outside the workspace (cargo fuzz builds them with sanitizer flags);
    // they must still compile against today's API, and `redact` compiles the CLI's own source.
    summary.step("fuzz-build", || {
        run(Command::new("cargo")
            .args(["clippy", "--quiet", "--bins", "--", "-D", "warnings"])
            .env("CARGO_TARGET_DIR", target_dir().join("fuzz-check"))
            .current_dir(root.join("fuzz")))
    })?;

    let mut services = None;
    summary.step("services", || {
        let s = Services::start(&venv)?;
        let note = s.describe();
        services = Some(s);
        Ok(note)
    })?;
    let services = services.expect("started");
    let tested = summary.step("test", || {
        let mut cmd = Command::new("keyctl");
        cmd.args([
            "session",
            "-",
            "cargo",
            "test",
            "--workspace",
            "--all-features",
            "--no-fail-fast",
        ])
        .current_dir(&root);
        services.apply_env(&mut cmd);
        run(&mut cmd)
    });
    drop(services); // stops every service, before the remaining steps.
    tested?;

    summary.step("deny", || {
        run(Command::new("cargo")
            .args(["deny", "check", "bans", "licenses", "sources"])
            .current_dir(&root))?;
        tools::deny_advisories(&root)
    })?;
    summary.step("doc", || {
        run(Command::new("cargo")
            .args(["doc", "--workspace", "--all-features", "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings")
            .current_dir(&root))
    })?;
    Ok(())
}

/// Each cloud feature of `creds` compiles only its own backend: checked on `cargo tree`.
fn features_isolated(root: &Path) -> Result<String> {
    let families: [(&str, &[&str]); 4] = [
        ("aws", &["aws-sdk-", "creds-aws"]),
        ("vault", &["vaultrs", "creds-vault"]),
        ("azure", &["azure_", "creds-azure"]),
        ("gcp", &["google-cloud-", "creds-gcp"]),
    ];
    let tree = |features: &str| -> Result<String> {
        let out = Command::new("cargo")
            .args([
                "tree",
                "-p",
                "creds",
                "-e",
                "normal",
                "--prefix",
                "none",
                "--no-default-features",
            ])
            .args(["--features", features])
            .current_dir(root)
            .output()
            .map_err(|e| format!("cannot run cargo tree: {e}"))?;
        if !out.status.success() {
            return Err(format!("cargo tree --features {features} failed"));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    for (feature, own) in families {
        let text = tree(feature)?;
        for (other, markers) in families {
            let present = text
                .lines()
                .any(|l| markers.iter().any(|m| l.starts_with(m)));
            if other == feature && !present {
                return Err(format!(
                    "feature {feature} does not bring in its own backend"
                ));
            }
            if other != feature && present {
                return Err(format!("feature {feature} brings in the {other} backend"));
            }
        }
        let _ = own;
    }
    let default = tree("local")?
        .lines()
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let files = tree("local-files")?
        .lines()
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    // The workspace build unifies features: check that the small crates also compile with
    // only what they declare (a user who embeds creds-local alone gets exactly that).
    for args in [
        &["check", "-q", "-p", "creds-local", "--no-default-features"][..],
        &["check", "-q", "-p", "creds"][..],
    ] {
        run(Command::new("cargo").args(args).current_dir(root))
            .map_err(|e| format!("`cargo {}` failed: {e}", args.join(" ")))?;
    }
    Ok(format!(
        "each cloud alone; local: {default} crates, local-files: {files}; creds-local and creds build alone"
    ))
}

fn with_services(args: &[String]) -> Result<()> {
    let args = match args.first().map(String::as_str) {
        Some("--") => &args[1..],
        _ => args,
    };
    let Some((program, rest)) = args.split_first() else {
        return Err("usage: cargo xtask services -- CMD [ARGS...]".into());
    };
    tools::ensure_system_packages()?;
    let venv = tools::venv_dir();
    tools::ensure_venv(&venv)?;
    let services = Services::start(&venv)?;
    eprintln!("xtask: {}", services.describe());
    let mut cmd = Command::new("keyctl");
    cmd.args(["session", "-", program]).args(rest);
    services.apply_env(&mut cmd);
    run(&mut cmd).map(|_| ())
}

/// Runs a command to completion, inheriting stdio; an error names it and its status.
pub(crate) fn run(cmd: &mut Command) -> Result<String> {
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    if status.success() {
        Ok(String::new())
    } else {
        Err(format!("{:?} exited with {status}", cmd.get_program()))
    }
}

/// Whether a program is on PATH.
pub(crate) fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program} >/dev/null 2>&1")])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}
