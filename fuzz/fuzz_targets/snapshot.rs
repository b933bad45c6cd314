#![no_main]
// `cargo fuzz run snapshot`; the check is edgewise_fuzz::targets::snapshot (fuzz/src/targets.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| edgewise_fuzz::targets::snapshot(data));
