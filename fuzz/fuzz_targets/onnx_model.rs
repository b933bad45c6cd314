#![no_main]
// `cargo fuzz run onnx_model`; the check is edgewise_fuzz::targets::onnx_model (fuzz/src/targets.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| edgewise_fuzz::targets::onnx_model(data));
