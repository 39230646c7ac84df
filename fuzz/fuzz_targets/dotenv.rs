//! `.env` parsing: any bytes give a value, nothing, or a decode error that does not quote the
//! file; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new(".env");
    if let Err(e) = creds_local::dotenv_lookup(data, "KEY", path) {
        assert_eq!(e.kind(), creds_core::ErrorKind::Decode);
    }
});
