//! wasm-bindgen tests of the JS binding (`src/wasm.rs`, the `Engine` class), compiled for
//! wasm32-unknown-unknown and run by `wasm-bindgen-test-runner` twice: in Node and in headless
//! Chromium (`bash scripts/test-binding.sh`). Every call goes through the JS class that
//! wasm-bindgen generated for the library, with values built the way a page builds them
//! (`JSON.parse`d objects, `Uint8Array`s, `NaN`), and every failure must be a JS `Error` whose
//! `code` is the documented one, with the engine still usable after it.
//! `tests/wasm/engine.test.mjs` covers the same API through the built `pkg/node` package; this
//! suite is the part that also runs in a real page.
//!
//! One file, one binary for both environments: the runner picks Node by default and the browser
//! with `WASM_BINDGEN_USE_BROWSER=1`. The tests that need a page (Web Storage) check where they
//! are at run time and say so when they are not in one.

#![cfg(target_arch = "wasm32")]

// Links the library, and with it the `#[wasm_bindgen]` exports of its private `wasm` module.
extern crate edgewise;

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array, JSON};
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

const T0: f64 = 1_700_000_000_000.0;
const CONFIG: &str = include_str!("../www/demo/config.json");
const SLOTS: [&str; 3] = ["hero-headline", "layout", "offer"];

const PURCHASE_MANIFEST: &str = include_str!("../models/purchase-lr.json");
const PURCHASE_ONNX: &[u8] = include_bytes!("../models/purchase-lr.onnx");
const CHURN_MANIFEST: &str = include_str!("../models/churn-mlp.json");
const CHURN_ONNX: &[u8] = include_bytes!("../models/churn-mlp.onnx");

// ---------------------------------------------------------------------------------------------
// The binding, as JS sees it
//
// `mod wasm` is private in src/lib.rs, so `edgewise::wasm::…` cannot be named from here. Its
// `#[wasm_bindgen]` exports are linked into this test binary all the same (the library is), and
// the runner generates their JS glue — the same `Engine` class `pkg/` ships — into the module it
// loads as `./wasm-bindgen-test(.js)`. These tests take that class from the already loaded
// module and call it exactly as page code does. (A copy of src/wasm.rs compiled into this crate
// would not link: its exports collide with the library's.)

/// Finds the runner's glue module (wasm-bindgen-test-runner 0.2.130 layout): in a page the
/// module `run.js` imported as `./wasm-bindgen-test`; in Node the module the harness
/// (`run.cjs`, or `run.mjs` with `WASM_BINDGEN_USE_NODE_EXPERIMENTAL`) required beside itself.
/// The same URL or path gives the same, initialised module instance.
const LOCATE_GLUE: &str = r#"
    const name = 'wasm-bindgen-test';
    if (typeof document !== 'undefined') {
        return import(new URL('./' + name, document.baseURI).href);
    }
    if (typeof process !== 'undefined' && process.mainModule) {
        return Promise.resolve(process.mainModule.require('./' + name + '.js'));
    }
    return import('node:url').then(({ pathToFileURL }) => {
        const dir = process.argv[1].replace(/[\\/][^\\/]*$/, '');
        return import(pathToFileURL(dir + '/' + name + '.js').href);
    });
"#;

/// The wasm module's JS exports: `Engine`, `version`, `build`.
struct Binding {
    glue: JsValue,
    class: JsValue,
}

async fn binding() -> Binding {
    let locate = Function::new_no_args(LOCATE_GLUE);
    let promise: Promise = locate
        .call0(&JsValue::NULL)
        .unwrap_or_else(|e| panic!("locating the glue threw {e:?}"))
        .unchecked_into();
    let glue = JsFuture::from(promise)
        .await
        .unwrap_or_else(|e| panic!("loading the runner's glue module failed: {e:?}"));
    let class = get(&glue, "Engine");
    assert!(
        class.is_function(),
        "the glue module has no Engine class: has wasm-bindgen-test-runner's layout changed?"
    );
    // The glue must drive this very instance (`__wasm` is its exports object), not a second copy.
    let memory = get(&glue, "__wasm.memory");
    assert!(
        Object::is(&memory, &wasm_bindgen::memory()),
        "the located glue drives another wasm instance"
    );
    Binding { glue, class }
}

