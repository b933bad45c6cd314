//! Training/serving parity. `models/train/parity.py` (Python: the training pipeline's own
//! feature code, and onnxruntime) wrote `tests/fixtures/parity/python.json` from
//! `edgewise simulate --sessions 1000 --seed 2`; here the same sessions are regenerated, fed
//! through a real `Session`, and every feature vector and every shipped model's score must
//! match: features within 1e-6, scores within 1e-5.

mod common;

use edgewise::event::{Session, SessionLimits};
use edgewise::features::{Context, ContextValue};
use edgewise::sim::{SimSession, Simulator};
use edgewise::FeatureSpec;

fn session_upto(s: &SimSession, n: usize, now: f64) -> Session {
    let mut session = Session::new(SessionLimits::default(), s.start_ms);
    for e in s.events.iter().take(n) {
        session
            .push(&e.input(), now)
            .unwrap_or_else(|err| panic!("session {}: simulated event refused: {err}", s.id));
    }
    session
}

#[test]
fn rust_and_python_compute_the_same_features_and_scores() {
    let text =
        std::fs::read_to_string(common::root().join("tests/fixtures/parity/python.json")).unwrap();
    let fixture: serde_json::Value = serde_json::from_str(&text).unwrap();
    let seed = fixture["simulator"]["seed"].as_u64().unwrap();
    let spec_text =
        std::fs::read_to_string(common::root().join("models/storefront-v1.features.json")).unwrap();
    let spec = FeatureSpec::from_json(&spec_text).unwrap();
    assert_eq!(
        fixture["columns"].as_array().unwrap().len(),
        spec.width(),
        "the fixture was written for another spec"
    );
    let mut models: Vec<_> = ["purchase-lr", "purchase-gbt", "churn-mlp"]
        .iter()
        .map(|n| common::load(n))
        .collect();
    let sim = Simulator::new(seed);
    let points = fixture["points"].as_array().unwrap();
    assert!(points.len() >= 2000, "{} points", points.len());
    let (mut worst_f, mut worst_s) = (0.0f64, 0.0f64);
    let mut sessions = std::collections::HashSet::new();
    for p in points {
        let id = p["id"].as_u64().unwrap();
        sessions.insert(id);
        let s = sim.session(id);
        let (n, now) = match p["at"].as_str().unwrap() {
            "decision" => (s.decision_index, s.decision_ms),
            "end" => (s.events.len(), s.events.last().unwrap().ts + 1000.0),
            other => panic!("unknown point {other}"),
        };
        let session = session_upto(&s, n, now);
        let mut ctx = Context::new();
        ctx.insert("device".into(), ContextValue::Text(s.context.device.into()));
        ctx.insert(
            "hour_of_day".into(),
            ContextValue::Number(s.context.hour_of_day),
        );
        let x = spec.extract(&session, &ctx, now);
        let want: Vec<f64> = serde_json::from_value(p["features"].clone()).unwrap();
        assert_eq!(x.len(), want.len());
        for (j, (a, b)) in x.iter().zip(&want).enumerate() {
            let d = (f64::from(*a) - b).abs();
            worst_f = worst_f.max(d);
            assert!(
                d <= 1e-6,
                "session {id} {}: column {j} rust {a} python {b}",
                p["at"]
            );
        }
        for m in &mut models {
            let got = f64::from(m.predict(&x).unwrap());
            let want = p["scores"][m.score_name()].as_f64().unwrap();
            let d = (got - want).abs();
            worst_s = worst_s.max(d);
            assert!(
                d <= 1e-5,
                "session {id}: {} edgewise {got} onnxruntime {want}",
                m.name()
            );
        }
    }
    assert!(sessions.len() >= 1000);
    eprintln!(
        "parity: {} points, worst feature diff {worst_f:e}, worst score diff {worst_s:e}",
        points.len()
    );
}
