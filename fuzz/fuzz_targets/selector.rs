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
        let text = format!("{e} {e:?}");
        // Errors name the selector (the caller's own text, percent-encoded where needed), so
        // only a value that is not part of the selector must stay out of them.
        if value.len() >= 8
            && let Ok(v) = std::str::from_utf8(&value)
            && !selector.contains(v)
            && !sel.to_string().contains(v)
        {
            assert!(!text.contains(v), "an error quoted the value");
        }
    }
});
