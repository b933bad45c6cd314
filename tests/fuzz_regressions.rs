//! Fuzz regressions: every input the fuzzers (`make fuzz`, docs/fuzzing.md) found crashing is
//! kept in `tests/fixtures/fuzz/<target>/` and replayed here through the same check the fuzz
//! target runs (`fuzz/src/targets.rs`, included below), so `make test` keeps them fixed. The
//! seed corpora in `fuzz/seeds/<target>/` are replayed too (they must pass every check).
//!
//! `cargo test --test fuzz_regressions -- --ignored write_seeds` regenerates `fuzz/seeds/` from
//! the fixtures (models, manifests, the demo config, TCF strings, snapshots of engines).

use std::path::{Path, PathBuf};

#[path = "../fuzz/src/targets.rs"]
#[allow(dead_code)]
mod targets;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    out.retain(|p| p.is_file());
    out.sort();
    out
}

/// Runs `target` on every file of `dir`; fails naming each file that panicked.
fn replay_dir(target: &str, dir: &Path) -> usize {
    let check = targets::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| panic!("no fuzz target {target}"));
    let mut failed = Vec::new();
    let inputs = files(dir);
    for path in &inputs {
        let data = std::fs::read(path).unwrap();
        if std::panic::catch_unwind(|| check(&data)).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: these inputs fail (see the panic messages above): {failed:#?}"
    );
    inputs.len()
}

fn replay(target: &str) {
    replay_dir(target, &root().join("tests/fixtures/fuzz").join(target));
    let seeds = replay_dir(target, &root().join("fuzz/seeds").join(target));
    assert!(seeds > 0, "{target}: no seeds in fuzz/seeds/{target}");
}

#[test]
fn fixture_folders_name_targets() {
    for dir in ["tests/fixtures/fuzz", "fuzz/seeds"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                name == "README.md" || targets::TARGETS.iter().any(|(t, _)| *t == name),
                "{dir}/{name} is not the name of a fuzz target"
            );
        }
    }
}

#[test]
fn event_json() {
    replay("event_json");
}
#[test]
fn engine_config() {
    replay("engine_config");
}
#[test]
fn model_manifest() {
    replay("model_manifest");
}
#[test]
fn onnx_model() {
    replay("onnx_model");
}
#[test]
fn compiled_model() {
    replay("compiled_model");
}
#[test]
fn snapshot() {
    replay("snapshot");
}
#[test]
fn tcf() {
    replay("tcf");
}
#[test]
fn feature_spec() {
    replay("feature_spec");
}
#[test]
fn rule_expr() {
    replay("rule_expr");
}
#[test]
fn host_json() {
    replay("host_json");
}

// ── seeds ─────────────────────────────────────────────────────────────────────────────────

struct Seeds {
    dir: PathBuf,
}

