//! The wasm-bindgen binding: the only module that knows about JavaScript. It converts JS values
//! in and out (`JSON.stringify` + borrowed serde_json parsing for events and config,
//! serde_json + `JSON.parse` for results),
//! reads the clock, and turns every [`Error`] into a JS `Error` whose `code` is
//! [`Error::code`]. Nothing here panics on input; the core never sees a `JsValue`.

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use crate::decision::{
    Choice, Engine, EngineConfig, EngineOptions, Prepared, Rejected, TrackReport,
};
use crate::error::{json_error, Error};
use crate::event::EventInput;
use crate::features::Context;
use crate::model::PropensityModel;
use crate::Purposes;

fn js_error(code: &str, message: &str) -> JsValue {
    let err = js_sys::Error::new(message);
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&err, &JsValue::from_str("code"), &JsValue::from_str(code));
    err.into()
}

fn to_js(e: Error) -> JsValue {
    js_error(e.code(), &e.to_string())
}

fn bad_arg(message: &str) -> JsValue {
    js_error("invalid_argument", message)
}

/// A gated payload as `{ok: true, payload}` or `{ok: false, refusal}`.
fn gated(r: Result<String, crate::profile::Refusal>) -> Result<JsValue, JsValue> {
    match r {
        Ok(payload) => serialize(&serde_json::json!({"ok": true, "payload": payload})),
        Err(refusal) => serialize(&serde_json::json!({"ok": false, "refusal": refusal})),
    }
}

/// Results cross as one JSON text and one `JSON.parse`: building the object property by
/// property from Rust (serde-wasm-bindgen) crossed the boundary per field and cost ~30x more
/// for a decision.
fn serialize<T: Serialize>(v: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(v).map_err(|e| js_error("internal", &e.to_string()))?;
    js_sys::JSON::parse(&text).map_err(|_| js_error("internal", "result JSON did not parse"))
}

/// A JSON text, or an object turned into JSON text.
fn json_text(v: &JsValue, what: &str) -> Result<String, JsValue> {
    if let Some(s) = v.as_string() {
        return Ok(s);
    }
    if v.is_object() {
        return js_sys::JSON::stringify(v)
            .ok()
            .and_then(|s| s.as_string())
            .ok_or_else(|| bad_arg(&format!("{what} could not be turned into JSON")));
    }
    Err(bad_arg(&format!(
        "{what} must be an object or a JSON string"
    )))
}

/// Event objects per `trackMany` call: their JSON text is copied into linear memory at once
/// (about 100 B an event), and linear memory never shrinks. Columnar batches have no limit.
const MAX_OBJECT_BATCH: usize = 65_536;

/// Property `key` of `v`; `undefined` when absent or when `v` is not an object.
fn prop(v: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(v, &JsValue::from_str(key)).unwrap_or_default()
}

/// An event must be a plain object; its JSON text.
fn event_json(v: &JsValue) -> Result<String, JsValue> {
    if !v.is_object() || js_sys::Array::is_array(v) {
        return Err(js_error(
            "event_malformed",
            "malformed event: expected an object like {kind: \"page_view\"}",
        ));
    }
    let text = json_text(v, "event")?;
    if text.contains("null") {
        if let Some((code, message)) = non_finite_field(v) {
            return Err(js_error(code, &message));
        }
    }
    Ok(text)
}

/// `JSON.stringify` writes NaN and ±Infinity as `null`, which would read as "absent". Only when
/// the JSON text holds a `null` (rare) do we look at the numeric fields of the original object
/// and refuse non-finite numbers with the same codes the core uses.
fn non_finite_field(v: &JsValue) -> Option<(&'static str, String)> {
    for (field, code) in [
        ("ts", "event_invalid_timestamp"),
        ("price", "event_invalid_price"),
        ("value", "event_invalid_value"),
    ] {
        if let Some(x) = prop(v, field).as_f64().filter(|x| !x.is_finite()) {
            return Some((
                code,
                format!("invalid event: {field} is {x}; it must be a finite number"),
            ));
        }
    }
    None
}

fn parse_config(v: &JsValue) -> Result<EngineConfig, JsValue> {
    EngineConfig::from_json(&json_text(v, "config")?).map_err(|e| to_js(e.into()))
}

fn bytes_of(v: &JsValue, what: &str) -> Result<Vec<u8>, JsValue> {
    if let Some(u8a) = v.dyn_ref::<js_sys::Uint8Array>() {
        return Ok(u8a.to_vec());
    }
    if let Some(buf) = v.dyn_ref::<js_sys::ArrayBuffer>() {
        return Ok(js_sys::Uint8Array::new(buf).to_vec());
    }
    Err(bad_arg(&format!(
        "{what} must be a Uint8Array or an ArrayBuffer"
    )))
}

