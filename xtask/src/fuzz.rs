//! `cargo xtask fuzz --time SECONDS [TARGET…]`: runs each cargo-fuzz target (all by default) for
//! the given time. cargo-fuzz is installed when missing; the stable compiler is used with
//! `RUSTC_BOOTSTRAP=1` for the sanitizer flags libFuzzer needs.
//!
//! Each run starts from the corpus the earlier runs left under `TARGET_DIR/fuzz/corpus/TARGET/`
//! (new inputs are written there, not into the repository), the committed seeds of
//! `fuzz/seeds/TARGET/` and the dictionary `fuzz/dict/TARGET.dict` where there is one. The summary
//! gives each target's executions and coverage. A crash leaves its input under
//! `fuzz/artifacts/TARGET/`: fix the cause, then copy the input into `fuzz/regressions/TARGET/`.
//! Each target's check lives in `fuzz/oracles/`, shared with the normal suite, which runs every
//! seed and regression input through it in `cargo xtask ci` (`tests/tests/fuzz_regressions.rs`,
//! and creds-cli's redact tests); the runs here read those inputs too.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::{Result, root, run, target_dir};

const TARGETS: &[&str] = &["reference", "selector", "config", "dotenv", "redact"];

pub(crate) fn fuzz(args: &[String]) -> Result<()> {
    let mut seconds = 60u64;
    let mut targets = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--time" => {
                seconds = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--time takes a number of seconds")?;
            }
            t if TARGETS.contains(&t) => targets.push(t),
            other => {
                return Err(format!(
                    "unknown fuzz argument `{other}` (targets: {})",
                    TARGETS.join(", ")
                ));
            }
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    let have = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !have {
        run(Command::new("cargo").args([
            "install",
            "--locked",
            "cargo-fuzz",
            "--version",
            "0.13.2",
        ]))?;
    }
    let mut lines = Vec::new();
    for t in targets {
        let started = Instant::now();
        let result = fuzz_one(t, seconds);
        let secs = started.elapsed().as_secs_f64();
        let line = match &result {
            Ok(stats) => format!("fuzz: {t:<10} ok      {secs:.0}s, no crash; {stats}"),
            Err(e) => format!("fuzz: {t:<10} FAILED  {e} (inputs under fuzz/artifacts/{t}/)"),
        };
        eprintln!("{line}");
        lines.push((line, result.is_ok()));
    }
    eprintln!("\n---- fuzz summary ----");
    for (l, _) in &lines {
        eprintln!("{l}");
    }
    if lines.iter().all(|(_, ok)| *ok) {
        Ok(())
    } else {
        Err("a fuzz target found a crash".into())
    }
}

/// Runs one target, passing libFuzzer's output through; returns its last status line
/// (executions, coverage, corpus size).
fn fuzz_one(target: &str, seconds: u64) -> Result<String> {
    let fuzz = root().join("fuzz");
    let corpus = target_dir().join("fuzz").join("corpus").join(target);
    std::fs::create_dir_all(&corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
    let mut cmd = Command::new("cargo");
    cmd.args(["fuzz", "run", target])
        .arg(&corpus)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_TARGET_DIR", target_dir().join("fuzz"))
        .current_dir(&fuzz)
        .stderr(Stdio::piped());
    // Read-only corpora: libFuzzer writes new inputs into the first directory only.
    for dir in ["seeds", "regressions"] {
        let inputs = fuzz.join(dir).join(target);
        if inputs.is_dir() {
            cmd.arg(&inputs);
        }
    }
    cmd.arg("--").arg(format!("-max_total_time={seconds}"));
    let dict = fuzz.join("dict").join(format!("{target}.dict"));
    if dict.is_file() {
        cmd.arg(format!("-dict={}", dict.display()));
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run cargo fuzz: {e}"))?;
    let mut last = String::new();
    let mut runs = String::new();
    if let Some(err) = child.stderr.take() {
        for line in BufReader::new(err).lines().map_while(std::io::Result::ok) {
            eprintln!("{line}");
            if line.starts_with('#') && line.contains("cov:") {
                last = line
                    .split_whitespace()
                    .skip(2)
                    .collect::<Vec<_>>()
                    .join(" ");
            } else if let Some(done) = line.strip_prefix("Done ") {
                runs = done.to_string();
            }
        }
    }
    let status = child.wait().map_err(|e| format!("cargo fuzz: {e}"))?;
    if status.success() {
        Ok(format!("{runs}; {last}"))
    } else {
        Err(format!("cargo fuzz exited with {status}"))
    }
}
