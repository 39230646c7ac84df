//! `.env` parsing: see `dotenv` in `fuzz/oracles/parsers.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../oracles/parsers.rs"]
mod parsers;

fuzz_target!(|data: &[u8]| parsers::dotenv(data));