fn load_models(models: &JsValue) -> Result<Vec<PropensityModel>, JsValue> {
    if models.is_undefined() || models.is_null() {
        return Ok(Vec::new());
    }
    let arr = models
        .dyn_ref::<js_sys::Array>()
        .ok_or_else(|| bad_arg("models must be an array of {manifest, onnx} or {compiled}"))?;
    let mut out = Vec::with_capacity(arr.length() as usize);
    for (i, m) in arr.iter().enumerate() {
        let get = |k: &str| prop(&m, k);
        let compiled = get("compiled");
        let model = if !compiled.is_undefined() {
            // A compiled model: JSON text, an object, or its bytes.
            let bytes = match compiled.dyn_ref::<js_sys::Uint8Array>() {
                Some(_) => bytes_of(&compiled, &format!("models[{i}].compiled"))?,
                None => json_text(&compiled, &format!("models[{i}].compiled"))?.into_bytes(),
            };
            PropensityModel::load_compiled(&bytes)
        } else {
            let manifest = json_text(&get("manifest"), &format!("models[{i}].manifest"))?;
            let onnx = bytes_of(&get("onnx"), &format!("models[{i}].onnx"))?;
            PropensityModel::load(&manifest, &onnx)
        };
        out.push(model.map_err(|e| to_js(e.into()))?);
    }
    Ok(out)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
struct JsOptions {
    /// Number (integer up to 2^53) or decimal string.
    seed: Option<serde_json::Value>,
    session_start: Option<f64>,
    visitor_id: Option<String>,
    /// Fix the clock (ms since the epoch) instead of reading Date.now(); for tests.
    now: Option<f64>,
}

fn parse_options(v: &JsValue) -> Result<(EngineOptions, Option<f64>), JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok((EngineOptions::default(), None));
    }
    let o: JsOptions = serde_json::from_str(&json_text(v, "options")?).map_err(|e| {
        bad_arg(&format!(
            "options: {} (known: seed, sessionStart, visitorId, now)",
            json_error(&e)
        ))
    })?;
    let seed = match o.seed {
        None => None,
        Some(serde_json::Value::Number(n)) => Some(
            n.as_u64()
                .ok_or_else(|| bad_arg("options.seed must be a non-negative integer"))?,
        ),
        Some(serde_json::Value::String(s)) => Some(
            s.parse()
                .map_err(|_| bad_arg("options.seed must be an integer"))?,
        ),
        Some(_) => return Err(bad_arg("options.seed must be an integer")),
    };
    Ok((
        EngineOptions {
            seed,
            session_start: o.session_start,
            visitor_id: o.visitor_id,
        },
        o.now,
    ))
}

/// Models and an engine config parsed and checked once, for many engines (JS class
/// `Shared`): an edge isolate loads them at start and gives each request's engine a copy, so a
/// request pays neither the ONNX decoding and compiling nor the config parsing again.
#[wasm_bindgen(js_name = Shared)]
pub struct JsShared {
    /// The config checked against the models once (`Engine::prepare`), shared by its engines.
    prepared: Prepared,
    models: Vec<PropensityModel>,
    /// The config's strings as JS values, made by the first of its engines that needs them and
    /// kept for the others (an edge isolate's requests; ~60 µs each otherwise).
    views: SharedViews,
}

/// [`Views`] made at most once, shared by the engines of one config.
type SharedViews = std::rc::Rc<std::cell::OnceCell<Views>>;

#[wasm_bindgen(js_class = Shared)]
impl JsShared {
    /// `Shared.load(config, models)`: the arguments of `Engine.create`. Throws what `create`
    /// would for a bad config or model, and `invalid_argument` for a model that cannot be shared
    /// (one that runs on tract).
    pub fn load(config: JsValue, models: JsValue) -> Result<JsShared, JsValue> {
        let config = parse_config(&config)?;
        let models = load_models(&models)?;
        if models.iter().any(|m| m.try_clone().is_none()) {
            return Err(bad_arg(
                "a model running on tract cannot be shared between engines; pass it to Engine.create",
            ));
        }
        Ok(JsShared {
            prepared: Engine::prepare(config, &models).map_err(to_js)?,
            models,
            views: SharedViews::default(),
        })
    }

    fn models(&self) -> Vec<PropensityModel> {
        self.models.iter().filter_map(|m| m.try_clone()).collect()
    }
}

/// The edgewise engine for one visitor (JS class `Engine`).
#[wasm_bindgen(js_name = Engine)]
pub struct JsEngine {
    inner: Engine,
    fixed_now: Option<f64>,
    /// The latest time the engine has seen: its clock never goes back (a host clock that jumps
    /// backwards, or a page whose clock is behind the restored session's, would otherwise make
    /// every event "before the session start" and close reward windows out of order).
    latest: std::cell::Cell<f64>,
    /// The config's strings as JS values, made on the first lean decision (see [`Views`]);
    /// shared with the other engines of a [`JsShared`].
    views: SharedViews,
    /// The last decision's buffers, reused by the next (`Engine::choose_into`).
    choice: Choice,
}

// A decision as one JS object literal from values made once: no JSON text, no JSON.parse, no
// UTF-8 decoding but the decision id's (JSON.parse of the ~300 B result was a quarter of a
// lean decide in Node). `q` is the variant's `{slot, variant_id, kind, content, tags}` made once
// per engine, spread first so the keys keep the order of the JSON results; an object content
// (`o`: an offer's flat object of texts, so a shallow copy is a full one) and the tags are
// copied, so every decision owns what it holds. Up to four scores cross as plain numbers (the
// script include's glue needs no array view); more models take the JSON path.
#[wasm_bindgen(
    inline_js = "export function ew_decision(i,q,o,p,n,a,b,e,f,r){const x=[a,b,e,f],m={};for(let j=0;j<n.length;j++)m[n[j]]=x[j];return{decision_id:i,...q,content:o?{...q.content}:q.content,tags:q.tags.slice(),probability:p,scores:m,source:r,reasons:[]}}"
)]
extern "C" {
    #[allow(clippy::too_many_arguments)]
    fn ew_decision(
        id: &str,
        variant: &JsValue,
        copy: bool,
        probability: f64,
        names: &JsValue,
        s0: f64,
        s1: f64,
        s2: f64,
        s3: f64,
        source: &JsValue,
    ) -> JsValue;
}

