//! The checks behind every fuzz target, in one place for the libFuzzer binaries
//! (`fuzz/fuzz_targets/*.rs`, one line each) and the regression replay
//! (`tests/fuzz_regressions.rs`, which includes this file with `#[path]`), so a crash input
//! found by the fuzzer is replayed by `cargo test` through exactly the same code.
//!
//! Every `fn NAME(data: &[u8])` feeds `data` to one parser that outside input reaches, then
//! exercises what the parser returned. It must never panic: any panic is a finding, either a
//! panic in edgewise (a bug: no panic may cross the wasm boundary) or a property below that
//! failed (`assert!` with a message). Only edgewise and serde_json are used, so this compiles
//! in the fuzz crate and in the root crate's tests alike, with every feature set: models come
//! from their compiled form (`models/*.ewm.json`), and ONNX goes through the edgewise compiler
//! only (`Prefer::CompiledOnly`), the same in builds with and without tract.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use edgewise::consent::{ConsentConfig, ConsentModeSignals, ConsentState};
use edgewise::model::Prefer;
use edgewise::rules::{Env, Expr};
use edgewise::{
    Context, ContextValue, Engine, EngineConfig, EngineOptions, EventInput, FeatureSpec,
    ModelManifest, PropensityModel, Purposes, Session, SessionLimits,
};
use serde_json::value::RawValue;

/// The fixed clock of every target (ms since the epoch).
pub const T0: f64 = 1_700_000_000_000.0;

/// A target's check: feeds the input to one parser and exercises the result.
pub type Check = fn(&[u8]);

/// Every target: (name, check). The names are the fuzz binaries' and the folders of
/// `tests/fixtures/fuzz/` and `fuzz/seeds/`.
pub const TARGETS: &[(&str, Check)] = &[
    ("event_json", event_json),
    ("engine_config", engine_config),
    ("model_manifest", model_manifest),
    ("onnx_model", onnx_model),
    ("compiled_model", compiled_model),
    ("snapshot", snapshot),
    ("tcf", tcf),
    ("feature_spec", feature_spec),
    ("rule_expr", rule_expr),
    ("host_json", host_json),
];

// ── fixtures (compiled in, so a fuzz binary runs from any directory) ─────────────────────

pub const DEMO_CONFIG: &str = include_str!("../../www/demo/config.json");
const PURCHASE_LR: &str = include_str!("../../models/purchase-lr.ewm.json");
const CHURN_MLP: &str = include_str!("../../models/churn-mlp.ewm.json");
const PURCHASE_LR_ONNX: &[u8] = include_bytes!("../../models/purchase-lr.onnx");

/// Manifests `onnx_model` picks from with its first byte: different widths, input and output
/// names, class indices and output kinds. The fixture `.onnx` of the same name is the seed.
pub const ONNX_MANIFESTS: &[(&str, &str)] = &[
    ("purchase-lr", include_str!("../../models/purchase-lr.json")),
    ("churn-mlp", include_str!("../../models/churn-mlp.json")),
    (
        "purchase-gbt",
        include_str!("../../models/purchase-gbt.json"),
    ),
    (
        "lr-logit",
        include_str!("../../tests/fixtures/models/lr-logit.json"),
    ),
    (
        "lr-opset9",
        include_str!("../../tests/fixtures/models/lr-opset9.json"),
    ),
    (
        "mlp-gelu",
        include_str!("../../tests/fixtures/models/mlp-gelu.json"),
    ),
    (
        "mlp-tanh",
        include_str!("../../tests/fixtures/models/mlp-tanh.json"),
    ),
    (
        "sk-forest",
        include_str!("../../tests/fixtures/models/sk-forest.json"),
    ),
    (
        "sk-gbt-zipmap",
        include_str!("../../tests/fixtures/models/sk-gbt-zipmap.json"),
    ),
    (
        "sk-linear",
        include_str!("../../tests/fixtures/models/sk-linear.json"),
    ),
    (
        "sk-pipeline",
        include_str!("../../tests/fixtures/models/sk-pipeline.json"),
    ),
    (
        "torch-mlp",
        include_str!("../../tests/fixtures/models/torch-mlp.json"),
    ),
    (
        "two-inputs",
        include_str!("../../tests/fixtures/models/two-inputs.json"),
    ),
    (
        "wrong-width",
        include_str!("../../tests/fixtures/models/wrong-width.json"),
    ),
];

/// The demo's two models (scores `purchase` and `churn`, which the demo config's rules use).
/// Per thread: with the `tract` feature a model is not `Sync`.
fn models() -> Vec<PropensityModel> {
    thread_local! {
        static MODELS: Vec<PropensityModel> = [PURCHASE_LR, CHURN_MLP]
            .iter()
            .filter_map(|m| PropensityModel::load_compiled(m.as_bytes()).ok())
            .collect();
    }
    MODELS.with(|loaded| {
        assert_eq!(
            loaded.len(),
            2,
            "the demo models must load (fixture problem)"
        );
        loaded
            .iter()
            .filter_map(PropensityModel::try_clone)
            .collect()
    })
}

