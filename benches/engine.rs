//! Native benchmarks of the engine's paths, with criterion, and allocations per operation.
//!
//!     cargo bench --bench engine            (or `make bench-native`; about 2 minutes)
//!     cargo bench --bench engine -- decide  (criterion's name filter: only those benches)
//!
//! | group | what one op is |
//! |---|---|
//! | `ingestion` | `Session::push` into a session at capacity; `Engine::track_many` of 1,000 events (reported per event); JSON text → `EventInput` → `Engine::track` (what the wasm `track` does) |
//! | `features` | each shipped model's `FeatureSpec::extract_into` on a 40-event session |
//! | `inference` | each shipped model's compiled program (what both wasm builds run), one row |
//! | `decide` | 3 models, 3 slots × 8 variants, SquareCB: a new event then `decide` (features + 3 models + rules + policy), explained and lean, and `choose_into` with one kept `Choice` (the wasm binding's call); `decide` with the scores cached; a page (1 event + the 3 slots) |
//! | `reward` | `Engine::reward` of a decision the policy made (a ridge update) |
//! | `snapshot`, `restore` | a visit (40 events, 10 pages, some rewards) and a full engine (512 events, 256 pending decisions) |
//!
//! The decide, reward and full-state engines run at steady state: the session window full
//! (512 events), `max_pending` (256) decisions pending so every decision closes the oldest,
//! the capped variants at their caps. Every op checks its result (a variant of the slot chosen
//! by the policy with all three scores, an accepted event, a probability in [0, 1], a restored
//! engine holding the state it was given...), so no bench can quietly measure an error path.
//!
//! After criterion's runs, each bench that ran is measured again for allocations: a counting
//! global allocator (allocations + reallocations, and bytes requested, on this thread), over
//! 10,000 ops (500 for snapshot/restore) after a warm-up, counting only the measured part
//! (not the untimed setup of reward and restore). The summary goes to stdout and to
//! `target/bench/native.json`: `{"group/bench": {"ns_per_op", "allocs_per_op", "bytes_per_op",
//! "unit", "ns_source", ...}}` — `ns_per_op` is criterion's median point estimate of this run,
//! or this program's own median of 10 batches when criterion has none.
//!
//! Where allocations come from: `EDGEWISE_ALLOC_TRACE=decide/fresh_scores cargo test --bench
//! engine` skips criterion and prints a backtrace summary of every allocation of one
//! steady-state op of each bench whose name contains the value (the debug build has file:line
//! for every frame; with `cargo bench`, add `CARGO_PROFILE_BENCH_DEBUG=line-tables-only`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::backtrace::Backtrace;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashSet};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, SamplingMode, Throughput};
use edgewise::profile::Scope;
use edgewise::{
    Context, ContextValue, Engine, EngineConfig, EngineOptions, EventInput, PropensityModel,
    Purposes, Session, Source,
};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Counting allocator

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    static BYTES: Cell<u64> = const { Cell::new(0) };
    /// Capture a backtrace per allocation (trace mode, inside `measured` only).
    static TRACING: Cell<bool> = const { Cell::new(false) };
    /// Inside a capture: its own allocations are neither counted nor traced.
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
    static TRACES: RefCell<Vec<Backtrace>> = const { RefCell::new(Vec::new()) };
}

