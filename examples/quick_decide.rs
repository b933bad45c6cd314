use edgewise::{Engine, EngineConfig, EngineOptions, EventInput, PropensityModel, Purposes};
use std::time::Instant;
fn main() {
    let root = env!("CARGO_MANIFEST_DIR");
    let cfg = std::fs::read_to_string(format!("{root}/www/demo/config.json")).unwrap();
    let mut c = EngineConfig::from_json(&cfg).unwrap();
    c.holdout = 0.0;
    let models: Vec<_> = ["purchase-lr", "purchase-gbt", "churn-mlp"]
        .iter()
        .map(|n| {
            let m = std::fs::read_to_string(format!("{root}/models/{n}.json")).unwrap();
            let o = std::fs::read(format!("{root}/models/{n}.onnx")).unwrap();
            PropensityModel::load(&m, &o).unwrap()
        })
        .collect();
    let t = 1.7e12;
    let mut e = Engine::new(
        c,
        models,
        EngineOptions {
            seed: Some(1),
            ..Default::default()
        },
        t,
    )
    .unwrap();
    e.set_consent(Purposes {
        personalization: true,
        ..Default::default()
    });
    e.track(
        &EventInput::new("add_to_cart", t)
            .price(40.0)
            .category("shoes"),
        t + 1000.0,
    )
    .unwrap();
    let now = t + 60_000.0;
    for _ in 0..1000 {
        e.decide("hero-headline", now).unwrap();
    }
    let n = 20000;
    let a = Instant::now();
    for i in 0..n {
        let d = e
            .decide(["hero-headline", "layout", "offer"][i % 3], now)
            .unwrap();
        if i % 4 == 0 {
            let _ = e.reward(&d.decision_id, 1.0, now);
        }
    }
    println!(
        "decide cached: {:.2} us",
        a.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let a = Instant::now();
    for i in 0..n {
        e.track(&EventInput::new("click", t + 2000.0 + i as f64 * 0.1), now)
            .unwrap();
        e.scores(now);
    }
    println!(
        "track+scores: {:.2} us",
        a.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}
