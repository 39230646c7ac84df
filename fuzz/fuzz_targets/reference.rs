//! The reference parser: any text either parses to a reference whose `Display` parses back to
//! the same reference, or gives an invalid-reference error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match creds_core::Reference::parse(text) {
        Ok(r) => {
            let shown = r.to_string();
            let again = creds_core::Reference::parse(&shown).expect("Display parses back");
            assert_eq!(again, r, "round trip of {shown}");
        }
        Err(e) => assert_eq!(e.kind(), creds_core::ErrorKind::InvalidReference),
    }
});