/// Trace mode: `measured` turns `TRACING` on around the measured part.
static TRACE_ARMED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn note(size: usize) {
    if CAPTURING.try_with(Cell::get).unwrap_or(true) {
        return;
    }
    ALLOCS.with(|c| c.set(c.get() + 1));
    BYTES.with(|c| c.set(c.get() + size as u64));
    if TRACING.with(Cell::get) {
        CAPTURING.with(|c| c.set(true));
        let bt = Backtrace::force_capture();
        TRACES.with(|v| v.borrow_mut().push(bt));
        CAPTURING.with(|c| c.set(false));
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        note(l.size());
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        note(l.size());
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        note(n);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn counters() -> (u64, u64) {
    (ALLOCS.with(Cell::get), BYTES.with(Cell::get))
}

/// Time and allocations of the measured part of some ops.
#[derive(Debug, Default, Clone, Copy)]
struct Sample {
    elapsed: Duration,
    allocs: u64,
    bytes: u64,
}

/// Runs `f` as measured work: its time and allocations go into `s` (dropping its result is
/// left to the caller, outside).
fn measured<R>(s: &mut Sample, f: impl FnOnce() -> R) -> R {
    let armed = TRACE_ARMED.load(std::sync::atomic::Ordering::Relaxed);
    let (a0, b0) = counters();
    if armed {
        TRACING.with(|t| t.set(true));
    }
    let t = Instant::now();
    let r = f();
    let elapsed = t.elapsed();
    if armed {
        TRACING.with(|t| t.set(false));
    }
    let (a1, b1) = counters();
    s.elapsed += elapsed;
    s.allocs += a1 - a0;
    s.bytes += b1 - b0;
    r
}

// ---------------------------------------------------------------------------------------------
// Fixtures

const T: f64 = 1_700_000_000_000.0;
/// Decision time: ten minutes into the visit.
const NOW: f64 = T + 600_000.0;
const MODELS: [&str; 3] = ["purchase-lr", "purchase-gbt", "churn-mlp"];
const SLOTS: [&str; 3] = ["hero-headline", "layout", "offer"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped models in their compiled form (`models/NAME.ewm.json`): the program the wasm
/// builds run (lite loads these files; full compiles the same program from the .onnx).
fn load_models() -> Vec<PropensityModel> {
    MODELS
        .iter()
        .map(|name| {
            let path = root().join("models").join(format!("{name}.ewm.json"));
            let bytes =
                std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            let m = PropensityModel::load_compiled(&bytes)
                .unwrap_or_else(|e| panic!("load {}: {e}", path.display()));
            assert_eq!(m.runtime(), "compiled", "{name}");
            m
        })
        .collect()
}

fn clone_models(models: &[PropensityModel]) -> Vec<PropensityModel> {
    models
        .iter()
        .map(|m| m.try_clone().expect("compiled models can be cloned"))
        .collect()
}

/// `www/demo/config.json` (policy SquareCB, min_probability 0.02, window 512, its rules and
/// caps) with no holdout and each of its 3 slots given 8 variants: the demo's, plus variants of
/// the same kind with rules over all three scores, session facts and the context, and caps.
/// Every slot keeps at least two variants without rules or caps, so the policy always chooses.
fn bench_config() -> EngineConfig {
    let path = root().join("www/demo/config.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut c: Value = serde_json::from_str(&text).expect("demo config is JSON");
    c["holdout"] = json!(0.0);
    let extra: [(&str, Vec<Value>); 3] = [
        (
            "hero-headline",
            vec![
                json!({"id": "social-proof", "kind": "copy", "content": "Loved by 20,000 hikers this season.", "tags": ["social"]}),
                json!({"id": "new-arrivals", "kind": "copy", "content": "Just in: the autumn collection.", "tags": ["new"],
                       "eligibility": "event_count(product_view) >= 3"}),
                json!({"id": "high-intent", "kind": "copy", "content": "Ready when you are: checkout takes a minute.", "tags": ["urgent"],
                       "eligibility": "purchase_gbt >= 0.2 && cart_items >= 1"}),
                json!({"id": "mobile-short", "kind": "copy", "content": "Tap to shop the season.", "tags": ["short"],
                       "eligibility": "ctx.device == 'mobile'"}),
            ],
        ),
        (
            "layout",
            vec![
                json!({"id": "compact", "kind": "layout", "content": "ew-compact", "tags": ["compact"]}),
                json!({"id": "gallery", "kind": "layout", "content": "ew-gallery", "tags": ["gallery"], "eligibility": "session_age_s > 60"}),
                json!({"id": "carousel", "kind": "layout", "content": "ew-carousel", "tags": ["carousel"], "eligibility": "ctx.device == 'mobile'"}),
                json!({"id": "editorial", "kind": "layout", "content": "ew-editorial", "tags": ["editorial"], "eligibility": "events >= 10"}),
                json!({"id": "dense", "kind": "layout", "content": "ew-dense", "tags": ["dense"], "cap": {"max": 20, "window_s": 3600}}),
                json!({"id": "spotlight", "kind": "layout", "content": "ew-spotlight", "tags": ["spotlight"], "eligibility": "purchase_gbt < 0.9"}),
            ],
        ),
        (
            "offer",
            vec![
                json!({"id": "bundle", "kind": "offer", "content": {"title": "Complete the look: 15% off a second item", "cta": "Add the bundle"},
                       "tags": ["bundle"], "eligibility": "cart_items >= 1"}),
                json!({"id": "loyalty", "kind": "offer", "content": {"title": "Earn double points today", "cta": "Join the club"}, "tags": ["loyalty"]}),
                json!({"id": "newsletter", "kind": "offer", "content": {"title": "5 € off when you subscribe", "cta": "Subscribe"},
                       "tags": ["newsletter"], "eligibility": "churn >= 0.2"}),
                json!({"id": "gift", "kind": "offer", "content": {"title": "A free gift with orders over 100 €", "cta": "See the gifts"},
                       "tags": ["gift"], "eligibility": "cart_value > 100 && purchase >= 0.1"}),
                json!({"id": "flash-sale", "kind": "offer", "content": {"title": "Flash sale: 20% off for the next hour", "cta": "Shop the sale"},
                       "tags": ["sale"], "cap": {"max": 2, "window_s": 600}}),
            ],
        ),
    ];
    let slots = c["slots"].as_array_mut().expect("demo config has slots");
    assert_eq!(slots.len(), 3, "the demo config has 3 slots");
    for (slot, more) in extra {
        let s = slots
            .iter_mut()
            .find(|s| s["id"] == slot)
            .unwrap_or_else(|| panic!("demo config has no slot {slot}"));
        let variants = s["variants"].as_array_mut().expect("variants");
        variants.extend(more);
        assert_eq!(variants.len(), 8, "slot {slot}: 8 variants");
    }
    let config = EngineConfig::from_json(&c.to_string()).expect("bench config is valid");
    assert!(config.slots.iter().all(|s| s.variants.len() == 8));
    config
}

fn context() -> Context {
    Context::from([
        ("device".to_owned(), ContextValue::Text("mobile".into())),
        ("hour_of_day".to_owned(), ContextValue::Number(14.0)),
    ])
}

/// A storefront visit pattern: 8 kinds, two categories.
fn visit_event(i: usize, ts: f64) -> EventInput<'static> {
    match i % 8 {
        0 => EventInput::new("page_view", ts),
        1 => EventInput::new("product_view", ts)
            .category("shoes")
            .price(59.0)
            .item("sku-1"),
        2 => EventInput::new("scroll", ts).value(0.5),
        3 => EventInput::new("dwell", ts).value(12.0),
        4 => EventInput::new("product_view", ts)
            .category("bags")
            .price(120.0)
            .item("sku-2"),
        5 => EventInput::new("add_to_cart", ts)
            .category("shoes")
            .price(59.0),
        6 => EventInput::new("click", ts),
        _ => EventInput::new("search", ts).query("boots"),
    }
}

/// A steady-state stream: the visit pattern over all four vocabulary categories.
fn stream_event(i: usize, ts: f64) -> EventInput<'static> {
    const CATS: [&str; 4] = ["shoes", "bags", "dresses", "accessories"];
    let c = CATS[(i / 8) % 4];
    match i % 8 {
        1 => EventInput::new("product_view", ts)
            .category(c)
            .price(35.0 + (i % 50) as f64)
            .item("sku-9"),
        4 => EventInput::new("product_view", ts).category(c).price(80.0),
        5 => EventInput::new("add_to_cart", ts).category(c).price(42.5),
        _ => visit_event(i, ts),
    }
}

/// The same stream as JSON text, as the wasm binding receives it from `JSON.stringify`
/// (absent fields left out, not `null`).
fn stream_json(i: usize, ts: f64) -> String {
    let mut v = serde_json::to_value(stream_event(i, ts)).expect("events serialize");
    if let Some(m) = v.as_object_mut() {
        m.retain(|_, x| !x.is_null());
    }
    v.to_string()
}

fn consent() -> Purposes {
    Purposes {
        personalization: true,
        storage: true,
        ..Default::default()
    }
}

fn new_engine(config: &EngineConfig, models: &[PropensityModel], seed: u64) -> Engine {
    let mut e = Engine::new(
        config.clone(),
        clone_models(models),
        EngineOptions {
            seed: Some(seed),
            ..Default::default()
        },
        T,
    )
    .expect("engine");
    e.set_consent(consent(), T);
    e.set_context(context()).expect("context");
    assert!(!e.in_holdout(), "no holdout in the bench config");
    e
}

/// The 40-event visit of the node bench: one event a second from the session start.
fn track_visit(e: &mut Engine) {
    for i in 0..40 {
        let ts = T + i as f64 * 1000.0;
        e.track(&visit_event(i, ts), ts + 10.0)
            .expect("visit event");
    }
}

/// Variant ids per slot, to check decisions against.
struct Variants(Vec<(String, Vec<String>)>);

impl Variants {
    fn of(config: &EngineConfig) -> Variants {
        Variants(
            config
                .slots
                .iter()
                .map(|s| {
                    (
                        s.id.clone(),
                        s.variants.iter().map(|v| v.id.clone()).collect(),
                    )
                })
                .collect(),
        )
    }

    /// A decision of the policy for `slot`: one of its variants, all three scores, a valid
    /// probability. Allocation-free (it runs inside the measured part).
    fn check(&self, slot: &str, d: &edgewise::Decision) {
        self.check_choice(slot, d);
        assert!(d.arms.len() >= 2, "{slot}: arms {:?}", d.arms);
    }

    fn check_choice(&self, slot: &str, d: &edgewise::Decision) {
        assert_eq!(d.slot, slot);
        let ok = self
            .0
            .iter()
            .find(|(s, _)| s == slot)
            .is_some_and(|(_, vs)| vs.contains(&d.variant_id));
        assert!(ok, "{slot}: {:?} is not one of its variants", d.variant_id);
        assert!(
            matches!(d.source, Source::Explore | Source::Exploit),
            "{slot}: the policy did not choose: {:?} {:?}",
            d.source,
            d.reasons
        );
        assert_eq!(d.scores.len(), 3, "{slot}: scores {:?}", d.scores);
        assert!(d.probability > 0.0 && d.probability <= 1.0);
    }

    /// `check_lean` for a [`edgewise::Choice`] (indices into the config).
    fn check_into(&self, slot: &str, e: &Engine, c: &edgewise::Choice) {
        assert!(
            c.arms.is_empty() && c.reasons.is_empty(),
            "{slot}: explained"
        );
        let s = e.slot_configs().nth(c.slot);
        assert!(s.is_some_and(|s| s.id == slot), "{slot}: slot {}", c.slot);
        let n = self
            .0
            .iter()
            .find(|(s, _)| s == slot)
            .map_or(0, |(_, vs)| vs.len());
        assert!(c.arm < n, "{slot}: arm {} of {n}", c.arm);
        assert!(
            matches!(c.source, Source::Explore | Source::Exploit),
            "{slot}: the policy did not choose: {:?}",
            c.source
        );
        assert!(c.scores.len() == 3 && c.scores.iter().all(Option::is_some));
        assert!(c.probability > 0.0 && c.probability <= 1.0);
        assert!(!c.decision_id.is_empty());
    }

    /// `check` for `decide_with(.., false)`: no arms table, no reasons.
    fn check_lean(&self, slot: &str, d: &edgewise::Decision) {
        assert!(
            d.arms.is_empty() && d.reasons.is_empty(),
            "{slot}: explained"
        );
        self.check_choice(slot, d);
    }
}

/// An engine at steady state: the window full (512), `max_pending` decisions pending, caps
/// reached. Fresh events are stamped `NOW - 1`.
fn steady_engine(
    config: &EngineConfig,
    models: &[PropensityModel],
    variants: &Variants,
    seed: u64,
) -> Engine {
    let mut e = new_engine(config, models, seed);
    track_visit(&mut e);
    for i in 0..600 {
        e.track(&stream_event(i, NOW - 1.0), NOW).expect("event");
        for slot in SLOTS {
            let d = e.decide(slot, NOW).expect("decide");
            variants.check(slot, &d);
        }
    }
    assert_eq!(e.session().len(), config.session.capacity);
    assert_eq!(e.pending_count(), config.max_pending);
    e
}

// ---------------------------------------------------------------------------------------------
// Cases

/// One benchmark: `run(n)` performs `n` ops and returns the time and allocations of their
/// measured part; every op checks its result.
struct Case {
    group: &'static str,
    name: String,
    /// What one unit is (`op`, `event`, `page`) and how many units one iteration holds.
    unit: &'static str,
    per_iter: u64,
    /// Iterations for the allocation count.
    alloc_iters: u64,
    /// Extra facts for the summary (sizes, window).
    info: Value,
    run: Box<dyn FnMut(u64) -> Sample>,
    /// Iterations criterion ran (0: filtered out).
    ran: u64,
}

impl Case {
    fn id(&self) -> String {
        format!("{}/{}", self.group, self.name)
    }
}

/// A case whose ops are timed together (the checks are allocation-free and cheap).
fn looped(group: &'static str, name: impl Into<String>, mut op: impl FnMut(u64) + 'static) -> Case {
    let mut i = 0u64;
    Case {
        group,
        name: name.into(),
        unit: "op",
        per_iter: 1,
        alloc_iters: 10_000,
        info: json!({}),
        run: Box::new(move |n| {
            let mut s = Sample::default();
            measured(&mut s, || {
                for _ in 0..n {
                    op(i);
                    i = i.wrapping_add(1);
                }
            });
            s
        }),
        ran: 0,
    }
}

fn ingestion(config: &EngineConfig, models: &[PropensityModel]) -> Vec<Case> {
    let mut cases = Vec::new();

    // Session::push, window full, categories interned.
    let limits = config.session.clone();
    let cap = limits.capacity;
    let mut session = Session::new(limits, T);
    let events: Vec<EventInput<'static>> = (0..64).map(|i| stream_event(i, NOW - 1.0)).collect();
    for i in 0..cap + 64 {
        session.push(&events[i % 64], NOW).expect("event");
    }
    assert_eq!(session.len(), cap);
    let mut c = looped("ingestion", "session_push", move |i| {
        session
            .push(black_box(&events[i as usize % 64]), NOW)
            .expect("push rejected");
        debug_assert_eq!(session.len(), cap);
    });
    c.unit = "event";
    c.info = json!({"window": cap});
    cases.push(c);

    // Engine::track_many, 1,000 events, reported per event.
    let mut e = new_engine(config, models, 11);
    let batch: Vec<EventInput<'static>> = (0..1000).map(|i| stream_event(i, NOW - 1.0)).collect();
    let r = e.track_many(&batch, NOW).expect("track_many");
    assert_eq!((r.accepted, r.rejected_count), (1000, 0));
    let c = Case {
        unit: "event",
        per_iter: 1000,
        alloc_iters: 1000,
        info: json!({"batch": 1000, "window": cap}),
        ..looped("ingestion", "track_many_1000", move |_| {
            let r = e.track_many(black_box(&batch), NOW).expect("track_many");
            assert_eq!(r.accepted, 1000, "rejected: {:?}", r.rejected);
        })
    };
    cases.push(c);

    // JSON text -> EventInput (borrowed) -> Engine::track: the wasm binding's `track`.
    let mut e = new_engine(config, models, 12);
    let lines: Vec<String> = (0..64).map(|i| stream_json(i, NOW - 1.0)).collect();
    for l in lines.iter().cycle().take(cap + 64) {
        let ev: EventInput<'_> = serde_json::from_str(l).expect("event JSON");
        e.track(&ev, NOW).expect("event");
    }
    let mut c = looped("ingestion", "json_parse_track", move |i| {
        let ev: EventInput<'_> =
            serde_json::from_str(black_box(&lines[i as usize % 64])).expect("event JSON");
        e.track(&ev, NOW).expect("track rejected");
    });
    c.unit = "event";
    c.info = json!({"window": cap});
    cases.push(c);
    cases
}

fn features_and_inference(config: &EngineConfig, models: &[PropensityModel]) -> Vec<Case> {
    // The 40-event visit, scored by an engine: its features and scores are the reference.
    let mut e = new_engine(config, models, 21);
    track_visit(&mut e);
    let (scores, errors) = e.scores(NOW);
    assert!(errors.is_empty(), "{errors:?}");
    let session = e.session().clone();
    assert_eq!(session.len(), 40);
    let ctx = context();
    let mut cases = Vec::new();
    let mut rows = Vec::new();
    for (mi, m) in models.iter().enumerate() {
        let spec = m.spec().clone();
        let x = spec.extract(&session, &ctx, NOW);
        assert_eq!(x.len(), m.width());
        assert!(x.iter().all(|v| v.is_finite()) && x.iter().any(|v| *v != 0.0));
        assert_eq!(Some(x.as_slice()), e.last_features(mi), "{}", m.name());
        rows.push(x);
        let (session, ctx) = (session.clone(), ctx.clone());
        let width = spec.width();
        let mut out = Vec::with_capacity(width);
        let mut c = looped("features", m.name().to_owned(), move |_| {
            spec.extract_into(black_box(&session), &ctx, NOW, &mut out);
            assert_eq!(out.len(), width);
        });
        c.info = json!({"session_events": 40, "columns": width});
        cases.push(c);
    }
    for (mi, m) in models.iter().enumerate() {
        let mut m = m.try_clone().expect("compiled model");
        let x = rows[mi].clone();
        let p = m.predict(&x).expect("predict");
        assert_eq!(
            Some(p),
            scores[mi],
            "{}: same score as the engine",
            m.name()
        );
        let name = m.name().to_owned();
        let mut c = looped("inference", name, move |_| {
            let p = m.predict(black_box(&x)).expect("predict failed");
            assert!((0.0..=1.0).contains(&p));
        });
        c.info = json!({"width": rows[mi].len(), "score": p});
        cases.push(c);
    }
    cases
}

fn decide(config: &EngineConfig, models: &[PropensityModel]) -> Vec<Case> {
    let mut cases = Vec::new();
    let info = json!({"models": 3, "slots": 3, "variants_per_slot": 8, "policy": "squarecb",
                      "window": config.session.capacity, "pending": config.max_pending});

    // A new event, then decide: features + 3 models + rules + SquareCB; explained (the Rust
    // API's `decide`) and lean (`decide_with(.., false)`: the include's and the worker's path).
    for (name, explain) in [("fresh_scores", true), ("fresh_scores_lean", false)] {
        let v = Variants::of(config);
        let mut e = steady_engine(config, models, &v, 31);
        let events: Vec<EventInput<'static>> =
            (0..64).map(|i| stream_event(i, NOW - 1.0)).collect();
        let mut c = looped("decide", name, move |i| {
            let i = i as usize;
            e.track(&events[i % 64], NOW).expect("track");
            let slot = SLOTS[i % 3];
            let d = e
                .decide_with(black_box(slot), NOW, explain)
                .expect("decide failed");
            if explain {
                v.check(slot, &d);
            } else {
                v.check_lean(slot, &d);
            }
        });
        c.info = info.clone();
        cases.push(c);
    }

    // The lean decide as the wasm binding makes it: `choose_into` one `Choice` kept across
    // decisions (no `Decision` built): what "zero allocations per decide" is measured on.
    let v = Variants::of(config);
    let mut e = steady_engine(config, models, &v, 34);
    let events: Vec<EventInput<'static>> = (0..64).map(|i| stream_event(i, NOW - 1.0)).collect();
    let mut out = edgewise::Choice::default();
    let mut c = looped("decide", "fresh_scores_choose_into", move |i| {
        let i = i as usize;
        e.track(&events[i % 64], NOW).expect("track");
        let slot = SLOTS[i % 3];
        e.choose_into(black_box(slot), NOW, false, &mut out)
            .expect("decide failed");
        v.check_into(slot, &e, &out);
    });
    c.info = info.clone();
    cases.push(c);

    // decide with the scores cached (the 2nd and 3rd slot of a page).
    let v = Variants::of(config);
    let mut e = steady_engine(config, models, &v, 32);
    let mut c = looped("decide", "cached_scores", move |i| {
        let slot = SLOTS[i as usize % 3];
        let d = e.decide(black_box(slot), NOW).expect("decide failed");
        v.check(slot, &d);
    });
    c.info = info.clone();
    cases.push(c);

    // A page: one new event, then the 3 slots (the first recomputes the scores).
    let v = Variants::of(config);
    let mut e = steady_engine(config, models, &v, 33);
    let events: Vec<EventInput<'static>> = (0..64).map(|i| stream_event(i, NOW - 1.0)).collect();
    let mut c = looped("decide", "page_event_3_slots", move |i| {
        e.track(&events[i as usize % 64], NOW).expect("track");
        for slot in SLOTS {
            let d = e.decide(black_box(slot), NOW).expect("decide failed");
            v.check(slot, &d);
        }
    });
    c.unit = "page";
    c.alloc_iters = 5000;
    c.info = info;
    cases.push(c);
    cases
}

fn reward(config: &EngineConfig, models: &[PropensityModel]) -> Case {
    // Decisions are made untimed, in chunks well under max_pending (so none is closed before
    // its reward), then rewarded 1 / 0 alternately under measurement.
    const CHUNK: u64 = 64;
    let v = Variants::of(config);
    let mut e = steady_engine(config, models, &v, 41);
    let mut ids: Vec<String> = Vec::with_capacity(CHUNK as usize);
    Case {
        group: "reward",
        name: "policy_decision".into(),
        unit: "op",
        per_iter: 1,
        alloc_iters: 10_000,
        info: json!({"policy": "squarecb", "context_dim": 1 + 24 + 3, "closed_ids_kept": 1024}),
        run: Box::new(move |n| {
            let mut s = Sample::default();
            let mut left = n;
            while left > 0 {
                let k = left.min(CHUNK);
                ids.clear();
                for j in 0..k as usize {
                    let slot = SLOTS[j % 3];
                    let d = e.decide(slot, NOW).expect("decide");
                    v.check(slot, &d); // Explore/Exploit: the reward updates the policy
                    ids.push(d.decision_id);
                }
                let open = e.pending_count();
                measured(&mut s, || {
                    for (j, id) in ids.iter().enumerate() {
                        e.reward(black_box(id), (j % 2) as f64, NOW)
                            .expect("reward rejected");
                    }
                });
                assert_eq!(e.pending_count(), open - k as usize, "every reward landed");
                left -= k;
            }
            s
        }),
        ran: 0,
    }
}

/// The state of a visit: 40 events, 10 pages (an event and 3 decisions each, a reward on
/// every 3rd decision), as a returning visitor's snapshot would hold.
fn visit_engine(config: &EngineConfig, models: &[PropensityModel], v: &Variants) -> Engine {
    let mut e = new_engine(config, models, 51);
    track_visit(&mut e);
    for p in 0..10 {
        let now = T + 40_000.0 + p as f64 * 30_000.0;
        e.track(&stream_event(p, now - 5.0), now).expect("event");
        for (k, slot) in SLOTS.iter().enumerate() {
            let d = e.decide(slot, now).expect("decide");
            v.check(slot, &d);
            if (p * 3 + k) % 3 == 0 {
                e.reward(&d.decision_id, 1.0, now + 2_000.0)
                    .expect("reward");
            }
        }
    }
    e
}

fn snapshot_restore(config: &EngineConfig, models: &[PropensityModel]) -> Vec<Case> {
    let v = Variants::of(config);
    let states = [
        ("visit", visit_engine(config, models, &v)),
        ("full", steady_engine(config, models, &v, 52)),
    ];
    let mut snaps = Vec::new();
    let mut restores = Vec::new();
    for (label, mut e) in states {
        let snap = e.snapshot();
        assert_eq!(snap.scope, Scope::Persistent);
        let bytes = snap.bytes;
        let (events, total, pending) = (e.session().len(), e.session().total(), e.pending_count());
        let info = json!({"snapshot_bytes": bytes.len(), "session_events": events,
                          "pending": pending});
        // Faithful: two restores and the original make the same next decisions.
        let now = NOW + 1_000.0;
        let mut a =
            Engine::restore(&bytes, config.clone(), clone_models(models), now).expect("restore");
        let mut b =
            Engine::restore(&bytes, config.clone(), clone_models(models), now).expect("restore");
        assert!(a.restore_notes().is_empty(), "{:?}", a.restore_notes());
        // Consent is not part of a snapshot: the host signals it again on every page.
        a.set_consent(consent(), now);
        b.set_consent(consent(), now);
        for slot in SLOTS {
            let (da, db, de) = (
                a.decide(slot, now).expect("decide"),
                b.decide(slot, now).expect("decide"),
                e.decide(slot, now).expect("decide"),
            );
            v.check(slot, &da);
            assert_eq!(
                (&da.decision_id, &da.variant_id, da.probability),
                (&de.decision_id, &de.variant_id, de.probability),
                "a restored engine decides as the original"
            );
            assert_eq!(da, db);
        }
        drop((a, b, e));

        // The bench engine: the snapshotted state, consent signalled again.
        let mut e =
            Engine::restore(&bytes, config.clone(), clone_models(models), NOW).expect("restore");
        e.set_consent(consent(), NOW);
        let expected = e.snapshot().bytes.len();
        assert!(
            expected.abs_diff(bytes.len()) < 64,
            "{expected} vs {}",
            bytes.len()
        );
        let mut c = looped("snapshot", label, move |_| {
            let s = e.snapshot();
            assert!(s.scope == Scope::Persistent && s.bytes.len() == expected);
            black_box(&s.bytes);
        });
        c.alloc_iters = 500;
        c.info = info.clone();
        snaps.push(c);

        let (config, models) = (config.clone(), clone_models(models));
        restores.push(Case {
            group: "restore",
            name: label.into(),
            unit: "op",
            per_iter: 1,
            alloc_iters: 500,
            info,
            run: Box::new(move |n| {
                let mut s = Sample::default();
                for _ in 0..n {
                    // What restore takes by value (restoreShared clones them too): untimed.
                    let (c, m) = (config.clone(), clone_models(&models));
                    let e = measured(&mut s, || {
                        Engine::restore(black_box(&bytes), c, m, NOW).expect("restore failed")
                    });
                    assert_eq!(
                        (e.session().len(), e.session().total(), e.pending_count()),
                        (events, total, pending)
                    );
                    assert!(e.restore_notes().is_empty());
                }
                s
            }),
            ran: 0,
        });
    }
    snaps.extend(restores);
    snaps
}

fn all_cases() -> Vec<Case> {
    let config = bench_config();
    let models = load_models();
    let mut cases = ingestion(&config, &models);
    cases.extend(features_and_inference(&config, &models));
    cases.extend(decide(&config, &models));
    cases.push(reward(&config, &models));
    cases.extend(snapshot_restore(&config, &models));
    cases
}

// ---------------------------------------------------------------------------------------------
// Criterion, then the allocation pass and the summary

fn criterion_runs(c: &mut Criterion, cases: &mut [Case]) {
    let mut groups: Vec<&'static str> = Vec::new();
    for case in cases.iter() {
        if !groups.contains(&case.group) {
            groups.push(case.group);
        }
    }
    for g in groups {
        let mut group = c.benchmark_group(g);
        if matches!(g, "snapshot" | "restore") {
            group.sampling_mode(SamplingMode::Flat).sample_size(20);
        }
        for case in cases.iter_mut().filter(|c| c.group == g) {
            group.throughput(Throughput::Elements(case.per_iter));
            let (run, ran) = (&mut case.run, &mut case.ran);
            group.bench_function(case.name.as_str(), |b| {
                b.iter_custom(|iters| {
                    *ran += iters;
                    run(iters).elapsed
                })
            });
        }
        group.finish();
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Criterion's median (ns per iteration) for `case`, when this run wrote it.
fn criterion_median(case: &Case, since: SystemTime) -> Option<f64> {
    let home = std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("criterion"));
    let path = home
        .join(case.group)
        .join(&case.name)
        .join("new/estimates.json");
    let fresh = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t >= since);
    if !fresh {
        return None;
    }
    let v: Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    v["median"]["point_estimate"].as_f64()
}

struct Row {
    ns: f64,
    ns_source: &'static str,
    allocs: f64,
    bytes: f64,
    counted: u64,
}

/// Allocations (and a fallback timing) over `alloc_iters` iterations after a warm-up, in 10
/// batches: allocations summed, time the median batch.
fn count(case: &mut Case) -> (f64, f64, f64, u64) {
    let warm = (case.alloc_iters / 10).max(1);
    (case.run)(warm);
    let per_batch = (case.alloc_iters / 10).max(1);
    let (mut allocs, mut bytes, mut ns) = (0u64, 0u64, Vec::new());
    for _ in 0..10 {
        let s = (case.run)(per_batch);
        allocs += s.allocs;
        bytes += s.bytes;
        ns.push(s.elapsed.as_nanos() as f64 / per_batch as f64);
    }
    ns.sort_by(f64::total_cmp);
    let units = (10 * per_batch * case.per_iter) as f64;
    (
        ns[ns.len() / 2] / case.per_iter as f64,
        allocs as f64 / units,
        bytes as f64 / units,
        10 * per_batch,
    )
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

fn summary(cases: &mut [Case], since: SystemTime) {
    let mut rows = Vec::new();
    for case in cases.iter_mut().filter(|c| c.ran > 0) {
        let (own_ns, allocs, bytes, counted) = count(case);
        let (ns, ns_source) = match criterion_median(case, since) {
            Some(m) => (m / case.per_iter as f64, "criterion median"),
            None => (own_ns, "own median of 10 batches"),
        };
        rows.push((
            case.id(),
            case.unit,
            case.info.clone(),
            Row {
                ns,
                ns_source,
                allocs,
                bytes,
                counted,
            },
        ));
    }
    if rows.is_empty() {
        return;
    }
    println!();
    println!(
        "{:<34} {:>14} {:>12} {:>12}",
        "bench (per unit)", "ns", "allocs", "bytes"
    );
    let mut out = serde_json::Map::new();
    for (id, unit, info, r) in rows {
        println!(
            "{:<34} {:>14.1} {:>12.3} {:>12.1}",
            format!("{id} ({unit})"),
            r.ns,
            r.allocs,
            r.bytes
        );
        let mut entry = json!({
            "ns_per_op": round(r.ns, 1),
            "allocs_per_op": round(r.allocs, 3),
            "bytes_per_op": round(r.bytes, 1),
            "unit": unit,
            "ns_source": r.ns_source,
            "ops_counted": r.counted,
        });
        if let (Some(e), Some(i)) = (entry.as_object_mut(), info.as_object()) {
            e.extend(i.clone());
        }
        out.insert(id, entry);
    }
    let text = serde_json::to_string_pretty(&Value::Object(out)).expect("summary JSON");
    println!("{text}");
    let dir = target_dir().join("bench");
    let path = dir.join("native.json");
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&path, text + "\n"))
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    println!("wrote {}", path.display());
}

// ---------------------------------------------------------------------------------------------
// Trace mode: where one op's allocations come from

/// The frames of a backtrace, `(function, location)`.
fn frames(bt: &Backtrace) -> Vec<(String, String)> {
    let text = bt.to_string();
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if let Some(at) = t.strip_prefix("at ") {
            if let Some(last) = out.last_mut() {
                last.1 = at.to_owned();
            }
        } else if let Some((n, f)) = t.split_once(": ") {
            if n.chars().all(|c| c.is_ascii_digit()) {
                out.push((f.to_owned(), String::new()));
            }
        }
    }
    out
}