fn demo_config() -> EngineConfig {
    static CONFIG: OnceLock<Option<EngineConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| EngineConfig::from_json(DEMO_CONFIG).ok())
        .clone()
        .unwrap_or_else(|| panic!("www/demo/config.json must parse (fixture problem)"))
}

const ALL: Purposes = Purposes {
    storage: true,
    personalization: true,
    measurement: true,
    profile_sync: true,
};

fn options() -> EngineOptions {
    EngineOptions {
        seed: Some(7),
        ..Default::default()
    }
}

/// A session with every event kind, for feature extraction and rules.
fn busy_session(limits: SessionLimits) -> Session {
    let mut s = Session::new(limits, T0);
    let events = [
        EventInput::new("page_view", T0 + 1_000.0).category("shoes"),
        EventInput::new("product_view", T0 + 2_000.0)
            .category("bags")
            .price(59.9)
            .item("sku-1"),
        EventInput::new("search", T0 + 3_000.0).query("red shoes"),
        EventInput::new("add_to_cart", T0 + 4_000.0)
            .category("shoes")
            .price(120.0)
            .item("sku-2"),
        EventInput::new("scroll", T0 + 5_000.0).value(0.75),
        EventInput::new("dwell", T0 + 6_000.0).value(42.0),
        EventInput::new("click", T0 + 7_000.0),
        EventInput::new("custom", T0 + 8_000.0).name("newsletter"),
    ];
    for e in &events {
        let _ = s.push(e, T0 + 10_000.0);
    }
    s
}

fn context() -> Context {
    let mut c = Context::new();
    c.insert("device".into(), ContextValue::Text("mobile".into()));
    c.insert("hour_of_day".into(), ContextValue::Number(14.0));
    c
}

/// A probability from a model: finite and in [0, 1].
fn check_probability(what: &str, p: f32) {
    assert!(
        p.is_finite() && (0.0..=1.0).contains(&p),
        "{what}: predict returned {p}, not a probability"
    );
}

/// Runs a model on a few vectors of its width: each is a probability or an error.
fn exercise_model(m: &mut PropensityModel) {
    let w = m.width();
    let ramp: Vec<f32> = (0..w).map(|i| i as f32 * 0.37 - 1.0).collect();
    for x in [
        vec![0.0; w],
        vec![1.0; w],
        vec![-1e30; w],
        vec![1e30; w],
        ramp,
    ] {
        if let Ok(p) = m.predict(&x) {
            check_probability(m.name(), p);
        }
    }
    assert!(
        m.predict(&vec![0.0; w + 1]).is_err(),
        "{}: a vector of the wrong width must be an error",
        m.name()
    );
    // A model the compiler handled reloads from its compiled form.
    if let Some(c) = m.compiled() {
        let bytes = serde_json::to_vec(&c).unwrap_or_default();
        if let Err(e) = PropensityModel::load_compiled(&bytes) {
            panic!("{}: its compiled form does not reload: {e}", m.name());
        }
    }
}

/// Feature extraction of a valid spec: the declared width, finite values.
fn check_features(spec: &FeatureSpec, limits: SessionLimits) {
    let session = busy_session(limits);
    for now in [T0 + 10_000.0, T0 + 86_400_000.0] {
        let x = spec.extract(&session, &context(), now);
        assert_eq!(x.len(), spec.width(), "extract() length != width()");
        assert!(
            x.iter().all(|v| v.is_finite()),
            "a feature is not finite: {x:?}"
        );
    }
}

/// Decides every slot; each decision must succeed and be well formed, the models' features
/// must be finite, and a snapshot of the engine must restore.
fn exercise_engine(e: &mut Engine, now: f64) {
    let slots: Vec<(String, Vec<String>)> = e
        .config()
        .slots
        .iter()
        .map(|s| {
            (
                s.id.clone(),
                s.variants.iter().map(|v| v.id.clone()).collect(),
            )
        })
        .collect();
    let mut ids = Vec::new();
    for (slot, variants) in &slots {
        match e.decide(slot, now) {
            Ok(d) => {
                assert!(
                    variants.contains(&d.variant_id),
                    "decide({slot}) returned variant {:?}, not one of the slot's",
                    d.variant_id
                );
                assert!(
                    d.probability.is_finite() && d.probability > 0.0 && d.probability <= 1.0 + 1e-9,
                    "decide({slot}): probability {}",
                    d.probability
                );
                ids.push(d.decision_id);
            }
            Err(err) => panic!("decide({slot}) on a valid engine failed: {err}"),
        }
    }
    for i in 0..e.models().len() {
        if let Some(x) = e.last_features(i) {
            assert!(
                x.iter().all(|v| v.is_finite()),
                "features of model {i} not finite: {x:?}"
            );
        }
    }
    for (i, id) in ids.iter().enumerate() {
        let _ = e.reward(id, if i % 2 == 0 { 1.0 } else { 0.0 }, now + 1_000.0);
    }
    let snap = e.snapshot();
    if let Err(err) = Engine::restore(&snap.bytes, e.config().clone(), models(), now + 2_000.0) {
        panic!("a snapshot of a valid engine does not restore: {err}");
    }
}

