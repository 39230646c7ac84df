//! `cargo xtask bench`: runs the benchmarks and prints the headline figures, one `name: value`
//! per line.

use std::process::{Command, Stdio};

use crate::services::Services;
use crate::{Result, root, target_dir, tools};

/// The mean of a criterion benchmark, in ns, from its `estimates.json`.
fn mean_ns(group: &str, id: &str) -> Result<f64> {
    let path = target_dir()
        .join("criterion")
        .join(group)
        .join(id)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    json["mean"]["point_estimate"]
        .as_f64()
        .ok_or_else(|| format!("{}: no mean.point_estimate", path.display()))
}

pub(crate) fn bench() -> Result<()> {
    tools::ensure_system_packages()?;
    let venv = tools::venv_dir();
    tools::ensure_venv(&venv)?;
    let services = Services::start(&venv)?;
    let run_bench = |package: &str, bench: &str| -> Result<String> {
        let mut cmd = Command::new("cargo");
        cmd.args(["bench", "-p", package, "--bench", bench, "--", "--noplot"])
            .current_dir(root())
            .stdout(Stdio::piped());
        services.apply_env(&mut cmd);
        let out = cmd
            .output()
            .map_err(|e| format!("cannot run cargo bench: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        eprintln!("{stdout}");
        if !out.status.success() {
            return Err(format!(
                "cargo bench -p {package} exited with {}",
                out.status
            ));
        }
        Ok(stdout)
    };
    let stdout = run_bench("creds-core", "cache")?;
    run_bench("creds-aws", "cold")?;
    drop(services);
    let c1 = mean_ns("cached_get", "1t")?;
    let c2 = mean_ns("cached_get", "2t")?;
    let b1 = mean_ns("baseline_hashmap", "1t")?;
    let b2 = mean_ns("baseline_hashmap", "2t")?;
    println!("cached_get_1t_ns: {c1:.1}");
    println!("cached_get_2t_ns: {c2:.1}");
    println!("baseline_hashmap_1t_ns: {b1:.1}");
    println!("baseline_hashmap_2t_ns: {b2:.1}");
    println!("cached_get_ratio_vs_baseline: {:.2}", c1 / b1);
    println!("cached_get_2t_ratio_vs_baseline: {:.2}", c2 / b2);
    for line in stdout.lines() {
        if line.starts_with("singleflight_backend_calls_1000:") {
            println!("{line}");
        }
    }
    let creds = mean_ns("cold_get", "creds")?;
    let sdk = mean_ns("cold_get", "sdk")?;
    println!("cold_get_creds_us: {:.1}", creds / 1000.0);
    println!("cold_get_sdk_us: {:.1}", sdk / 1000.0);
    println!("cold_get_ratio_vs_sdk: {:.3}", creds / sdk);
    Ok(())
}