/// One variant's fixed fields as a JS object `{slot, variant_id, kind, content, tags}`; `copy`
/// when the content is an object (copied for each decision; a text is immutable).
struct VariantJs {
    fields: JsValue,
    copy: bool,
}

/// The engine config's strings as JS values, made once per engine or per [`JsShared`].
struct Views {
    /// Per slot, per variant.
    slots: Vec<Vec<VariantJs>>,
    /// Score names in model order.
    names: JsValue,
    /// The names of [`Source::ALL`](crate::decision::Source::ALL), in its order.
    sources: Vec<JsValue>,
}

impl Views {
    fn of(engine: &Engine) -> Result<Views, JsValue> {
        let mut slots = Vec::new();
        for s in engine.slot_configs() {
            let mut variants = Vec::with_capacity(s.variants.len());
            for v in &s.variants {
                let copy = v.content.is_object();
                // A struct, not json!: the keys in the order of a decision's.
                #[derive(Serialize)]
                struct Fields<'a> {
                    slot: &'a str,
                    variant_id: &'a str,
                    kind: crate::decision::VariantKind,
                    content: &'a serde_json::Value,
                    tags: &'a [String],
                }
                let fields = Fields {
                    slot: &s.id,
                    variant_id: &v.id,
                    kind: v.kind,
                    content: &v.content,
                    tags: &v.tags,
                };
                variants.push(VariantJs {
                    fields: serialize(&fields)?,
                    copy,
                });
            }
            slots.push(variants);
        }
        Ok(Views {
            slots,
            names: serialize(&engine.score_names())?,
            sources: crate::decision::Source::ALL
                .iter()
                .map(serialize)
                .collect::<Result<_, _>>()?,
        })
    }
}

/// The number a JSON round trip of a score gives (its shortest decimal form read as f64), so
/// that a lean decision's scores equal `scores()` and an explained decision's to the last bit.
fn js_number(x: f32) -> f64 {
    if !x.is_finite() {
        return f64::NAN;
    }
    let mut b = zmij::Buffer::new();
    b.format_finite(x).parse().unwrap_or(f64::from(x))
}

#[wasm_bindgen(js_class = Engine)]
impl JsEngine {
    fn now(&self) -> f64 {
        if let Some(t) = self.fixed_now {
            return t;
        }
        let t = js_sys::Date::now().max(self.latest.get());
        self.latest.set(t);
        t
    }

    fn with_clock(inner: Engine, fixed_now: Option<f64>, now: f64, views: SharedViews) -> JsEngine {
        // A restored session may be ahead of this page's clock: start from its newest time.
        let s = inner.session();
        let seen = s.iter().map(|e| e.ts).fold(s.start_ms().max(now), f64::max);
        JsEngine {
            inner,
            fixed_now,
            latest: std::cell::Cell::new(seen),
            views,
            choice: Choice::default(),
        }
    }

    /// A fresh engine (`create`, `createShared`), the clock from `options.now` or `Date.now()`.
    fn made(
        prepared: &Prepared,
        models: Vec<PropensityModel>,
        options: &JsValue,
        views: SharedViews,
    ) -> Result<JsEngine, JsValue> {
        let (opts, fixed_now) = parse_options(options)?;
        let now = fixed_now.unwrap_or_else(js_sys::Date::now);
        let inner = Engine::with(prepared, models, opts, now).map_err(to_js)?;
        Ok(JsEngine::with_clock(inner, fixed_now, now, views))
    }

    /// An engine from snapshot bytes (`restore`, `restoreShared`).
    fn restored(
        bytes: &[u8],
        prepared: &Prepared,
        models: Vec<PropensityModel>,
        options: &JsValue,
        views: SharedViews,
    ) -> Result<JsEngine, JsValue> {
        let (_, fixed_now) = parse_options(options)?;
        let now = fixed_now.unwrap_or_else(js_sys::Date::now);
        let inner = Engine::restore_with(bytes, prepared, models, now).map_err(to_js)?;
        Ok(JsEngine::with_clock(inner, fixed_now, now, views))
    }

    /// `Engine.create(config, models, options?)`: config is an object or JSON text; models an
    /// array of `{manifest, onnx}` (manifest object or JSON text, onnx a Uint8Array);
    /// options `{seed, sessionStart, visitorId, now}`.
    pub fn create(config: JsValue, models: JsValue, options: JsValue) -> Result<JsEngine, JsValue> {
        let config = parse_config(&config)?;
        let models = load_models(&models)?;
        let prepared = Engine::prepare(config, &models).map_err(to_js)?;
        Self::made(&prepared, models, &options, SharedViews::default())
    }