impl Binding {
    /// `Engine.create(config, models, options)`.
    fn create(
        &self,
        config: &JsValue,
        models: &JsValue,
        options: &JsValue,
    ) -> Result<Engine, JsValue> {
        let f: Function = get(&self.class, "create").unchecked_into();
        f.call3(&self.class, config, models, options)
            .map(JsCast::unchecked_into)
    }

    /// `Engine.restore(bytes, config, models, options)`.
    fn restore(
        &self,
        bytes: &JsValue,
        config: &JsValue,
        models: &JsValue,
        options: &JsValue,
    ) -> Result<Engine, JsValue> {
        let f: Function = get(&self.class, "restore").unchecked_into();
        let args = Array::of4(bytes, config, models, options);
        Reflect::apply(&f, &self.class, &args).map(JsCast::unchecked_into)
    }

    /// A module-level function, e.g. `version()`.
    fn call(&self, name: &str) -> JsValue {
        let f: Function = get(&self.glue, name).unchecked_into();
        f.call0(&JsValue::NULL)
            .unwrap_or_else(|e| panic!("{name}() threw {e:?}"))
    }

    /// An engine on a fixed clock at `T0`, with personalization and storage consent.
    fn engine(&self, seed: u64) -> Engine {
        let e = self
            .create(&config(), &models(), &js(&json!({"seed": seed, "now": T0})))
            .unwrap_or_else(|err| panic!("Engine.create: {}", describe(&err)));
        e.set_consent(&js(&json!({"personalization": true, "storage": true})))
            .unwrap_or_else(|err| panic!("setConsent: {}", describe(&err)));
        e
    }
}

#[wasm_bindgen]
extern "C" {
    /// An instance of the binding's JS class `Engine` (methods are called on the object, as
    /// `engine.decide(slot)` in JS).
    type Engine;

    #[wasm_bindgen(method, catch)]
    fn track(this: &Engine, event: &JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_name = trackMany)]
    fn track_many(this: &Engine, events: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn decide(this: &Engine, slot: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn reward(this: &Engine, decision_id: &str, value: f64) -> Result<(), JsValue>;
    #[wasm_bindgen(method)]
    fn snapshot(this: &Engine) -> JsValue;
    #[wasm_bindgen(method, js_name = snapshotScope)]
    fn snapshot_scope(this: &Engine) -> JsValue;
    #[wasm_bindgen(method, catch, js_name = setConsent)]
    fn set_consent(this: &Engine, purposes: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = setTcf)]
    fn set_tcf(this: &Engine, tc_string: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = clearTcf)]
    fn clear_tcf(this: &Engine) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = setGpc)]
    fn set_gpc(this: &Engine, gpc: bool) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn withdraw(this: &Engine) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = syncPayload)]
    fn sync_payload(this: &Engine) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = exportProfile)]
    fn export_profile(this: &Engine) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = setNow)]
    fn set_now(this: &Engine, now: f64) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    fn scores(this: &Engine) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn state(this: &Engine) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method)]
    fn free(this: &Engine);
}

// ---------------------------------------------------------------------------------------------
// JS values, built and read the way page code does

/// A JS value from JSON (`JSON.parse`).
fn js(v: &Value) -> JsValue {
    JSON::parse(&v.to_string()).expect("JSON.parse of a serde_json value")
}

/// A JS value as JSON (`JSON.stringify`), for comparisons and messages.
fn to_json(v: &JsValue) -> Value {
    if v.is_undefined() {
        return Value::Null;
    }
    let text = JSON::stringify(v)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| "null".into());
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("JSON.stringify gave {text:?}: {e}"))
}

/// `obj.a.b.c` (undefined when a step is missing).
fn get(v: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(v.clone(), |o, k| {
        if o.is_undefined() || o.is_null() {
            return JsValue::UNDEFINED;
        }
        Reflect::get(&o, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED)
    })
}

fn get_str(v: &JsValue, path: &str) -> String {
    get(v, path)
        .as_string()
        .unwrap_or_else(|| panic!("{path} is not a string in {}", to_json(v)))
}

fn get_f64(v: &JsValue, path: &str) -> f64 {
    get(v, path)
        .as_f64()
        .unwrap_or_else(|| panic!("{path} is not a number in {}", to_json(v)))
}

fn set(obj: &JsValue, key: &str, value: JsValue) {
    Reflect::set(obj, &JsValue::from_str(key), &value).expect("Reflect.set on a plain object");
}

