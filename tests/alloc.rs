//! Ingestion is the hot path: once a session has seen its categories, pushing events (including
//! parsing them from JSON) allocates nothing. Counted with a global allocator wrapper.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use edgewise::event::{EventInput, Session, SessionLimits};

struct Counting;
thread_local! {
    // Per thread, so tests running in parallel do not count each other's allocations.
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

fn allocs() -> usize {
    ALLOCS.with(|c| c.get())
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_ingestion_allocates_nothing() {
    let t0 = 1_700_000_000_000.0;
    let limits = SessionLimits {
        capacity: 64,
        ..SessionLimits::default()
    };
    let mut s = Session::new(limits, t0);
    let lines: Vec<String> = (0..1000)
        .map(|i| {
            let cat = ["shoes", "bags", "hats"][i % 3];
            match i % 4 {
                0 => format!(r#"{{"kind":"product_view","ts":{},"category":"{cat}","price":{}.5,"item_id":"sku-{i}"}}"#, t0 + i as f64, i % 90),
                1 => format!(r#"{{"kind":"search","ts":{},"query":"red {cat}"}}"#, t0 + i as f64),
                2 => format!(r#"{{"kind":"scroll","ts":{},"value":0.{}}}"#, t0 + i as f64, i % 10),
                _ => format!(r#"{{"kind":"add_to_cart","ts":{},"category":"{cat}","price":12}}"#, t0 + i as f64),
            }
        })
        .collect();
    // Warm-up: the first sight of each category interns it (one allocation each), which also
    // shows the counter counts.
    let start = allocs();
    for l in &lines[..12] {
        let ev: EventInput<'_> = serde_json::from_str(l).unwrap();
        s.push(&ev, t0 + 10_000.0).unwrap();
    }
    let before = allocs();
    assert!(
        before - start >= 3,
        "interning 3 categories should allocate"
    );
    for l in &lines[12..] {
        let ev: EventInput<'_> = serde_json::from_str(l).unwrap();
        s.push(&ev, t0 + 10_000.0).unwrap();
    }
    let after = allocs();
    assert_eq!(
        s.len(),
        64,
        "the ring buffer keeps only the last `capacity` events"
    );
    assert_eq!(s.total(), 1000);
    assert_eq!(
        after - before,
        0,
        "988 events allocated {} times",
        after - before
    );
}

#[test]
fn escaped_strings_still_parse() {
    let ev: EventInput<'_> = serde_json::from_str(
        r#"{"kind":"search","ts":1,"query":"say \"hi\"","category":"caf\u00e9"}"#,
    )
    .unwrap();
    assert_eq!(ev.query.as_deref(), Some(r#"say "hi""#));
    assert_eq!(ev.category.as_deref(), Some("café"));
}

/// The engine's hot loop as the wasm binding drives it (`track`, then `choose_into` one kept
/// `Choice`, the lean path, and a reward for every third decision), with the shipped models and
/// the demo's config, once the session window, the pending log and the closed-id log are full:
/// nothing allocates, whichever policy chooses.
#[test]
fn steady_state_track_and_decide_allocate_nothing_with_every_policy() {
    use edgewise::{Choice, Context, ContextValue, Engine, EngineConfig, EngineOptions, Purposes};
    use edgewise::{PropensityModel, Source};

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let t0 = 1_700_000_000_000.0;
    let text = std::fs::read_to_string(root.join("www/demo/config.json")).unwrap();
    let models: Vec<PropensityModel> = ["purchase-lr", "purchase-gbt", "churn-mlp"]
        .iter()
        .map(|m| {
            let bytes = std::fs::read(root.join(format!("models/{m}.ewm.json"))).unwrap();
            PropensityModel::load_compiled(&bytes).unwrap()
        })
        .collect();
    let cats = ["shoes", "bags", "dresses", "accessories"];
    let event = |i: usize, ts: f64| {
        let c = cats[(i / 4) % 4];
        match i % 4 {
            0 => EventInput::new("page_view", ts),
            1 => EventInput::new("product_view", ts)
                .category(c)
                .price(35.0 + (i % 50) as f64),
            2 => EventInput::new("scroll", ts).value(0.5),
            _ => EventInput::new("add_to_cart", ts).category(c).price(42.5),
        }
    };
    let slots = ["hero-headline", "layout", "offer"];
    for policy in [
        r#"{"kind":"squarecb"}"#,
        r#"{"kind":"epsilon_greedy"}"#,
        r#"{"kind":"thompson"}"#,
        r#"{"kind":"linucb"}"#,
        r#"{"kind":"lints"}"#,
        r#"{"kind":"regression_epsilon"}"#,
        r#"{"kind":"uniform"}"#,
    ] {
        let mut c: serde_json::Value = serde_json::from_str(&text).unwrap();
        c["holdout"] = serde_json::json!(0.0);
        c["policy"] = serde_json::from_str(policy).unwrap();
        let config = EngineConfig::from_json(&c.to_string()).unwrap();
        let models = models.iter().map(|m| m.try_clone().unwrap()).collect();
        let opts = EngineOptions {
            seed: Some(7),
            ..Default::default()
        };
        let mut e = Engine::new(config, models, opts, t0).unwrap();
        e.set_consent(
            Purposes {
                personalization: true,
                storage: true,
                ..Default::default()
            },
            t0,
        );
        e.set_context(Context::from([
            ("device".to_owned(), ContextValue::Text("mobile".into())),
            ("hour_of_day".to_owned(), ContextValue::Number(14.0)),
        ]))
        .unwrap();
        let mut out = Choice::default();
        let mut id = String::with_capacity(64);
        let mut sources = [0usize; 2];
        let phase = std::cell::RefCell::new([0usize; 3]);
        let mut step = |e: &mut Engine, i: usize| {
            let now = t0 + 1000.0 + i as f64;
            let a0 = allocs();
            e.track(&event(i, now - 1.0), now).unwrap();
            phase.borrow_mut()[0] += allocs() - a0;
            let a0 = allocs();
            e.choose_into(slots[i % 3], now, false, &mut out).unwrap();
            phase.borrow_mut()[1] += allocs() - a0;
            assert!(out.reasons.is_empty() && out.arms.is_empty());
            assert_eq!(out.scores.len(), 3);
            match out.source {
                Source::Explore | Source::Exploit => sources[0] += 1,
                _ => sources[1] += 1,
            }
            if i.is_multiple_of(3) {
                id.clear();
                id.push_str(&out.decision_id);
                let a0 = allocs();
                e.reward(&id, (i % 2) as f64, now).unwrap();
                phase.borrow_mut()[2] += allocs() - a0;
            }
        };
        // Warm-up: 512 events fill the window; 256 pending and 1,024 closed ids fill the logs.
        for i in 0..1500 {
            step(&mut e, i);
        }
        let before = allocs();
        *phase.borrow_mut() = [0; 3];
        for i in 1500..2100 {
            step(&mut e, i);
        }
        let n = allocs() - before;
        eprintln!("{policy}: {:?}", phase.borrow());
        assert_eq!(
            n, 0,
            "{policy}: 600 steady-state track + decide + reward allocated {n} times"
        );
        assert!(
            sources[0] > 1000,
            "{policy}: the policy chose ({sources:?})"
        );
    }
}