    /// `Engine.restore(bytes, config, models, options?)`: an engine from `snapshot()` bytes.
    pub fn restore(
        bytes: JsValue,
        config: JsValue,
        models: JsValue,
        options: JsValue,
    ) -> Result<JsEngine, JsValue> {
        let bytes = bytes_of(&bytes, "snapshot")?;
        let config = parse_config(&config)?;
        let models = load_models(&models)?;
        let prepared = Engine::prepare(config, &models).map_err(to_js)?;
        Self::restored(&bytes, &prepared, models, &options, SharedViews::default())
    }

    /// `Engine.createShared(shared, options?)`: like `create`, with the config and models of a
    /// [`Shared`] (no parsing, no model loading).
    #[wasm_bindgen(js_name = createShared)]
    pub fn create_shared(shared: &JsShared, options: JsValue) -> Result<JsEngine, JsValue> {
        Self::made(
            &shared.prepared,
            shared.models(),
            &options,
            shared.views.clone(),
        )
    }

    /// `Engine.restoreShared(bytes, shared, options?)`: like `restore`, with a [`Shared`].
    #[wasm_bindgen(js_name = restoreShared)]
    pub fn restore_shared(
        bytes: JsValue,
        shared: &JsShared,
        options: JsValue,
    ) -> Result<JsEngine, JsValue> {
        let bytes = bytes_of(&bytes, "snapshot")?;
        Self::restored(
            &bytes,
            &shared.prepared,
            shared.models(),
            &options,
            shared.views.clone(),
        )
    }

