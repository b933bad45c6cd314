//! Model inference, one row at a time (what a decision needs): the edgewise compiler's program
//! against tract running the same ONNX file, in the same process, on the same rows.
//!
//!     cargo bench --bench models
//!
//! Prints one JSON object: per shipped model, ns per call (median of 15 batches) for each
//! engine and the ratio tract / compiled. Both engines must agree within 1e-5 on every row or
//! the bench fails — a fast wrong answer is not a result.
use std::hint::black_box;
use std::time::Instant;

use edgewise::model::Prefer;
use edgewise::{ModelManifest, PropensityModel};

fn rows(n: usize, width: usize) -> Vec<Vec<f32>> {
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|_| {
            (0..width)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    (s >> 40) as f32 / (1u64 << 24) as f32 * 3.0
                })
                .collect()
        })
        .collect()
}

fn ns_per_call(m: &mut PropensityModel, xs: &[Vec<f32>]) -> f64 {
    let mut per_batch = Vec::new();
    // Enough calls per batch for ~20 ms, 15 batches, median.
    let t = Instant::now();
    for x in xs {
        black_box(m.predict(black_box(x)).ok());
    }
    let once = t.elapsed().as_secs_f64() / xs.len() as f64;
    let reps = ((0.02 / once.max(1e-9)) as usize / xs.len()).max(1);
    for _ in 0..15 {
        let t = Instant::now();
        for _ in 0..reps {
            for x in xs {
                black_box(m.predict(black_box(x)).ok());
            }
        }
        per_batch.push(t.elapsed().as_secs_f64() * 1e9 / (reps * xs.len()) as f64);
    }
    per_batch.sort_by(f64::total_cmp);
    per_batch[per_batch.len() / 2]
}

fn main() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut report = serde_json::Map::new();
    for name in ["purchase-lr", "purchase-gbt", "churn-mlp"] {
        let manifest = std::fs::read_to_string(format!("{root}/models/{name}.json")).unwrap();
        let bytes = std::fs::read(format!("{root}/models/{name}.onnx")).unwrap();
        let man = ModelManifest::from_json(&manifest).unwrap();
        let mut compiled =
            PropensityModel::from_manifest_with(man.clone(), &bytes, Prefer::CompiledOnly).unwrap();
        let mut tract = PropensityModel::from_manifest_with(man, &bytes, Prefer::Tract).unwrap();
        let xs = rows(256, compiled.width());
        for x in &xs {
            let (a, b) = (compiled.predict(x).unwrap(), tract.predict(x).unwrap());
            assert!((a - b).abs() <= 1e-5, "{name}: compiled {a} vs tract {b}");
        }
        let c = ns_per_call(&mut compiled, &xs);
        let t = ns_per_call(&mut tract, &xs);
        report.insert(
            name.into(),
            serde_json::json!({
                "compiled_ns": (c * 10.0).round() / 10.0,
                "tract_ns": t.round(),
                "tract_over_compiled": (t / c * 10.0).round() / 10.0,
            }),
        );
    }
    println!("{}", serde_json::Value::Object(report));
}
