//! The lite build (no ONNX decoder, no tract): the compiled models `make models` ships give
//! onnxruntime's answers, and ONNX bytes are refused with a code that says what to do.
#![cfg(not(feature = "onnx"))]

mod common;

use edgewise::PropensityModel;

#[test]
fn compiled_shipped_models_match_onnxruntime() {
    let text = std::fs::read_to_string(common::root().join("tests/fixtures/models/reference.json"))
        .unwrap();
    let reference: serde_json::Value = serde_json::from_str(&text).unwrap();
    let inputs: Vec<Vec<f32>> = serde_json::from_value(reference["inputs"].clone()).unwrap();
    for name in ["purchase-lr", "purchase-gbt", "churn-mlp"] {
        let mut m = common::load(name);
        assert_eq!(m.runtime(), "compiled");
        let want: Vec<f64> = serde_json::from_value(reference["outputs"][name].clone()).unwrap();
        for (x, w) in inputs.iter().zip(&want) {
            let p = f64::from(m.predict(x).unwrap());
            assert!((p - w).abs() <= 1e-5, "{name}: lite {p} vs onnxruntime {w}");
        }
    }
}

#[test]
fn onnx_bytes_are_refused_with_advice() {
    let (manifest, bytes) = common::model_files("purchase-lr");
    let e: edgewise::Error = PropensityModel::load(&manifest, &bytes)
        .map(|_| ())
        .unwrap_err()
        .into();
    assert_eq!(e.code(), "model_format_unsupported");
    assert!(e.to_string().contains("compile-model"), "{e}");
}