    /// Records one event `{kind, ts?, category?, price?, item_id?, query?, name?, value?}`.
    pub fn track(&mut self, event: JsValue) -> Result<(), JsValue> {
        let now = self.now();
        let text = event_json(&event)?;
        let ev: EventInput<'_> = serde_json::from_str(&text).map_err(|e| {
            js_error(
                "event_malformed",
                &format!("malformed event: {}", json_error(&e)),
            )
        })?;
        self.inner.track(&ev, now).map_err(to_js)
    }

    /// Records an array of events; returns `{accepted, rejected: [{index, code, message}], rejected_count}`.
    /// Valid events are kept even when others in the batch are rejected.
    ///
    /// Or a columnar batch, the fast path (no JSON): `{kind: Uint8Array, ts: Float64Array,
    /// value?: Float64Array, price?: Float64Array, category?, item_id?, query?, name?}` with
    /// `kind[i]` a code from `eventKinds()`, `NaN` for an absent `ts` (the engine clock),
    /// `value` or `price`, and the string columns arrays of strings (`null`/`undefined` =
    /// absent). Every column has the batch's length.
    #[wasm_bindgen(js_name = trackMany)]
    pub fn track_many(&mut self, events: JsValue) -> Result<JsValue, JsValue> {
        let now = self.now();
        if !js_sys::Array::is_array(&events) {
            if events.is_object() {
                let report = self.track_columns(&events, now)?;
                return serialize(&report);
            }
            return Err(bad_arg(
                "trackMany takes an array of events or a columnar batch {kind: Uint8Array, ts: Float64Array, ...}",
            ));
        }
        // The batch's JSON text is copied into linear memory, which never shrinks: bounded.
        let n = prop(&events, "length").as_f64().unwrap_or(0.0);
        if n > MAX_OBJECT_BATCH as f64 {
            return Err(bad_arg(&format!(
                "trackMany takes at most {MAX_OBJECT_BATCH} event objects per call (got {n}): split the batch, or use the columnar form"
            )));
        }
        // One JSON.stringify for the whole batch, then borrowed parsing in Rust: far cheaper
        // than a JS property lookup per field, and unknown fields are caught.
        let text = json_text(&events, "events")?;
        let items: Vec<&serde_json::value::RawValue> = serde_json::from_str(&text)
            .map_err(|e| bad_arg(&format!("events: {}", json_error(&e))))?;
        let mut parsed = Vec::with_capacity(items.len());
        let mut index = Vec::with_capacity(items.len());
        let mut malformed = Vec::new();
        for (i, raw) in items.iter().enumerate() {
            if raw.get().contains("null") {
                let original = js_sys::Reflect::get_u32(&events, i as u32).unwrap_or_default();
                if let Some((code, message)) = non_finite_field(&original) {
                    malformed.push(Rejected {
                        index: i,
                        code: code.into(),
                        message,
                    });
                    continue;
                }
            }
            match serde_json::from_str::<EventInput<'_>>(raw.get()) {
                Ok(ev) => {
                    parsed.push(ev);
                    index.push(i);
                }
                Err(e) => malformed.push(Rejected {
                    index: i,
                    code: "event_malformed".into(),
                    message: format!("malformed event: {}", json_error(&e)),
                }),
            }
        }
        let mut report = self.inner.track_many(&parsed, now).map_err(to_js)?;
        // Map indices back to the caller's array and merge the malformed ones.
        for r in &mut report.rejected {
            r.index = index.get(r.index).copied().unwrap_or(r.index);
        }
        let total_rejected = report.rejected_count + malformed.len();
        let mut rejected: Vec<Rejected> = malformed.into_iter().chain(report.rejected).collect();
        rejected.sort_by_key(|r| r.index);
        rejected.truncate(100);
        serialize(&TrackReport {
            accepted: report.accepted,
            rejected,
            rejected_count: total_rejected,
        })
    }

    /// Chooses the variant of `slot`: `{decision_id, slot, variant_id, kind, content, tags,
    /// probability, scores, source, reasons, arms}`. `explain: false` (the rendering path)
    /// leaves out the `reasons` sentences and the `arms` table — the same choice, learning and
    /// `source`, and a smaller result to build.
    pub fn decide(&mut self, slot: &str, explain: Option<bool>) -> Result<JsValue, JsValue> {
        let now = self.now();
        self.inner
            .choose_into(slot, now, explain.unwrap_or(true), &mut self.choice)
            .map_err(to_js)?;
        match self.lean_decision(&self.choice)? {
            Some(js) => Ok(js),
            // The JSON path takes the choice's buffers into the `Decision` (it allocates anyway).
            None => serialize(&self.inner.decision(std::mem::take(&mut self.choice))),
        }
    }

    /// The decision as one JS object from the values in [`Views`] (see `ew_decision`); `None`
    /// for a decision that takes the JSON path (reasons, arms, a failed or fifth score).
    fn lean_decision(&self, c: &Choice) -> Result<Option<JsValue>, JsValue> {
        if !c.reasons.is_empty() || !c.arms.is_empty() {
            return Ok(None);
        }
        if self.views.get().is_none() {
            let _ = self.views.set(Views::of(&self.inner)?);
        }
        let views = self.views.get();
        let variant = views.and_then(|v| v.slots.get(c.slot)?.get(c.arm));
        let source = crate::decision::Source::ALL
            .iter()
            .position(|s| *s == c.source)
            .and_then(|i| views.and_then(|v| v.sources.get(i)));
        let (Some(views), Some(v), Some(source)) = (views, variant, source) else {
            return Ok(None);
        };
        // A decision without reasons had every model's score (a failed model makes an `error`
        // default, which says why); anything else takes the JSON path.
        let mut scores = [f64::NAN; 4];
        if c.scores.len() != self.inner.score_names().len()
            || c.scores.len() > scores.len()
            || c.scores.iter().any(Option::is_none)
        {
            return Ok(None);
        }
        for (d, s) in scores.iter_mut().zip(&c.scores) {
            *d = s.map_or(f64::NAN, js_number);
        }
        let [s0, s1, s2, s3] = scores;
        Ok(Some(ew_decision(
            &c.decision_id,
            &v.fields,
            v.copy,
            c.probability,
            &views.names,
            s0,
            s1,
            s2,
            s3,
            source,
        )))
    }

    /// Feeds the outcome (0..1) of a decision back to the policy.
    pub fn reward(&mut self, decision_id: &str, value: f64) -> Result<(), JsValue> {
        let now = self.now();
        self.inner.reward(decision_id, value, now).map_err(to_js)
    }

    /// Reports that a decision was shown to the visitor (config `exposure: "explicit"`; with
    /// the default `"on_decide"` it changes nothing). Throws `unknown_decision` /
    /// `reward_window_closed` for ids it does not hold.
    pub fn expose(&mut self, decision_id: &str) -> Result<(), JsValue> {
        let now = self.now();
        self.inner.expose(decision_id, now).map_err(to_js)
    }

    /// Versioned, checksummed state bytes, released by the consent gate: see `snapshotScope`.
    pub fn snapshot(&self) -> Vec<u8> {
        self.inner.snapshot().bytes
    }

    /// Where `snapshot()` bytes may be kept: `"persistent"` (storage consent: localStorage) or
    /// `"session"` (sessionStorage only; `restore` refuses them after the session).
    #[wasm_bindgen(js_name = snapshotScope)]
    pub fn snapshot_scope(&self) -> String {
        crate::profile::scope(&self.inner.consent())
            .as_str()
            .to_owned()
    }

    /// The host's explicit consent `{storage, personalization, measurement, profile_sync}`
    /// (missing keys are false). Returns the change: `{purposes, session_personalization,
    /// withdrawn, wiped, delete_keys}` — delete every key in `delete_keys` from storage.
    #[wasm_bindgen(js_name = setConsent)]
    pub fn set_consent(&mut self, purposes: JsValue) -> Result<JsValue, JsValue> {
        let p: Purposes = serde_json::from_str(&json_text(&purposes, "consent")?).map_err(|e| {
            js_error(
                "invalid_consent",
                &format!(
                    "consent: {} (known: storage, personalization, measurement, profile_sync)",
                    json_error(&e)
                ),
            )
        })?;
        let now = self.now();
        serialize(&self.inner.set_consent(p, now))
    }

    /// An IAB TCF v2.2 TC string (from `__tcfapi('addEventListener', …)`). Throws
    /// `consent_invalid_tcf` for a string that does not decode; TCF then allows nothing, and the
    /// error's `change` is that consent change (its `delete_keys` are still to be deleted).
    #[wasm_bindgen(js_name = setTcf)]
    pub fn set_tcf(&mut self, tc_string: &str) -> Result<JsValue, JsValue> {
        let now = self.now();
        let (change, error) = self.inner.set_tcf_reporting(tc_string, now);
        let change = serialize(&change)?;
        match error {
            None => Ok(change),
            Some(e) => {
                let err = to_js(e);
                // Setting a property on a fresh Error object cannot fail.
                let _ = js_sys::Reflect::set(&err, &JsValue::from_str("change"), &change);
                Err(err)
            }
        }
    }

    /// TCF does not apply (`gdprApplies: false`).
    #[wasm_bindgen(js_name = clearTcf)]
    pub fn clear_tcf(&mut self) -> Result<JsValue, JsValue> {
        let now = self.now();
        serialize(&self.inner.clear_tcf(now))
    }

    /// `navigator.globalPrivacyControl` (or the `Sec-GPC: 1` header at the edge).
    #[wasm_bindgen(js_name = setGpc)]
    pub fn set_gpc(&mut self, gpc: bool) -> Result<JsValue, JsValue> {
        let now = self.now();
        serialize(&self.inner.set_gpc(gpc, now))
    }

    /// Google Consent Mode v2: `{ad_storage, analytics_storage, ad_user_data,
    /// ad_personalization, …: "granted" | "denied"}` (an update).
    #[wasm_bindgen(js_name = setConsentMode)]
    pub fn set_consent_mode(&mut self, signals: JsValue) -> Result<JsValue, JsValue> {
        let text = json_text(&signals, "consent mode signals")?;
        let s =
            crate::consent::ConsentModeSignals::from_json(&text).map_err(|e| to_js(e.into()))?;
        let now = self.now();
        serialize(&self.inner.set_consent_mode(&s, now))
    }

    /// The visitor withdraws all consent: state and ids are wiped; delete `delete_keys`.
    pub fn withdraw(&mut self) -> Result<JsValue, JsValue> {
        let now = self.now();
        serialize(&self.inner.withdraw(now))
    }

    /// Which purposes are allowed, by which source, since when.
    #[wasm_bindgen(js_name = consentReceipt)]
    pub fn consent_receipt(&self) -> Result<JsValue, JsValue> {
        serialize(self.inner.consent_receipt())
    }

    /// `{ok: true, payload}` (the profile JSON for the site's server) or `{ok: false,
    /// refusal: {code, missing, denied_by, message}}` without `profile_sync` consent.
    #[wasm_bindgen(js_name = syncPayload)]
    pub fn sync_payload(&mut self) -> Result<JsValue, JsValue> {
        let now = self.now();
        gated(self.inner.sync_payload(now))
    }

    /// Like `syncPayload`, for aggregated outcomes (needs `measurement`).
    #[wasm_bindgen(js_name = measurementPayload)]
    pub fn measurement_payload(&self) -> Result<JsValue, JsValue> {
        let now = self.now();
        gated(self.inner.measurement_payload(now))
    }

    /// `measurementPayload`'s numbers as a `Float64Array` — `[shown, reward]` of every
    /// variant, slot by slot in config order — or `undefined` when the measurement purpose is
    /// refused (`measurementPayload` says by whom). No JSON either way.
    #[wasm_bindgen(js_name = measurementCounts)]
    pub fn measurement_counts(&self) -> Option<Vec<f64>> {
        self.inner.measurement_counts().ok()
    }

    /// Everything held about the visitor, as readable JSON (GDPR access).
    #[wasm_bindgen(js_name = exportProfile)]
    pub fn export_profile(&mut self) -> Result<JsValue, JsValue> {
        let now = self.now();
        serialize(&self.inner.export_profile(now))
    }

    /// Host context, e.g. `{device: "mobile", hour_of_day: 14}`.
    #[wasm_bindgen(js_name = setContext)]
    pub fn set_context(&mut self, ctx: JsValue) -> Result<(), JsValue> {
        let c: Context = serde_json::from_str(&json_text(&ctx, "context")?).map_err(|e| {
            js_error(
                "invalid_context",
                &format!("context values must be numbers or text: {}", json_error(&e)),
            )
        })?;
        self.inner.set_context(c).map_err(to_js)
    }

    /// Fixes the engine clock (ms since the epoch), for tests and replays.
    #[wasm_bindgen(js_name = setNow)]
    pub fn set_now(&mut self, now: f64) -> Result<(), JsValue> {
        if !(now.is_finite() && now > 0.0) {
            return Err(js_error("invalid_clock", "setNow takes ms since the epoch"));
        }
        self.fixed_now = Some(now);
        Ok(())
    }

    /// Current scores `{name: probability}` (a failing model is left out).
    pub fn scores(&mut self) -> Result<JsValue, JsValue> {
        let now = self.now();
        let (scores, _) = self.inner.scores(now);
        let names: Vec<&str> = self.inner.models().iter().map(|m| m.score_name()).collect();
        let map: std::collections::BTreeMap<&str, f32> = names
            .into_iter()
            .zip(scores)
            .filter_map(|(n, s)| s.map(|p| (n, p)))
            .collect();
        serialize(&map)
    }

    /// A summary for debug panels: events in the window, total, consent, holdout, pending rewards.
    pub fn state(&self) -> Result<JsValue, JsValue> {
        #[derive(Serialize)]
        struct State<'a> {
            events: usize,
            total_events: u64,
            consent: Purposes,
            holdout: bool,
            pending_rewards: usize,
            models: Vec<&'a str>,
            restore_notes: &'a [String],
        }
        serialize(&State {
            events: self.inner.session().len(),
            total_events: self.inner.session().total(),
            consent: self.inner.consent(),
            holdout: self.inner.in_holdout(),
            pending_rewards: self.inner.pending_count(),
            models: self.inner.models().iter().map(|m| m.name()).collect(),
            restore_notes: self.inner.restore_notes(),
        })
    }
}

