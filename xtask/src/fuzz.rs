//! `cargo xtask fuzz --time SECONDS [TARGET…]`: runs each cargo-fuzz target (all by default) for
//! the given time. cargo-fuzz is installed when missing; the stable compiler is used with
//! `RUSTC_BOOTSTRAP=1` for the sanitizer flags libFuzzer needs. A crash leaves its input under
//! `fuzz/artifacts/TARGET/`; turn it into a regression test in the normal suite.

use std::process::Command;
use std::time::Instant;

use crate::{Result, root, run, target_dir};

const TARGETS: &[&str] = &["reference", "selector", "config", "dotenv"];

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
        let result = run(Command::new("cargo")
            .args([
                "fuzz",
                "run",
                t,
                "--",
                &format!("-max_total_time={seconds}"),
            ])
            .env("RUSTC_BOOTSTRAP", "1")
            .env("CARGO_TARGET_DIR", target_dir().join("fuzz"))
            .current_dir(root().join("fuzz")));
        let line = match &result {
            Ok(_) => format!(
                "fuzz: {t:<10} ok      {:.0}s, no crash",
                started.elapsed().as_secs_f64()
            ),
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