/// The allocator, the capture and the raw allocation helpers: not where an allocation is made.
fn internal(f: &str) -> bool {
    [
        "engine::note",
        "Counting",
        "__rust_",
        "__rdl_",
        "std::backtrace",
        "alloc::alloc::",
        "LocalKey",
        "std::thread::local",
        "RawVec",
        "raw_vec::",
        "try_new_uninit_in",
        "exchange_malloc",
        "core::ptr::",
    ]
    .iter()
    .any(|p| f.contains(p))
}

fn trace(cases: &mut [Case], filter: &str) {
    for case in cases.iter_mut().filter(|c| c.id().contains(filter)) {
        (case.run)((case.alloc_iters / 10).max(2));
        TRACES.with(|t| t.borrow_mut().clear());
        TRACE_ARMED.store(true, std::sync::atomic::Ordering::Relaxed);
        let s = (case.run)(1);
        TRACE_ARMED.store(false, std::sync::atomic::Ordering::Relaxed);
        let traces = TRACES.with(|t| std::mem::take(&mut *t.borrow_mut()));
        let mut sites: BTreeMap<String, usize> = BTreeMap::new();
        for bt in &traces {
            // Where: the allocating call (String::clone, fmt::format, Vec growth...), then the
            // first two edgewise frames (or the bench's own frame when edgewise has none).
            let fs: Vec<String> = frames(bt)
                .into_iter()
                .filter(|(f, _)| !internal(f))
                .map(|(f, at)| {
                    let at = at.rsplit("/src/").next().unwrap_or(&at).to_owned();
                    if at.is_empty() {
                        f
                    } else {
                        format!("{f} ({at})")
                    }
                })
                .collect();
            let mut chain: Vec<String> = fs.first().cloned().into_iter().collect();
            let ours: Vec<&String> = fs.iter().filter(|f| f.contains("edgewise::")).collect();
            let ours = if ours.is_empty() {
                fs.iter()
                    .filter(|f| f.starts_with("engine::"))
                    .take(1)
                    .collect()
            } else {
                ours
            };
            for f in ours.into_iter().take(2) {
                if chain.first() != Some(f) {
                    chain.push(f.clone());
                }
            }
            *sites.entry(chain.join("\n      <- ")).or_default() += 1;
        }
        let mut sites: Vec<_> = sites.into_iter().collect();
        sites.sort_by_key(|s| std::cmp::Reverse(s.1));
        println!(
            "\n== {} : {} allocations in one {} ({} bytes)",
            case.id(),
            s.allocs,
            case.unit,
            s.bytes
        );
        for (chain, n) in sites {
            println!("{n:>4} x {chain}");
        }
    }
}

