//! Selectors and JSON pointers on arbitrary values: the first line is the selector, the rest the
//! value. Never a panic; an error never contains the value.
#![no_main]

use creds_core::{Metadata, Reference, Secret};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let Ok(selector) = std::str::from_utf8(&data[..split]) else {
        return;
    };
    let value = data.get(split + 1..).unwrap_or_default().to_vec();
    let Ok(r) = Reference::parse(&format!("env://X#{selector}")) else {
        return;
    };
    let Some(sel) = r.selector() else { return };
    let secret = Secret::new(value.clone(), Metadata::default());
    if let Err(e) = creds_core::apply_selector(&secret, sel) {
        // Errors name the selector (the caller's own text): every rendering of it is cut out of
        // the error first (a value may overlap a rendering and the quotes around it), then the
        // value must not be in what is left.
        let plain = [selector.to_string(), format!("{sel}"), format!("#{sel}")];
        let mut renderings: Vec<String> = plain
            .iter()
            .flat_map(|r| [r.clone(), format!("{r:?}").trim_matches('"').to_string()])
            .collect();
        renderings.sort_by_key(|r| std::cmp::Reverse(r.len()));
        if value.len() >= 8
            && let Ok(v) = std::str::from_utf8(&value)
            && !renderings.iter().any(|r| r.contains(v))
        {
            let mut text = format!("{e} {e:?}");
            for r in renderings.iter().filter(|r| !r.is_empty()) {
                text = text.replace(r.as_str(), "\u{0}");
            }
            assert!(!text.contains(v), "an error quoted the value");
        }
    }
});