const COLUMNS: [&str; 8] = [
    "kind", "ts", "value", "price", "category", "item_id", "query", "name",
];

/// A batch column must have the `kind` column's length.
fn same_length(key: &str, len: usize, n: usize) -> Result<(), JsValue> {
    if len == n {
        return Ok(());
    }
    Err(bad_arg(&format!(
        "trackMany batch: `{key}` has {len} entries, `kind` has {n}"
    )))
}

/// A numeric column of a columnar batch: absent, or a `Float64Array` of `n` entries. Read as
/// the bytes of its buffer (the glue functions this needs are the ones `Uint8Array` input
/// already uses, which keeps the script include small).
fn f64_column(batch: &JsValue, key: &str, n: usize) -> Result<Option<Vec<f64>>, JsValue> {
    let v = prop(batch, key);
    if v.is_undefined() {
        return Ok(None);
    }
    let kind = prop(&prop(&v, "constructor"), "name").as_string();
    if kind.as_deref() != Some("Float64Array") {
        return Err(bad_arg(&format!(
            "trackMany batch: `{key}` must be a Float64Array (NaN = absent)"
        )));
    }
    let num = |k: &str| prop(&v, k).as_f64().unwrap_or(0.0) as u32;
    let len = num("length");
    same_length(key, len as usize, n)?;
    let bytes = js_sys::Uint8Array::new_with_byte_offset_and_length(
        &prop(&v, "buffer"),
        num("byteOffset"),
        len.saturating_mul(8),
    )
    .to_vec();
    Ok(Some(
        bytes
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect(),
    ))
}

