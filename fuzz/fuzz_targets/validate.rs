//! Fuzz the parser, the validator (both modes), the locator and the PATCH merge with
//! arbitrary bytes: none may panic, and a valid document must survive a round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_validate::{Mode, Options, Validator};

fuzz_target!(|data: &[u8]| {
    let v = Validator::new(switchboard_catalog::Catalog::builtin());
    for mode in [Mode::Lenient, Mode::Strict] {
        let opts = Options { mode, ..Options::default() };
        if let Ok((flow, report)) = v.validate_slice(data, &opts) {
            let value: serde_json::Value = match serde_json::from_slice(data) {
                Ok(v) => v,
                Err(_) => continue,
            };
            if let Ok(text) = std::str::from_utf8(data) {
                for d in &report.diagnostics {
                    let _ = switchboard_flow::locate::locate(text, &d.path);
                }
            }
            if report.is_valid() {
                let again: serde_json::Value = serde_json::to_value(&flow).unwrap();
                assert_eq!(again, value);
            }
            if let Ok(patch) = switchboard_flow::FlowPatch::from_value(&value) {
                let _ = switchboard_flow::apply_patch(&value, &patch);
            }
        }
    }
});
