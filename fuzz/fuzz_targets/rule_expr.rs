#![no_main]
// `cargo fuzz run rule_expr`; the check is edgewise_fuzz::targets::rule_expr (fuzz/src/targets.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| edgewise_fuzz::targets::rule_expr(data));
