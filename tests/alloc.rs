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
