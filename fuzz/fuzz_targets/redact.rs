//! `creds run --redact`: see `fuzz/oracles/redact.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

// The CLI is a binary crate: its redactor is compiled into this target from its source file.
#[path = "../../crates/creds-cli/src/redact.rs"]
mod redact;

#[path = "../oracles/redact.rs"]
mod oracle;

fuzz_target!(|input: oracle::Input| oracle::check(input));
