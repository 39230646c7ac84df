//! The fuzz targets' checks (`fuzz/oracles/parsers.rs`) on every committed input: the seeds of
//! `fuzz/seeds/TARGET/` and the inputs that once failed, kept in `fuzz/regressions/TARGET/`. A
//! crash found by `cargo xtask fuzz` is fixed, then its input is added there, so it stays fixed
//! in `cargo xtask ci` without a fuzzer. (The `redact` target's inputs are run by creds-cli's
//! tests, where its redactor lives.)

use std::path::{Path, PathBuf};

#[path = "../../fuzz/oracles/parsers.rs"]
mod parsers;

fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut files = Vec::new();
    for dir in ["seeds", "regressions"] {
        if let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) {
            files.extend(entries.map(|e| e.unwrap().path()));
        }
    }
    files.sort();
    assert!(!files.is_empty(), "no committed inputs for {target}");
    files
}

fn replay(target: &str, check: fn(&[u8])) {
    for file in inputs(target) {
        let data = std::fs::read(&file).unwrap();
        // A failing check names the input file in the test output.
        eprintln!("{target}: {}", file.display());
        check(&data);
    }
}

#[test]
fn reference_inputs() {
    replay("reference", parsers::reference);
}

#[test]
fn selector_inputs() {
    replay("selector", parsers::selector);
}

#[test]
fn config_inputs() {
    replay("config", parsers::config);
}

#[test]
fn dotenv_inputs() {
    replay("dotenv", parsers::dotenv);
}