/// The demo config with `holdout: 0`, as a JS object (so no visitor falls into the holdout).
fn config() -> JsValue {
    let mut c: Value = serde_json::from_str(CONFIG).expect("www/demo/config.json is JSON");
    c["holdout"] = json!(0);
    js(&c)
}

/// `{manifest: <JSON text>, onnx: Uint8Array}`, as page code has them after `fetch`.
fn model(manifest: &str, onnx: &[u8]) -> JsValue {
    let m = Object::new();
    set(&m, "manifest", JsValue::from_str(manifest));
    set(&m, "onnx", Uint8Array::from(onnx).into());
    m.into()
}

fn models() -> JsValue {
    Array::of2(
        &model(PURCHASE_MANIFEST, PURCHASE_ONNX),
        &model(CHURN_MANIFEST, CHURN_ONNX),
    )
    .into()
}

/// A visitor who browses, carts and starts checkout (7 events, all accepted).
fn shopper(e: &Engine) {
    e.set_now(T0 + 10_000.0).expect("setNow");
    let r = e
        .track_many(&js(&json!([
            {"kind": "page_view", "ts": T0 + 1.0},
            {"kind": "product_view", "ts": T0 + 2.0, "category": "shoes", "price": 60, "item_id": "sku-1"},
            {"kind": "product_view", "ts": T0 + 3.0, "category": "bags", "price": 80},
            {"kind": "add_to_cart", "ts": T0 + 4.0, "category": "shoes", "price": 60},
            {"kind": "checkout_start", "ts": T0 + 5.0},
            {"kind": "scroll", "ts": T0 + 6.0, "value": 0.8},
            {"kind": "dwell", "ts": T0 + 7.0, "value": 35},
        ])))
        .unwrap_or_else(|err| panic!("trackMany: {}", describe(&err)));
    assert_eq!(get_f64(&r, "accepted"), 7.0, "{}", to_json(&r));
}

fn describe(err: &JsValue) -> String {
    match err.dyn_ref::<js_sys::Error>() {
        Some(e) => format!(
            "Error(code={:?}): {}",
            get(err, "code").as_string(),
            String::from(e.message())
        ),
        None => format!("not an Error: {err:?}"),
    }
}

/// The call must have thrown a JS `Error` whose `code` is `code`, with a useful message.
#[track_caller]
fn expect_code<T>(r: Result<T, JsValue>, code: &str) -> String {
    let Err(err) = r else {
        panic!("expected an Error with code {code:?}, the call succeeded");
    };
    let e = err
        .dyn_ref::<js_sys::Error>()
        .unwrap_or_else(|| panic!("expected an Error with code {code:?}, got {err:?}"));
    let message = String::from(e.message());
    assert_eq!(
        get(&err, "code").as_string().as_deref(),
        Some(code),
        "message: {message}"
    );
    assert!(message.len() > 10, "{code}: message too short: {message:?}");
    message
}

fn slot_config(slot: &str) -> Value {
    let c: Value = serde_json::from_str(CONFIG).expect("config JSON");
    c["slots"]
        .as_array()
        .expect("config.slots")
        .iter()
        .find(|s| s["id"] == slot)
        .unwrap_or_else(|| panic!("slot {slot} in config"))
        .clone()
}

