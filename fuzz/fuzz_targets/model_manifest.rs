#![no_main]
// `cargo fuzz run model_manifest`; the check is edgewise_fuzz::targets::model_manifest (fuzz/src/targets.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| edgewise_fuzz::targets::model_manifest(data));
