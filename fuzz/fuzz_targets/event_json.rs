#![no_main]
// `cargo fuzz run event_json`; the check is edgewise_fuzz::targets::event_json (fuzz/src/targets.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| edgewise_fuzz::targets::event_json(data));
