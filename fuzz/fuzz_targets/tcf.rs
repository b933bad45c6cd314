#![no_main]
// `cargo fuzz run tcf`; the check is edgewise_fuzz::targets::tcf (fuzz/src/targets.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| edgewise_fuzz::targets::tcf(data));