fn main() {
    let since = SystemTime::now();
    let mut cases = all_cases();
    let unique: HashSet<String> = cases.iter().map(Case::id).collect();
    assert_eq!(unique.len(), cases.len(), "bench names are unique");

    if let Ok(filter) = std::env::var("EDGEWISE_ALLOC_TRACE") {
        trace(&mut cases, &filter);
        return;
    }
    // `EDGEWISE_PROFILE=decide/fresh_scores:20000`: runs that many ops of one case and exits,
    // for a profiler (e.g. `valgrind --tool=callgrind`; subtract a run with 0 ops for the
    // set-up).
    if let Ok(spec) = std::env::var("EDGEWISE_PROFILE") {
        let (id, n) = spec.split_once(':').unwrap_or((spec.as_str(), "10000"));
        let n: u64 = n.parse().expect("EDGEWISE_PROFILE=<group/name>:<ops>");
        let case = cases
            .iter_mut()
            .find(|c| c.id() == id)
            .expect("no such case");
        (case.run)(n);
        return;
    }

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
        .configure_from_args();
    criterion_runs(&mut c, &mut cases);
    c.final_summary();

    // `cargo bench` passes --bench; `cargo test --benches` does not (criterion then runs each
    // bench once as a test, which already checked every result).
    let args: Vec<String> = std::env::args().collect();
    let has = |a: &str| args.iter().any(|x| x == a);
    if has("--bench") && !has("--test") && !has("--list") && !has("--profile-time") {
        summary(&mut cases, since);
    }
}