/// The variant ids the demo config declares for `slot`.
fn variant_ids(slot: &str) -> Vec<String> {
    slot_config(slot)["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .map(|v| v["id"].as_str().expect("variant id").to_owned())
        .collect()
}

fn default_variant(slot: &str) -> String {
    slot_config(slot)["default"]
        .as_str()
        .expect("slot default")
        .to_owned()
}

fn decide(e: &Engine, slot: &str) -> JsValue {
    e.decide(slot)
        .unwrap_or_else(|err| panic!("decide({slot}): {}", describe(&err)))
}

/// `state()` as JSON.
fn state(e: &Engine) -> Value {
    to_json(
        &e.state()
            .unwrap_or_else(|err| panic!("state: {}", describe(&err))),
    )
}

fn bytes(snapshot: &JsValue) -> Vec<u8> {
    snapshot
        .dyn_ref::<Uint8Array>()
        .unwrap_or_else(|| panic!("snapshot() is not a Uint8Array: {snapshot:?}"))
        .to_vec()
}

// ---------------------------------------------------------------------------------------------
// Both environments

#[wasm_bindgen_test]
async fn version_and_build_name() {
    let b = binding().await;
    assert_eq!(
        b.call("version").as_string().as_deref(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        b.call("build").as_string().as_deref(),
        Some("full"),
        "this suite is built with the onnx feature"
    );
}

#[wasm_bindgen_test]
async fn create_track_decide_reward_snapshot_restore() {
    let b = binding().await;
    let e = b.engine(1);
    shopper(&e);
    e.track(&js(
        &json!({"kind": "search", "ts": T0 + 8.0, "query": "running shoes"}),
    ))
    .unwrap_or_else(|err| panic!("track: {}", describe(&err)));
    assert_eq!(state(&e)["events"], json!(8));
    let scores = to_json(&e.scores().expect("scores"));
    for name in ["purchase", "churn"] {
        let p = scores[name]
            .as_f64()
            .unwrap_or_else(|| panic!("score {name} in {scores}"));
        assert!((0.0..=1.0).contains(&p), "{name} = {p}");
    }

    let decisions: Vec<JsValue> = SLOTS.iter().map(|s| decide(&e, s)).collect();
    for (slot, d) in SLOTS.iter().zip(&decisions) {
        let dj = to_json(d);
        assert_eq!(get_str(d, "slot"), *slot);
        assert!(!get_str(d, "decision_id").is_empty(), "{dj}");
        assert!(
            variant_ids(slot).contains(&get_str(d, "variant_id")),
            "{slot}: {dj}"
        );
        let source = get_str(d, "source");
        assert!(
            ["explore", "exploit", "rule", "default"].contains(&source.as_str()),
            "{slot}: a consented visitor got source {source}: {dj}"
        );
        let p = get_f64(d, "probability");
        assert!(p > 0.0 && p <= 1.0, "{dj}");
        assert!(
            dj["reasons"].as_array().is_some_and(|r| !r.is_empty()),
            "{dj}"
        );
        assert!(dj["scores"]["purchase"].is_number(), "{dj}");
    }
    // An offer's content is an object of text slots, as in the config.
    assert!(get(&decisions[2], "content.title").is_string());

    let hero = get_str(&decisions[0], "decision_id");
    e.reward(&hero, 1.0)
        .unwrap_or_else(|err| panic!("reward: {}", describe(&err)));
    expect_code(e.reward(&hero, 1.0), "already_rewarded");

    // Snapshot → restore keeps what was learned and where the engine was.
    let snap = e.snapshot();
    let len = bytes(&snap).len();
    assert!(len > 100, "snapshot of {len} bytes");
    assert_eq!(
        e.snapshot_scope().as_string().as_deref(),
        Some("persistent")
    );
    let r = b
        .restore(
            &snap,
            &config(),
            &models(),
            &js(&json!({"now": T0 + 11_000.0})),
        )
        .unwrap_or_else(|err| panic!("Engine.restore: {}", describe(&err)));
    let change = to_json(
        &r.set_consent(&js(&json!({"personalization": true, "storage": true})))
            .expect("setConsent"),
    );
    assert_eq!(change["delete_keys"], json!([]), "{change}");
    e.set_now(T0 + 11_000.0).expect("setNow");
    assert_eq!(state(&r)["events"], json!(8));
    assert_eq!(state(&r)["pending_rewards"], state(&e)["pending_rewards"]);
    assert_eq!(
        to_json(&r.scores().expect("scores")),
        to_json(&e.scores().expect("scores"))
    );
    let learned = |x: &Engine| {
        let p = to_json(&x.export_profile().expect("exportProfile"));
        (p["profile"]["outcomes"].clone(), p["profile"]["id"].clone())
    };
    let (outcomes, id) = learned(&e);
    assert_eq!(learned(&r), (outcomes.clone(), id.clone()));
    assert!(
        id.is_string(),
        "storage consent: a pseudonymous id, got {id}"
    );
    assert!(
        outcomes.to_string().contains("hero-headline"),
        "the rewarded slot is in the learned outcomes: {outcomes}"
    );
    // The restored engine goes on with the same decision ids and random stream.
    for _ in 0..10 {
        let x = to_json(&decide(&e, "hero-headline"));
        let y = to_json(&decide(&r, "hero-headline"));
        for key in ["decision_id", "variant_id", "probability", "source"] {
            assert_eq!(x[key], y[key], "{key}: {x} vs {y}");
        }
    }
    // ... and with the pending decisions: the rewarded one stays rewarded, the others can be.
    expect_code(r.reward(&hero, 1.0), "already_rewarded");
    r.reward(&get_str(&decisions[1], "decision_id"), 0.0)
        .unwrap_or_else(|err| panic!("reward after restore: {}", describe(&err)));
    e.free();
    r.free();
}

#[wasm_bindgen_test]
async fn without_consent_the_defaults_and_the_gate() {
    let b = binding().await;
    let e = b
        .create(&config(), &models(), &js(&json!({"seed": 2, "now": T0})))
        .unwrap_or_else(|err| panic!("Engine.create: {}", describe(&err)));
    e.set_now(T0 + 1_000.0).expect("setNow");
    e.track(&js(
        &json!({"kind": "product_view", "ts": T0 + 1.0, "category": "shoes", "price": 60}),
    ))
    .unwrap_or_else(|err| panic!("track: {}", describe(&err)));

    // No consent: every slot shows its default, snapshots are session-scoped, sync is refused.
    for slot in SLOTS {
        let d = decide(&e, slot);
        assert_eq!(get_str(&d, "source"), "no_consent", "{}", to_json(&d));
        assert_eq!(get_str(&d, "variant_id"), default_variant(slot));
        assert_eq!(get_f64(&d, "probability"), 1.0);
    }
    assert_eq!(e.snapshot_scope().as_string().as_deref(), Some("session"));
    let refused = e.sync_payload().expect("syncPayload");
    assert_eq!(
        get(&refused, "ok").as_bool(),
        Some(false),
        "{}",
        to_json(&refused)
    );
    assert_eq!(get_str(&refused, "refusal.code"), "sync_refused");
    assert_eq!(get_str(&refused, "refusal.missing"), "profile_sync");
    assert!(get(&refused, "payload").is_undefined());

    // Everything granted: personalized decisions, a persistent scope, a sync payload.
    let change = to_json(
        &e.set_consent(&js(&json!({
            "storage": true, "personalization": true, "measurement": true, "profile_sync": true
        })))
        .expect("setConsent"),
    );
    assert_eq!(change["purposes"]["profile_sync"], json!(true), "{change}");
    assert_eq!(
        e.snapshot_scope().as_string().as_deref(),
        Some("persistent")
    );
    assert_ne!(get_str(&decide(&e, "offer"), "source"), "no_consent");
    let ok = e.sync_payload().expect("syncPayload");
    assert_eq!(get(&ok, "ok").as_bool(), Some(true), "{}", to_json(&ok));
    let payload: Value =
        serde_json::from_str(&get_str(&ok, "payload")).expect("the payload is JSON text");
    assert!(payload["id"].is_string(), "{payload}");
    assert!(get(&ok, "refusal").is_undefined());

    // Global Privacy Control blocks the sync again, whatever the host said.
    e.set_gpc(true).expect("setGpc");
    let gpc = e.sync_payload().expect("syncPayload");
    assert_eq!(get(&gpc, "ok").as_bool(), Some(false), "{}", to_json(&gpc));
    let denied = to_json(&get(&gpc, "refusal.denied_by"));
    assert!(
        denied.as_array().is_some_and(|d| d.contains(&json!("gpc"))),
        "{denied}"
    );

    // A TC string that does not decode is refused with its code and fails closed (TCF then
    // allows nothing); the engine goes on, and clearing TCF gives the host's consent back.
    expect_code(e.set_tcf("not a tc string"), "consent_invalid_tcf");
    assert_eq!(state(&e)["consent"]["personalization"], json!(false));
    assert_eq!(get_str(&decide(&e, "layout"), "source"), "no_consent");
    let cleared = to_json(&e.clear_tcf().expect("clearTcf"));
    assert_eq!(
        cleared["purposes"]["personalization"],
        json!(true),
        "{cleared}"
    );
    assert_ne!(get_str(&decide(&e, "layout"), "source"), "no_consent");

    // Withdrawal wipes what was kept and names the storage key to delete.
    let w = to_json(&e.withdraw().expect("withdraw"));
    assert_eq!(w["wiped"], json!(true), "{w}");
    assert!(
        w["delete_keys"]
            .as_array()
            .is_some_and(|k| k.contains(&json!("edgewise:state"))),
        "{w}"
    );
    assert_eq!(e.snapshot_scope().as_string().as_deref(), Some("session"));
    assert_eq!(get_str(&decide(&e, "offer"), "source"), "no_consent");
    e.free();
}

#[wasm_bindgen_test]
async fn bad_input_is_a_coded_error_and_the_engine_keeps_working() {
    let b = binding().await;
    let e = b.engine(3);
    e.set_now(T0 + 1_000.0).expect("setNow");

    // Events.
    expect_code(e.track(&JsValue::from_str("page_view")), "event_malformed");
    expect_code(e.track(&JsValue::NULL), "event_malformed");
    expect_code(e.track(&js(&json!({"ts": T0 + 1.0}))), "event_malformed");
    expect_code(
        e.track(&js(
            &json!({"kind": "click", "ts": T0 + 1.0, "colour": "red"}),
        )),
        "event_malformed",
    );
    expect_code(
        e.track(&js(&json!({"kind": "teleport", "ts": T0 + 1.0}))),
        "event_unknown_kind",
    );
    for price in [f64::NAN, f64::INFINITY] {
        // NaN and Infinity are numbers in JS; JSON.stringify would turn them into null.
        let ev = js(&json!({"kind": "add_to_cart", "ts": T0 + 1.0}));
        set(&ev, "price", JsValue::from_f64(price));
        let message = expect_code(e.track(&ev), "event_invalid_price");
        assert!(message.contains(&format!("{price}")), "{price}: {message}");
    }
    expect_code(
        e.track(&js(
            &json!({"kind": "add_to_cart", "ts": T0 + 1.0, "price": -3}),
        )),
        "event_invalid_price",
    );
    // A batch keeps the good events and reports the bad ones by index.
    let nan_cart = js(&json!({"kind": "add_to_cart", "ts": T0 + 3.0}));
    set(&nan_cart, "price", JsValue::from_f64(f64::NAN));
    let batch = Array::new();
    batch.push(&js(&json!({"kind": "click", "ts": T0 + 2.0})));
    batch.push(&js(&json!({"kind": "bogus"})));
    batch.push(&JsValue::from_f64(42.0));
    batch.push(&js(&json!({"kind": "page_view", "ts": T0 + 3.0})));
    batch.push(&nan_cart);
    let r = to_json(&e.track_many(&batch).expect("trackMany"));
    assert_eq!(r["accepted"], json!(2), "{r}");
    assert_eq!(r["rejected_count"], json!(3), "{r}");
    let rejected: Vec<(u64, &str)> = r["rejected"]
        .as_array()
        .expect("rejected")
        .iter()
        .map(|x| {
            (
                x["index"].as_u64().expect("index"),
                x["code"].as_str().expect("code"),
            )
        })
        .collect();
    assert_eq!(
        rejected,
        [
            (1, "event_unknown_kind"),
            (2, "event_malformed"),
            (4, "event_invalid_price")
        ]
    );
    expect_code(e.track_many(&JsValue::from_str("nope")), "invalid_argument");

    // Decide, reward, consent, clock.
    expect_code(e.decide("sidebar"), "unknown_slot");
    expect_code(e.reward("nope", 1.0), "unknown_decision");
    let d = get_str(&decide(&e, "layout"), "decision_id");
    expect_code(e.reward(&d, 7.0), "invalid_reward");
    expect_code(e.reward(&d, f64::NAN), "invalid_reward");
    expect_code(
        e.set_consent(&js(&json!({"personalisation": true}))),
        "invalid_consent",
    );
    expect_code(e.set_now(f64::NAN), "invalid_clock");

    // Config and models.
    let opts = || js(&json!({"seed": 1, "now": T0}));
    expect_code(
        b.create(&JsValue::from_str("{oops"), &models(), &opts()),
        "config_malformed",
    );
    let v9 = config();
    set(&v9, "version", JsValue::from_f64(9.0));
    expect_code(b.create(&v9, &models(), &opts()), "config_invalid");
    expect_code(
        b.create(&JsValue::from_f64(42.0), &models(), &opts()),
        "invalid_argument",
    );
    let mut bad_rule: Value = serde_json::from_str(CONFIG).expect("config JSON");
    bad_rule["slots"][0]["variants"][1]["eligibility"] = json!("purchase >=");
    expect_code(
        b.create(&js(&bad_rule), &models(), &opts()),
        "config_rule_invalid",
    );
    let html = Array::of1(&model(PURCHASE_MANIFEST, b"<html>not a model</html>"));
    expect_code(b.create(&config(), &html, &opts()), "model_parse_failed");
    let half = Array::of1(&model(
        PURCHASE_MANIFEST,
        &PURCHASE_ONNX[..PURCHASE_ONNX.len() / 2],
    ));
    expect_code(b.create(&config(), &half, &opts()), "model_parse_failed");
    let no_manifest = Array::of1(&model("{}", PURCHASE_ONNX));
    expect_code(
        b.create(&config(), &no_manifest, &opts()),
        "model_manifest_invalid",
    );
    expect_code(
        b.create(&config(), &models(), &js(&json!({"sed": 1}))),
        "invalid_argument",
    );

    // Snapshots.
    let good = bytes(&e.snapshot());
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x10;
    let restore = |bytes: &[u8]| b.restore(&Uint8Array::from(bytes), &config(), &models(), &opts());
    expect_code(restore(&flipped), "snapshot_checksum_mismatch");
    expect_code(restore(&good[..good.len() - 10]), "snapshot_truncated");
    expect_code(restore(&[0u8; 64]), "snapshot_not_recognized");
    expect_code(
        b.restore(&JsValue::from_str("bytes"), &config(), &models(), &opts()),
        "invalid_argument",
    );

    // After all that the engine still tracks, decides and rewards, and holds only the events
    // that were accepted (2 from the batch, 1 now).
    e.track(&js(&json!({"kind": "page_view"})))
        .unwrap_or_else(|err| panic!("track after errors: {}", describe(&err)));
    assert_eq!(state(&e)["events"], json!(3));
    for slot in SLOTS {
        assert!(!get_str(&decide(&e, slot), "decision_id").is_empty());
    }
    e.reward(&d, 1.0)
        .unwrap_or_else(|err| panic!("reward after errors: {}", describe(&err)));
    let again = restore(&good).unwrap_or_else(|err| panic!("restore: {}", describe(&err)));
    again.free();
    e.free();
}

/// Without `now` the engine reads `Date.now()`, in a page and in Node: events without a `ts`
/// are stamped with it, an event stamped by the high-resolution clock
/// (`performance.timeOrigin + performance.now()`, what analytics snippets use) is accepted, and
/// one stamped ten minutes ahead is refused as being in the future.
#[wasm_bindgen_test]
async fn the_real_clock() {
    let b = binding().await;
    let before = js_sys::Date::now();
    let e = b
        .create(&config(), &models(), &js(&json!({"seed": 9})))
        .unwrap_or_else(|err| panic!("Engine.create: {}", describe(&err)));
    e.set_consent(&js(&json!({"personalization": true, "storage": true})))
        .expect("setConsent");
    e.track(&js(&json!({"kind": "page_view"})))
        .unwrap_or_else(|err| panic!("track without ts: {}", describe(&err)));
    let performance = get(&js_sys::global(), "performance");
    if let Some(window) = web_sys::window() {
        let p = window.performance().expect("a page has window.performance");
        assert!(p.time_origin() > 0.0 && p.time_origin() <= js_sys::Date::now());
    }
    let high_res = !performance.is_undefined();
    if high_res {
        let p: web_sys::Performance = performance.unchecked_into();
        let ts = p.time_origin() + p.now();
        e.track(&js(
            &json!({"kind": "product_view", "ts": ts, "category": "shoes", "price": 60}),
        ))
        .unwrap_or_else(|err| panic!("track at performance time {ts}: {}", describe(&err)));
    }
    let after = js_sys::Date::now();
    expect_code(
        e.track(&js(&json!({"kind": "page_view", "ts": after + 600_000.0}))),
        "event_in_future",
    );
    let exported = to_json(&e.export_profile().expect("exportProfile"));
    let events = exported["session"]["events"]
        .as_array()
        .expect("session.events");
    assert_eq!(events.len(), 1 + usize::from(high_res), "{exported}");
    let ts = events[0]["ts"].as_f64().expect("ts");
    assert!(
        (before..=after).contains(&ts),
        "a ts-less event is stamped with Date.now(): {ts} not in [{before}, {after}]"
    );
    let d = decide(&e, "hero-headline");
    e.reward(&get_str(&d, "decision_id"), 1.0)
        .unwrap_or_else(|err| panic!("reward on the real clock: {}", describe(&err)));
    e.free();
}

// ---------------------------------------------------------------------------------------------
// In a page only

/// The page's `window`, or `None` in Node. Anything that is neither is a broken setup, not a
/// reason to skip.
fn page() -> Option<web_sys::Window> {
    let window = web_sys::window();
    if window.is_none() {
        let node = get(&js_sys::global(), "process.versions.node");
        assert!(
            node.is_string(),
            "neither a browser window nor Node: the runner's environment is unknown"
        );
        console_log!("not in a page (Node {:?}): skipped", node.as_string());
    }
    window
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length {}", s.len());
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// What the README tells a page to do: keep `snapshot()` in `localStorage` when
/// `snapshotScope()` is "persistent" and in `sessionStorage` when it is "session", restore from
/// there on the next page, and delete `delete_keys` on withdrawal. On the page's clock.
#[wasm_bindgen_test]
async fn snapshots_live_in_web_storage_by_scope() {
    let Some(window) = page() else { return };
    let b = binding().await;
    let local = window
        .local_storage()
        .ok()
        .flatten()
        .expect("window.localStorage");
    let session = window
        .session_storage()
        .ok()
        .flatten()
        .expect("window.sessionStorage");
    const KEY: &str = "edgewise:state";
    for s in [&local, &session] {
        s.remove_item(KEY).expect("removeItem");
    }
    let restore = |stored: &str| {
        b.restore(
            &Uint8Array::from(&from_hex(stored)[..]),
            &config(),
            &models(),
            &JsValue::UNDEFINED,
        )
        .unwrap_or_else(|err| panic!("restore from Web Storage: {}", describe(&err)))
    };

    // Page 1, with storage consent: learn something, store it where the scope says.
    let e = b
        .create(&config(), &models(), &js(&json!({"seed": 11})))
        .unwrap_or_else(|err| panic!("Engine.create: {}", describe(&err)));
    e.set_consent(&js(&json!({"personalization": true, "storage": true})))
        .expect("setConsent");
    e.track(&js(
        &json!({"kind": "add_to_cart", "category": "shoes", "price": 60}),
    ))
    .unwrap_or_else(|err| panic!("track: {}", describe(&err)));
    let d = get_str(&decide(&e, "offer"), "decision_id");
    e.reward(&d, 1.0).expect("reward");
    assert_eq!(
        e.snapshot_scope().as_string().as_deref(),
        Some("persistent")
    );
    local
        .set_item(KEY, &to_hex(&bytes(&e.snapshot())))
        .expect("localStorage.setItem");

    // Page 2: restore from localStorage.
    let stored = local
        .get_item(KEY)
        .expect("getItem")
        .expect("the snapshot is in localStorage");
    let r = restore(&stored);
    r.set_consent(&js(&json!({"personalization": true, "storage": true})))
        .expect("setConsent");
    assert_eq!(state(&r)["events"], json!(1));
    expect_code(r.reward(&d, 1.0), "already_rewarded");
    let outcomes = |x: &Engine| {
        to_json(&x.export_profile().expect("exportProfile"))["profile"]["outcomes"].clone()
    };
    assert_eq!(outcomes(&r), outcomes(&e));

    // Withdrawal: the page deletes what it is told to, and nothing is left in storage.
    let w = to_json(&r.withdraw().expect("withdraw"));
    for key in w["delete_keys"].as_array().expect("delete_keys") {
        let key = key.as_str().expect("a key is text");
        local.remove_item(key).expect("removeItem");
        session.remove_item(key).expect("removeItem");
    }
    assert_eq!(local.get_item(KEY).expect("getItem"), None, "{w}");

    // Without storage consent: session scope, sessionStorage, restorable within the session.
    let s = b
        .create(&config(), &models(), &js(&json!({"seed": 12})))
        .unwrap_or_else(|err| panic!("Engine.create: {}", describe(&err)));
    s.set_consent(&js(&json!({"personalization": true})))
        .expect("setConsent");
    s.track(&js(&json!({"kind": "page_view"}))).expect("track");
    assert_eq!(s.snapshot_scope().as_string().as_deref(), Some("session"));
    session
        .set_item(KEY, &to_hex(&bytes(&s.snapshot())))
        .expect("sessionStorage.setItem");
    let stored = session
        .get_item(KEY)
        .expect("getItem")
        .expect("the snapshot is in sessionStorage");
    let s2 = restore(&stored);
    assert_eq!(state(&s2)["events"], json!(1));
    let p = to_json(&s2.export_profile().expect("exportProfile"));
    assert!(p["profile"]["id"].is_null(), "no id without storage: {p}");
    session.remove_item(KEY).expect("removeItem");
    for x in [e, r, s, s2] {
        x.free();
    }
}
