//! Shared fixtures for the integration tests.
#![allow(dead_code)]

pub mod tc;

use std::path::PathBuf;

use edgewise::{EngineConfig, PropensityModel};

pub const T0: f64 = 1_700_000_000_000.0;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `(manifest JSON, ONNX bytes)` of a model: `models/NAME` or `tests/fixtures/models/NAME`.
pub fn model_files(name: &str) -> (String, Vec<u8>) {
    for dir in ["models", "tests/fixtures/models"] {
        let base = root().join(dir).join(name);
        if let (Ok(m), Ok(b)) = (
            std::fs::read_to_string(base.with_extension("json")),
            std::fs::read(base.with_extension("onnx")),
        ) {
            return (m, b);
        }
    }
    panic!("no model {name} in models/ or tests/fixtures/models/ (run `make models`)");
}

/// A model by name: from its .onnx (builds that read ONNX) or from the compiled
/// `models/NAME.ewm.json` that `make models` writes (the lite build).
pub fn load(name: &str) -> PropensityModel {
    #[cfg(not(feature = "onnx"))]
    {
        let path = root().join("models").join(format!("{name}.ewm.json"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return PropensityModel::load_compiled(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    #[allow(unreachable_code)]
    let (m, b) = model_files(name);
    PropensityModel::load(&m, &b).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The storefront config used by the demo and the JS tests.
pub fn demo_config() -> EngineConfig {
    let text = std::fs::read_to_string(root().join("www/demo/config.json")).unwrap();
    EngineConfig::from_json(&text).unwrap()
}