/// A string column of a columnar batch: absent, or an array of `n` strings or null/undefined
/// (one `JSON.stringify` for the column: string columns are the rare, slow part of a batch).
fn str_column(
    batch: &JsValue,
    key: &str,
    n: usize,
) -> Result<Option<Vec<Option<String>>>, JsValue> {
    let v = prop(batch, key);
    if v.is_undefined() {
        return Ok(None);
    }
    let wrong = || {
        bad_arg(&format!(
            "trackMany batch: `{key}` must be an array of strings (null = absent)"
        ))
    };
    if !js_sys::Array::is_array(&v) {
        return Err(wrong());
    }
    let text = json_text(&v, key)?;
    let col: Vec<Option<String>> = serde_json::from_str(&text).map_err(|_| wrong())?;
    same_length(key, col.len(), n)?;
    Ok(Some(col))
}

/// Row `i` of a string column, borrowed.
fn text_cell(c: &Option<Vec<Option<String>>>, i: usize) -> Option<std::borrow::Cow<'_, str>> {
    c.as_ref()
        .and_then(|c| c.get(i))
        .and_then(|s| s.as_deref())
        .map(std::borrow::Cow::Borrowed)
}

impl JsEngine {
    /// The columnar form of `trackMany`: columns are copied into wasm memory once and each row
    /// goes to the session without any JSON.
    fn track_columns(&mut self, batch: &JsValue, now: f64) -> Result<TrackReport, JsValue> {
        let keys = js_sys::Object::keys(batch.unchecked_ref::<js_sys::Object>());
        for k in keys.iter() {
            let k = k.as_string().unwrap_or_default();
            if !COLUMNS.contains(&k.as_str()) {
                return Err(bad_arg(&format!(
                    "trackMany batch: unknown column `{}`; columns are {}",
                    crate::event::truncate(&k, 64),
                    COLUMNS.join(", ")
                )));
            }
        }
        let kind = prop(batch, "kind");
        let Some(kind) = kind.dyn_ref::<js_sys::Uint8Array>().map(|a| a.to_vec()) else {
            return Err(bad_arg(
                "trackMany batch: `kind` must be a Uint8Array of codes from eventKinds()",
            ));
        };
        let n = kind.len();
        let Some(ts) = f64_column(batch, "ts", n)? else {
            return Err(bad_arg(
                "trackMany batch: `ts` (Float64Array, ms since the epoch; NaN = now) is required",
            ));
        };
        let value = f64_column(batch, "value", n)?;
        let price = f64_column(batch, "price", n)?;
        let category = str_column(batch, "category", n)?;
        let item_id = str_column(batch, "item_id", n)?;
        let query = str_column(batch, "query", n)?;
        let name = str_column(batch, "name", n)?;
        let num = |c: &Option<Vec<f64>>, i: usize| {
            c.as_ref()
                .and_then(|c| c.get(i).copied())
                .filter(|x| !x.is_nan())
        };
        let rows = kind.iter().enumerate().map(|(i, &code)| {
            (
                code,
                EventInput {
                    kind: std::borrow::Cow::Borrowed(""),
                    ts: ts.get(i).copied().filter(|x| !x.is_nan()),
                    category: text_cell(&category, i),
                    price: num(&price, i),
                    item_id: text_cell(&item_id, i),
                    query: text_cell(&query, i),
                    name: text_cell(&name, i),
                    value: num(&value, i),
                },
            )
        });
        self.inner.track_coded(rows, now).map_err(to_js)
    }
}

/// The event kinds in code order: `eventKinds()[code]` is the kind a columnar `trackMany`
/// batch means by `code`.
#[wasm_bindgen(js_name = eventKinds)]
pub fn event_kinds() -> Vec<String> {
    crate::event::EventKind::ALL
        .iter()
        .map(|k| k.as_str().to_owned())
        .collect()
}