impl Seeds {
    fn new(target: &str) -> Seeds {
        let dir = root().join("fuzz/seeds").join(target);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Seeds { dir }
    }
    fn put(&self, name: &str, data: impl AsRef<[u8]>) {
        std::fs::write(self.dir.join(name), data).unwrap();
    }
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn json_files(dir: &str, suffix: &str) -> Vec<(String, Vec<u8>)> {
    files(&root().join(dir))
        .into_iter()
        .filter_map(|p| {
            let name = p.file_name()?.to_string_lossy().into_owned();
            name.ends_with(suffix)
                .then(|| (name, std::fs::read(&p).unwrap()))
        })
        .collect()
}

/// Engine configs beyond the demo's: every policy kind, consent settings, caps and priors.
const CONFIGS: &[(&str, &str)] = &[
    (
        "minimal",
        r#"{"version": 1, "slots": [{"id": "s", "default": "a", "variants": [{"id": "a", "kind": "copy", "content": "A"}]}]}"#,
    ),
    (
        "lib-doc",
        r#"{"version": 1, "consent_default": {"personalization": true}, "slots": [{"id": "hero", "default": "a", "variants": [{"id": "a", "kind": "copy", "content": "Welcome"}, {"id": "b", "kind": "copy", "content": "Only today: free shipping"}]}]}"#,
    ),
    (
        "policies",
        r#"{"version": 1, "policy": {"kind": "lints", "v": 0.5, "lambda": 1, "draws": 8}, "min_probability": 0.05, "holdout": 0.1, "reward_window_s": 60, "max_pending": 4, "session_ttl_s": 600, "exposure": "explicit", "storage_prefix": "ew", "session": {"capacity": 16, "max_categories": 4}, "consent_default": {"storage": true, "personalization": true}, "slots": [{"id": "x", "default": "a", "prior": {"a": {"trials": 100, "reward": 10}, "b": {"trials": 50, "reward": 9}}, "variants": [{"id": "a", "kind": "copy", "content": "A"}, {"id": "b", "kind": "layout", "content": "ew-list", "cap": {"max": 2, "window_s": 60}, "eligibility": "events >= 1 && ctx.device == 'mobile'"}, {"id": "c", "kind": "offer", "content": {"title": "t", "cta": "c"}, "eligibility": "!(purchase < 0.5) || event_count(add_to_cart) > 0"}]}]}"#,
    ),
    (
        "uniform",
        r#"{"version": 1, "policy": {"kind": "uniform"}, "slots": [{"id": "s", "default": "a", "variants": [{"id": "a", "kind": "copy", "content": "A"}, {"id": "b", "kind": "copy", "content": "B"}]}]}"#,
    ),
    (
        "epsilon",
        r#"{"version": 1, "policy": {"kind": "epsilon_greedy", "epsilon": 0.2}, "slots": [{"id": "s", "default": "a", "variants": [{"id": "a", "kind": "copy", "content": "A"}, {"id": "b", "kind": "copy", "content": "B"}]}]}"#,
    ),
    (
        "thompson",
        r#"{"version": 1, "policy": {"kind": "thompson", "draws": 16}, "slots": [{"id": "s", "default": "a", "variants": [{"id": "a", "kind": "copy", "content": "A"}, {"id": "b", "kind": "copy", "content": "B"}]}]}"#,
    ),
    (
        "linucb",
        r#"{"version": 1, "policy": {"kind": "linucb", "alpha": 1, "lambda": 1}, "slots": [{"id": "s", "default": "a", "variants": [{"id": "a", "kind": "copy", "content": "A"}, {"id": "b", "kind": "copy", "content": "B"}]}]}"#,
    ),
    (
        "regression",
        r#"{"version": 1, "policy": {"kind": "regression_epsilon", "epsilon": 0.05, "lambda": 1}, "slots": [{"id": "s", "default": "a", "variants": [{"id": "a", "kind": "copy", "content": "A"}, {"id": "b", "kind": "copy", "content": "B"}]}]}"#,
    ),
    (
        "consent",
        r#"{"version": 1, "consent": {"vendor_id": 755, "session_personalization_without_consent": true, "tcf": {"personalization": {"all": [5, 6], "vendor_or_publisher": true}, "measurement": {"any_li": [8]}}}, "slots": [{"id": "s", "default": "a", "variants": [{"id": "a", "kind": "copy", "content": "A"}, {"id": "b", "kind": "copy", "content": "B"}]}]}"#,
    ),
];

const EVENTS: &[(&str, &str)] = &[
    (
        "page_view",
        r#"{"kind": "page_view", "ts": 1700000001000, "category": "shoes"}"#,
    ),
    (
        "product_view",
        r#"{"kind": "product_view", "ts": 1700000002000, "category": "shoes", "price": 59.9, "item_id": "sku-1"}"#,
    ),
    ("search", r#"{"kind": "search", "query": "red shoes"}"#),
    (
        "custom",
        r#"{"kind": "custom", "name": "newsletter", "value": 1}"#,
    ),
    ("scroll", r#"{"kind": "scroll", "value": 0.5}"#),
    ("dwell", r#"{"kind": "dwell", "value": 30}"#),
    (
        "escaped",
        r#"{"kind": "add_to_cart", "category": "sh\u00f6es", "price": 1e3, "item_id": "a\"b"}"#,
    ),
    ("unknown-field", r#"{"kind": "click", "colour": "red"}"#),
    (
        "batch",
        r#"[{"kind": "page_view"}, {"kind": "product_view", "category": "bags", "price": 120}, {"kind": "add_to_cart", "category": "bags", "price": 120}, {"kind": "remove_from_cart", "price": 120}, {"kind": "checkout_start"}, {"kind": "purchase", "value": 240}, {"kind": "nope"}, 7]"#,
    ),
    (
        "batch-bad",
        r#"[{"kind": "scroll", "value": 2}, {"kind": "dwell"}, {"kind": "page_view", "ts": 1}, {"kind": "page_view", "ts": 1e300}, {"kind": "search", "query": ""}]"#,
    ),
];

const RULES: &[&str] = &[
    "purchase >= 0.3 || cart_items >= 1",
    "churn >= 0.5",
    "event_count(product_view) >= 2",
    "purchase < 0.6 && churn >= 0.3",
    "cart_value > 50",
    "!(session_age_s < 60) && events != 0",
    "ctx.device == 'mobile' || ctx.device != \"tablet\"",
    "ctx.hour_of_day <= 14.5 && (true || false)",
    "1 < 2",
    "((((purchase > -1e3))))",
];

const HOST: &[(&str, u8, &str)] = &[
    (
        "context",
        0,
        r#"{"device": "mobile", "hour_of_day": 14, "country": "DE"}"#,
    ),
    ("context-bad", 0, r#"{"": 1, "x": "aaaaaaaa"}"#),
    (
        "consent-mode",
        1,
        r#"{"ad_storage": "granted", "analytics_storage": "denied", "personalization_storage": "granted"}"#,
    ),
    (
        "purposes",
        2,
        r#"{"storage": true, "personalization": true, "measurement": false, "profile_sync": false}"#,
    ),
    (
        "consent-config",
        3,
        r#"{"vendor_id": 755, "session_personalization_without_consent": true, "tcf": {"personalization": {"all": [5, 6], "vendor_or_publisher": true}, "measurement": {"any_li": [8]}}}"#,
    ),
];

#[test]
#[ignore = "writes fuzz/seeds/; run it when the fixtures change"]
fn write_seeds() {
    use edgewise::{Engine, EngineOptions, EventInput, Purposes};

    let s = Seeds::new("event_json");
    for (name, text) in EVENTS {
        s.put(&format!("{name}.json"), text);
    }

    let s = Seeds::new("engine_config");
    s.put("demo.json", read("www/demo/config.json"));
    for (name, text) in CONFIGS {
        s.put(&format!("{name}.json"), text);
    }

    let s = Seeds::new("model_manifest");
    for dir in ["models", "tests/fixtures/models"] {
        for (name, bytes) in json_files(dir, ".json") {
            if !name.ends_with(".ewm.json")
                && !name.ends_with(".features.json")
                && name != "reference.json"
            {
                s.put(&name, bytes);
            }
        }
    }

    let s = Seeds::new("feature_spec");
    s.put(
        "storefront-v1.json",
        read("models/storefront-v1.features.json"),
    );
    for (name, bytes) in json_files("tests/fixtures/models", ".json") {
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        if let Some(f) = v.get("features") {
            s.put(&name, serde_json::to_vec(f).unwrap());
        }
    }

    let s = Seeds::new("onnx_model");
    for (i, (name, _)) in targets::ONNX_MANIFESTS.iter().enumerate() {
        let path = ["models", "tests/fixtures/models"]
            .iter()
            .map(|d| root().join(d).join(format!("{name}.onnx")))
            .find(|p| p.exists())
            .unwrap();
        let mut data = vec![i as u8];
        data.extend(std::fs::read(path).unwrap());
        s.put(&format!("{i:02}-{name}.bin"), data);
    }

    let s = Seeds::new("compiled_model");
    for (name, bytes) in json_files("models", ".ewm.json") {
        s.put(&name, bytes);
    }
    #[cfg(feature = "onnx")]
    for (name, json) in targets::ONNX_MANIFESTS.iter().skip(3) {
        let onnx = read(&format!("tests/fixtures/models/{name}.onnx"));
        let manifest = edgewise::ModelManifest::from_json(json).unwrap();
        if let Ok(m) = edgewise::PropensityModel::from_manifest_with(
            manifest,
            &onnx,
            edgewise::model::Prefer::CompiledOnly,
        ) {
            if let Some(c) = m.compiled() {
                s.put(&format!("{name}.ewm.json"), serde_json::to_vec(&c).unwrap());
            }
        }
    }

    // Snapshots of engines with some history, each as the full bytes and as bare payloads in
    // format 2 and format 1 (JSON) (the target wraps a payload in a valid header).
    let s = Seeds::new("snapshot");
    let t0 = targets::T0;
    let demo = std::str::from_utf8(&read("www/demo/config.json"))
        .unwrap()
        .to_owned();
    let compiled = |n: &str| {
        edgewise::PropensityModel::load_compiled(&read(&format!("models/{n}.ewm.json"))).unwrap()
    };
    let all = Purposes {
        storage: true,
        personalization: true,
        measurement: true,
        profile_sync: true,
    };
    let cases: [(&str, &str, Option<Purposes>, usize); 4] = [
        ("demo-fresh", &demo, Some(all), 0),
        ("demo-busy", &demo, Some(all), 12),
        (
            "demo-session-scope",
            &demo,
            Some(Purposes {
                personalization: true,
                ..Default::default()
            }),
            5,
        ),
        ("demo-no-consent", &demo, None, 3),
    ];
    for (name, config, consent, rounds) in cases {
        let config = edgewise::EngineConfig::from_json(config).unwrap();
        let mut e = Engine::new(
            config,
            vec![compiled("purchase-lr"), compiled("churn-mlp")],
            EngineOptions {
                seed: Some(3),
                ..Default::default()
            },
            t0,
        )
        .unwrap();
        if let Some(p) = consent {
            e.set_consent(p, t0);
        }
        let mut ctx = edgewise::Context::new();
        ctx.insert(
            "device".into(),
            edgewise::ContextValue::Text("mobile".into()),
        );
        e.set_context(ctx).unwrap();
        for r in 0..rounds {
            let now = t0 + 1_000.0 * (r as f64 + 1.0);
            let kind = ["page_view", "product_view", "add_to_cart", "search"][r % 4];
            let ev = match kind {
                "search" => EventInput::new(kind, now).query("boots"),
                "page_view" => EventInput::new(kind, now),
                _ => EventInput::new(kind, now)
                    .category("shoes")
                    .price(40.0 + r as f64),
            };
            e.track(&ev, now).unwrap();
            for slot in ["hero-headline", "layout", "offer"] {
                let d = e.decide(slot, now).unwrap();
                if r % 3 == 0 {
                    let _ = e.reward(&d.decision_id, 1.0, now + 10.0);
                }
            }
        }
        let bytes = e.snapshot().bytes;
        s.put(&format!("{name}.bin"), &bytes);
        s.put(&format!("{name}.payload.bin"), &bytes[18..]);
        // The same state as format 1 (JSON), which restore still reads.
        let state = edgewise::snapshot::decode(&bytes).unwrap();
        s.put(
            &format!("{name}.payload.json"),
            serde_json::to_vec(&state).unwrap(),
        );
    }
    for (name, text) in CONFIGS.iter().skip(2) {
        let config = edgewise::EngineConfig::from_json(text).unwrap();
        let mut e = Engine::new(
            config,
            vec![compiled("purchase-lr"), compiled("churn-mlp")],
            EngineOptions {
                seed: Some(3),
                ..Default::default()
            },
            t0,
        )
        .unwrap();
        e.set_consent(all, t0);
        e.track(&EventInput::new("page_view", t0 + 500.0), t0 + 500.0)
            .unwrap();
        let slot = e.config().slots[0].id.clone();
        let d = e.decide(&slot, t0 + 1_000.0).unwrap();
        let _ = e.reward(&d.decision_id, 1.0, t0 + 2_000.0);
        let _ = e.decide(&slot, t0 + 3_000.0).unwrap();
        s.put(
            &format!("policy-{name}.payload.bin"),
            &e.snapshot().bytes[18..],
        );
    }

    let s = Seeds::new("tcf");
    for (file, take) in [("valid.json", 24), ("malformed.json", 24)] {
        let v: Vec<serde_json::Value> =
            serde_json::from_slice(&read(&format!("tests/fixtures/tcf/{file}"))).unwrap();
        let step = (v.len() / take).max(1);
        for (i, item) in v.iter().step_by(step).take(take).enumerate() {
            if let Some(text) = item["string"].as_str() {
                s.put(
                    &format!("{}-{i:02}.txt", file.trim_end_matches(".json")),
                    text,
                );
            }
        }
    }

    let s = Seeds::new("rule_expr");
    for (i, r) in RULES.iter().enumerate() {
        s.put(&format!("{i:02}.txt"), r);
    }

    let s = Seeds::new("host_json");
    for (name, pick, text) in HOST {
        let mut data = vec![*pick];
        data.extend_from_slice(text.as_bytes());
        s.put(&format!("{name}.bin"), data);
    }
}

/// The fix for `onnx_model/nan-weight-compiled-form-does-not-reload.bin`: a program with a NaN
/// or infinite weight is refused at load (its compiled form, JSON, could not hold it), with a
/// message that names the step and the value.
#[test]
fn non_finite_weights_are_refused_with_a_message() {
    let bytes =
        std::fs::read(root().join("tests/fixtures/fuzz/compiled_model/inf-bias-1e39.ewm.json"))
            .unwrap();
    let err = edgewise::PropensityModel::load_compiled(&bytes).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("step 2 (Const)")
            && msg.contains("value[0] = inf")
            && msg.contains("not a finite number"),
        "{msg}"
    );
}
