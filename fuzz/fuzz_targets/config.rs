//! The `creds.toml` loader: any text loads or gives a configuration error; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(config) = creds::config::Config::parse(text) {
        let _ = config.profile(None);
        for (name, decl) in config.secrets() {
            let _ = creds::config::Config::env_name(name, decl);
        }
    }
});