/// Bytes of the module's linear memory (it only grows): what the engine, its models and
/// sessions hold, plus the allocator's free space.
#[wasm_bindgen(js_name = memoryBytes)]
pub fn memory_bytes() -> f64 {
    (core::arch::wasm32::memory_size(0) as f64) * 65_536.0
}

/// The runtime's version (Cargo package version).
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// `"full"` (reads .onnx and compiled models) or `"lite"` (compiled models only).
#[wasm_bindgen]
pub fn build() -> String {
    if cfg!(feature = "onnx") {
        "full"
    } else {
        "lite"
    }
    .to_owned()
}

/// The journey simulator as a bandit problem, in the page (the demo's "simulate visitors"):
/// `simulate({spec, tags, visitors?, seed?, policy?, points?, min_probability?})` with `spec` a
/// feature spec (object or JSON text, e.g. models/storefront-v1.features.json), `tags` the
/// simulator tags to choose between, `policy` an engine policy config (default: the engine's).
/// Returns `{visitors, reward, expected_reward, uniform_expected_reward,
/// oracle_expected_reward, regret, uniform_regret, curve: [{visitors, policy, uniform, oracle}]}`
/// (cumulative expected rewards). Only in builds with the `sim` feature (`full`).
#[cfg(feature = "sim")]
#[wasm_bindgen]
pub fn simulate(options: JsValue) -> Result<JsValue, JsValue> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Opts {
        spec: serde_json::Value,
        tags: Vec<String>,
        #[serde(default = "thousand")]
        visitors: usize,
        #[serde(default = "one")]
        seed: u64,
        #[serde(default)]
        policy: crate::bandit::PolicyConfig,
        #[serde(default = "fifty")]
        points: usize,
        #[serde(default = "floor")]
        min_probability: f64,
    }
    fn thousand() -> usize {
        1000
    }
    fn one() -> u64 {
        1
    }
    fn fifty() -> usize {
        50
    }
    fn floor() -> f64 {
        0.01
    }
    let o: Opts = serde_json::from_str(&json_text(&options, "simulate options")?).map_err(|e| {
        bad_arg(&format!(
            "simulate: {} (known: spec, tags, visitors, seed, policy, points, min_probability)",
            json_error(&e)
        ))
    })?;
    if !(1..=200_000).contains(&o.visitors) || o.points > 1000 {
        return Err(bad_arg(
            "simulate: visitors must be 1..=200000 and points at most 1000",
        ));
    }
    o.policy.validate().map_err(|e| bad_arg(&e))?;
    let spec_text = match &o.spec {
        serde_json::Value::String(s) => s.clone(),
        v => v.to_string(),
    };
    let spec = crate::FeatureSpec::from_json(&spec_text)
        .map_err(|e| js_error("invalid_argument", &format!("simulate: spec: {e}")))?;
    let tags: Vec<&str> = o.tags.iter().map(String::as_str).collect();
    let (r, curve) = crate::eval::simulate_policy(
        &o.policy,
        &spec,
        &tags,
        crate::eval::Observe::Features,
        o.visitors,
        o.seed,
        o.min_probability,
        o.points,
    )
    .map_err(|e| bad_arg(&format!("simulate: {e}")))?;
    serialize(&serde_json::json!({
        "visitors": r.visitors,
        "reward": r.reward,
        "expected_reward": r.expected_reward,
        "uniform_expected_reward": r.uniform_expected_reward,
        "oracle_expected_reward": r.oracle_expected_reward,
        "regret": r.regret,
        "uniform_regret": r.uniform_regret,
        "curve": curve,
    }))
}

/// The bake-off protocol of [`crate::eval::bakeoff`] compiled to wasm, for `make bench-bandit`
/// to measure the policies' throughput in Node beside the native CLI and Vowpal Wabbit. Only in
/// the `bench` build (`node scripts/build.mjs --variants bench`); the shipped builds leave it out.
#[cfg(feature = "bench")]
#[wasm_bindgen]
pub struct BakeoffData {
    data: crate::eval::Dataset,
}

#[cfg(feature = "bench")]
#[wasm_bindgen]
impl BakeoffData {
    /// Parses a bake-off CSV (`f0,…,f{d-1},label`); throws `invalid_argument` naming the line.
    #[wasm_bindgen(constructor)]
    pub fn new(csv: &str) -> Result<BakeoffData, JsValue> {
        crate::eval::parse_csv(csv)
            .map(|data| BakeoffData { data })
            .map_err(|e| bad_arg(&e))
    }

    /// One pass of the protocol with the named policy (`edgewise bakeoff --policy` names):
    /// `{n, progressive_reward, mean_probability}`. The caller times it.
    pub fn run(&self, policy: &str, seed: u32, min_probability: f64) -> Result<JsValue, JsValue> {
        let config = crate::bandit::PolicyConfig::named(policy)
            .ok_or_else(|| bad_arg(&format!("unknown policy {policy:?}")))?;
        let r = crate::eval::bakeoff(&self.data, &config, u64::from(seed), min_probability);
        serialize(&serde_json::json!({
            "n": r.n,
            "progressive_reward": r.progressive_reward,
            "mean_probability": r.mean_probability,
        }))
    }
}