fn engine() -> Engine {
    match Engine::new(demo_config(), models(), options(), T0) {
        Ok(mut e) => {
            e.set_consent(ALL, T0);
            e
        }
        Err(err) => panic!("the demo engine must build (fixture problem): {err}"),
    }
}

// ── targets ───────────────────────────────────────────────────────────────────────────────

/// Event JSON as `track` (one object) and `trackMany` (an array, each item parsed on its own,
/// as src/wasm.rs does) receive it, then features, scores and decisions on that session.
pub fn event_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut e = engine();
    let now = T0 + 60_000.0;
    if let Ok(ev) = serde_json::from_str::<EventInput<'_>>(text) {
        let _ = e.track(&ev, now);
    }
    if let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(text) {
        let parsed: Vec<EventInput<'_>> = items
            .iter()
            .filter_map(|r| serde_json::from_str(r.get()).ok())
            .collect();
        match e.track_many(&parsed, now) {
            Ok(r) => assert_eq!(
                r.accepted + r.rejected_count,
                parsed.len(),
                "track_many accounts for every event"
            ),
            Err(err) => panic!("track_many with a valid clock failed: {err}"),
        }
    }
    let (scores, _) = e.scores(now);
    for p in scores.into_iter().flatten() {
        check_probability("scores()", p);
    }
    exercise_engine(&mut e, now);
}

/// Engine config JSON (`EngineConfig::from_json`, `Engine::from_json`): a config that parses
/// validates or is refused with an error; an engine built from it decides every slot and
/// snapshots.
pub fn engine_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Engine::from_json(text, &[], options(), T0);
    let Ok(config) = EngineConfig::from_json(text) else {
        return;
    };
    let _ = config.validate();
    let Ok(mut e) = Engine::new(config, models(), options(), T0) else {
        return;
    };
    e.set_consent(ALL, T0);
    for ev in [
        EventInput::new("page_view", T0 + 1_000.0),
        EventInput::new("product_view", T0 + 2_000.0)
            .category("shoes")
            .price(10.0),
        EventInput::new("add_to_cart", T0 + 3_000.0)
            .category("shoes")
            .price(10.0),
    ] {
        let _ = e.track(&ev, T0 + 5_000.0);
    }
    exercise_engine(&mut e, T0 + 5_000.0);
}

/// Model manifest JSON: its feature spec extracts its declared width, and it loads (or is
/// refused) with the purchase-lr ONNX graph.
pub fn model_manifest(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(manifest) = ModelManifest::from_json(text) else {
        return;
    };
    if manifest.validate().is_err() {
        return;
    }
    check_features(&manifest.features, SessionLimits::default());
    if let Ok(mut m) =
        PropensityModel::from_manifest_with(manifest, PURCHASE_LR_ONNX, Prefer::CompiledOnly)
    {
        exercise_model(&mut m);
    }
}

/// ONNX bytes through the edgewise loader (prost decoding, sanitizing, the compiler): the
/// first byte picks a manifest from [`ONNX_MANIFESTS`], the rest is the `.onnx` file.
pub fn onnx_model(data: &[u8]) {
    let Some((&pick, onnx)) = data.split_first() else {
        return;
    };
    let Some((_, json)) = ONNX_MANIFESTS.get(pick as usize % ONNX_MANIFESTS.len()) else {
        return;
    };
    let Ok(manifest) = ModelManifest::from_json(json) else {
        panic!("manifest {pick} must parse (fixture problem)");
    };
    if let Ok(mut m) = PropensityModel::from_manifest_with(manifest, onnx, Prefer::CompiledOnly) {
        exercise_model(&mut m);
    }
}

/// A compiled model (`edgewise compile-model` output; what the lite build loads): the
/// program is checked at load, and runs without panicking on any input.
pub fn compiled_model(data: &[u8]) {
    if let Ok(mut m) = PropensityModel::load_compiled(data) {
        exercise_model(&mut m);
    }
}

