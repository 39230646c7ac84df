//! The checks of the parser fuzz targets, one function per target, each taking the fuzzer's raw
//! bytes. Included (`#[path]`) by the targets in `fuzz/fuzz_targets/` and by the normal test
//! suite (`tests/tests/fuzz_regressions.rs`), which runs every committed seed and regression
//! input through them, so a crash found by fuzzing stays fixed without a fuzzer.
#![allow(dead_code)]

use creds::{ErrorKind, Metadata, Reference, Secret};

/// The reference parser: any text either parses to a reference whose `Display` parses back to
/// the same reference, or gives an invalid-reference error.
pub(crate) fn reference(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Reference::parse(text) {
        Ok(r) => {
            let shown = r.to_string();
            let again = Reference::parse(&shown).expect("Display parses back");
            assert_eq!(again, r, "round trip of {shown}");
        }
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidReference),
    }
}

/// Selectors and JSON pointers on arbitrary values: the first line is the selector, the rest the
/// value. Never a panic; an error never contains the value.
pub(crate) fn selector(data: &[u8]) {
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
    if let Err(e) = creds::apply_selector(&secret, sel) {
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
}

/// The `creds.toml` loader: any text loads or gives a configuration error; never a panic.
pub(crate) fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match creds::config::Config::parse(text) {
        Ok(config) => {
            let _ = config.profile(None);
            for (name, decl) in config.secrets() {
                let _ = creds::config::Config::env_name(name, decl);
            }
        }
        Err(e) => assert_eq!(e.kind(), ErrorKind::Config),
    }
}

/// `.env` parsing: any bytes give a value, nothing, or a decode error; never a panic.
pub(crate) fn dotenv(data: &[u8]) {
    let path = std::path::Path::new(".env");
    if let Err(e) = creds::local::dotenv_lookup(data, "KEY", path) {
        assert_eq!(e.kind(), ErrorKind::Decode);
    }
}
