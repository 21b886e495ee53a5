//! The implementations registry parser: any text gives a registry whose
//! every entry passed the field checks, or an error that names the file;
//! never a panic, and the time stays linear in the entries.
#![no_main]

use interop_runner::catalog::registry::Registry;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Registry::from_json(text, "fuzz.json") {
        Ok(r) => {
            for i in &r.implementations {
                assert!(r.get(&i.name).is_some());
                assert!(!i.name.starts_with('-') && i.name != "." && i.name != "..");
            }
        }
        Err(e) => assert!(e.to_string().starts_with("fuzz.json")),
    }
});
