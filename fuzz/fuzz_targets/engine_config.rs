#![no_main]
// `cargo fuzz run engine_config`; the check is edgewise_fuzz::targets::engine_config (fuzz/src/targets.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| edgewise_fuzz::targets::engine_config(data));