/// Snapshot bytes to `Engine::restore` (also what the edge worker restores from a state
/// cookie, after its HMAC). Input that starts with the magic `EDGEWISE` is used as is (header,
/// length and CRC checks); anything else is a payload, wrapped in a valid header so the fuzzer
/// reaches the decoder and the state's validation past the checksum: format 1 (JSON) when it
/// starts with `{`, format 2 (`compact`) otherwise.
pub fn snapshot(data: &[u8]) {
    let bytes = if data.starts_with(edgewise::snapshot::MAGIC) {
        data.to_vec()
    } else {
        let version = if data.first() == Some(&b'{') {
            edgewise::snapshot::FORMAT_JSON
        } else {
            edgewise::snapshot::FORMAT_VERSION
        };
        let mut b = Vec::with_capacity(18 + data.len());
        b.extend_from_slice(edgewise::snapshot::MAGIC);
        b.extend_from_slice(&version.to_le_bytes());
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(&crc32(data).to_le_bytes());
        b.extend_from_slice(data);
        b
    };
    let now = T0 + 60_000.0;
    let Ok(mut e) = Engine::restore(&bytes, demo_config(), models(), now) else {
        return;
    };
    e.set_consent(ALL, now);
    let _ = e.track(&EventInput::new("page_view", now), now);
    let (scores, _) = e.scores(now);
    for p in scores.into_iter().flatten() {
        check_probability("scores() after restore", p);
    }
    exercise_engine(&mut e, now);
}

/// IAB TCF v2.2 TC strings: `tcf::decode` never panics, the consent state accepts exactly
/// the strings that decode, and what they allow is computed for the default TCF map and for a
/// map that needs our vendor id (publisher restrictions, vendor and publisher segments).
pub fn tcf(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let decoded = edgewise::tcf::decode(text);
    if let Ok(tc) = &decoded {
        for id in 0..=30u8 {
            let _ = tc.purpose_consent(id);
        }
        for id in [0u16, 1, 2, 100, 755, 1000, u16::MAX] {
            let _ = tc.vendor_consent(id);
        }
    }
    let mut state = ConsentState::default();
    let set = state.set_tcf(text, T0);
    assert_eq!(
        set.is_ok(),
        decoded.is_ok(),
        "ConsentState::set_tcf and tcf::decode disagree: {set:?} vs {decoded:?}"
    );
    let configs = tcf_configs();
    assert_eq!(
        configs.len(),
        2,
        "the TCF consent configs must parse (fixture problem)"
    );
    for config in configs {
        let _ = state.effective(config);
    }
}

fn tcf_configs() -> &'static [ConsentConfig] {
    static CONFIGS: OnceLock<Vec<ConsentConfig>> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        [
            "{}",
            r#"{"vendor_id": 755, "tcf": {"personalization": {"all": [5, 6], "vendor_or_publisher": true}, "measurement": {"any_li": [8]}}}"#,
        ]
        .iter()
        .filter_map(|c| ConsentConfig::from_json(c).ok())
        .collect()
    })
}

/// A feature spec on its own (`FeatureSpec::from_json`): declared width, finite values.
pub fn feature_spec(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(spec) = FeatureSpec::from_json(text) {
        check_features(&spec, SessionLimits::default());
    }
}

/// Eligibility rule expressions (`rules::Expr::parse`), evaluated on a busy session.
pub fn rule_expr(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let names = ["purchase".to_owned(), "churn".to_owned()];
    let Ok(expr) = Expr::parse(text, &names) else {
        return;
    };
    let session = busy_session(SessionLimits::default());
    let ctx = context();
    for scores in [
        [Some(0.3f32), None],
        [None, Some(1.0)],
        [Some(f32::NAN), Some(0.0)],
    ] {
        for now in [T0 + 10_000.0, T0] {
            let _ = expr.eval(&Env {
                scores: &scores,
                session: &session,
                ctx: &ctx,
                now_ms: now,
            });
        }
    }
}

/// The small JSON inputs of the wasm API, picked by the first byte: context (`setContext`),
/// consent mode signals (`setConsentMode`), purposes (`setConsent`), the consent config.
pub fn host_json(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let mut e = engine();
    let now = T0 + 1_000.0;
    match pick % 4 {
        0 => {
            if let Ok(ctx) = serde_json::from_str::<BTreeMap<String, ContextValue>>(text) {
                let _ = e.set_context(ctx);
            }
        }
        1 => {
            if let Ok(s) = ConsentModeSignals::from_json(text) {
                let _ = e.set_consent_mode(&s, now);
            }
        }
        2 => {
            if let Ok(p) = serde_json::from_str::<Purposes>(text) {
                let _ = e.set_consent(p, now);
            }
        }
        _ => {
            let _ = ConsentConfig::from_json(text).map(|c| c.validate());
        }
    }
    exercise_engine(&mut e, now + 1_000.0);
}

/// CRC-32 (IEEE), as the snapshot header uses; bitwise, so this file needs no crc crate.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
