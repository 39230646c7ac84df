//! Selectors and JSON pointers on arbitrary values: the first line is the selector, the rest the
//! value. Never a panic; an error never contains the value.
#![no_main]

use creds_core::{Metadata, Reference, Secret};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let Ok(selector) = std::str::from_utf8(&data[..split]) else { return };
    let value = data.get(split + 1..).unwrap_or_default().to_vec();
    let Ok(r) = Reference::parse(&format!("env://X#{selector}")) else { return };
    let Some(sel) = r.selector() else { return };
    let secret = Secret::new(value.clone(), Metadata::default());
    if let Err(e) = creds_core::apply_selector(&secret, sel) {
        // Errors name the selector (the caller's own text): a value that is part of any rendering
        // of the selector is not checked; any other value must not be in the error.
        let shown = format!("#{sel}");
        let renderings = [selector.to_string(), shown.clone(), format!("{shown:?}")];
        if value.len() >= 8
            && let Ok(v) = std::str::from_utf8(&value)
            && !renderings.iter().any(|r| r.contains(v))
        {
            let text = format!("{e} {e:?}");
            assert!(!text.contains(v), "an error quoted the value");
        }
    }
});
