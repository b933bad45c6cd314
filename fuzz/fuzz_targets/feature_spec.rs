#![no_main]
// `cargo fuzz run feature_spec`; the check is edgewise_fuzz::targets::feature_spec (fuzz/src/targets.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| edgewise_fuzz::targets::feature_spec(data));
