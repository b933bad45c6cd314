//! Feature extraction against values computed by hand from the documented formulas.

use edgewise::features::{Context, ContextValue, FeatureSpec};
use edgewise::{EventInput, Session, SessionLimits};

const T0: f64 = 1_700_000_000_000.0;

fn close(a: f32, b: f64) -> bool {
    (f64::from(a) - b).abs() <= 1e-6 * b.abs().max(1.0)
}

#[test]
fn every_feature_kind_matches_its_formula() {
    let spec = FeatureSpec::from_json(
        r#"{"version": 1, "features": [
        {"name": "views", "kind": "count", "event": "product_view"},
        {"name": "views_log", "kind": "count", "event": "product_view", "transform": "log1p"},
        {"name": "recent_views", "kind": "recency_count", "event": "product_view", "half_life_s": 60},
        {"name": "dwell_mean", "kind": "dwell", "stat": "mean"},
        {"name": "dwell_sum", "kind": "dwell", "stat": "sum"},
        {"name": "scroll_max", "kind": "scroll", "stat": "max"},
        {"name": "scroll_last", "kind": "scroll", "stat": "last"},
        {"name": "scroll_min", "kind": "scroll", "stat": "min"},
        {"name": "price_mean", "kind": "price", "stat": "mean", "events": ["product_view", "add_to_cart"]},
        {"name": "price_count", "kind": "price", "stat": "count", "events": ["add_to_cart"]},
        {"name": "likes", "kind": "custom", "custom": "like", "stat": "sum"},
        {"name": "nope", "kind": "custom", "custom": "never_sent", "stat": "max"},
        {"name": "cat_share", "kind": "category", "mode": "share", "vocabulary": ["shoes", "bags", "hats"], "events": ["product_view", "add_to_cart"]},
        {"name": "cat_count", "kind": "category", "mode": "count", "vocabulary": ["shoes", "bags", "hats"], "events": ["product_view"]},
        {"name": "cat_top", "kind": "category", "mode": "top1", "vocabulary": ["hats", "bags", "shoes"], "events": ["product_view", "add_to_cart"]},
        {"name": "age", "kind": "session_age"},
        {"name": "device", "kind": "context_one_hot", "key": "device", "values": ["mobile", "desktop"]},
        {"name": "hour", "kind": "context_number", "key": "hour_of_day", "missing": 12},
        {"name": "temp", "kind": "context_number", "key": "temperature", "missing": -1}
    ]}"#,
    )
    .unwrap();
    assert_eq!(spec.width(), 26);
    assert_eq!(spec.column_names()[12], "cat_share[shoes]");

    let mut s = Session::new(SessionLimits::default(), T0);
    let now = T0 + 120_000.0;
    let evs = [
        EventInput::new("product_view", T0)
            .category("shoes")
            .price(50.0),
        EventInput::new("product_view", T0 + 60_000.0)
            .category("bags")
            .price(100.0),
        EventInput::new("product_view", T0 + 120_000.0).category("shoes"),
        EventInput::new("add_to_cart", T0 + 90_000.0)
            .category("shoes")
            .price(30.0),
        EventInput::new("dwell", T0 + 1.0).value(10.0),
        EventInput::new("dwell", T0 + 2.0).value(20.0),
        EventInput::new("scroll", T0 + 3.0).value(0.8),
        EventInput::new("scroll", T0 + 4.0).value(0.4),
        EventInput::new("custom", T0 + 5.0).name("like").value(2.0),
        EventInput::new("custom", T0 + 6.0).name("like").value(3.0),
        EventInput::new("custom", T0 + 7.0).name("share").value(9.0),
    ];
    for e in &evs {
        s.push(e, now).unwrap();
    }
    let mut ctx = Context::new();
    ctx.insert("device".into(), ContextValue::Text("desktop".into()));
    ctx.insert("hour_of_day".into(), ContextValue::Number(21.0));
    let x = spec.extract(&s, &ctx, now);
    let want: Vec<f64> = vec![
        3.0,
        4f64.ln(),
        0.25 + 0.5 + 1.0, // ages 120 s, 60 s, 0 s with a 60 s half-life
        15.0,
        30.0,
        0.8,
        0.4,
        0.4,
        (50.0 + 100.0 + 30.0) / 3.0, // the third view has no price
        1.0,
        5.0,
        0.0,
        3.0 / 4.0, // shoes: 2 views + 1 cart of 4 categorized events
        1.0 / 4.0,
        0.0,
        2.0,
        1.0,
        0.0,
        0.0, // top1 over [hats, bags, shoes]: shoes
        0.0,
        1.0,
        120.0,
        0.0,
        1.0,
        21.0,
        -1.0,
    ];
    assert_eq!(x.len(), want.len());
    for (i, (a, b)) in x.iter().zip(&want).enumerate() {
        assert!(
            close(*a, *b),
            "column {i} ({}): got {a}, want {b}",
            spec.column_names()[i]
        );
    }
}

#[test]
fn empty_session_gives_zeros_and_missing_values() {
    let spec = FeatureSpec::from_json(
        r#"{"version":1,"features":[
        {"name":"a","kind":"dwell","stat":"mean"},
        {"name":"b","kind":"category","mode":"top1","vocabulary":["x"],"events":["click"]},
        {"name":"c","kind":"context_number","key":"k","missing":3.5}]}"#,
    )
    .unwrap();
    let s = Session::new(SessionLimits::default(), T0);
    assert_eq!(spec.extract(&s, &Context::new(), T0), vec![0.0, 0.0, 3.5]);
}

#[test]
fn invalid_specs_name_the_problem() {
    for (json, want) in [
        (
            r#"{"version":2,"features":[{"name":"a","kind":"session_age"}]}"#,
            "version 2",
        ),
        (r#"{"version":1,"features":[]}"#, "empty"),
        (
            r#"{"version":1,"features":[{"name":"a","kind":"session_age"},{"name":"a","kind":"session_age"}]}"#,
            "used twice",
        ),
        (
            r#"{"version":1,"features":[{"name":"a","kind":"recency_count","event":"click","half_life_s":0}]}"#,
            "half_life_s",
        ),
        (
            r#"{"version":1,"features":[{"name":"a","kind":"category","mode":"share","vocabulary":[],"events":["click"]}]}"#,
            "empty",
        ),
        (
            r#"{"version":1,"features":[{"name":"a","kind":"count","event":"teleport"}]}"#,
            "teleport",
        ),
        (
            r#"{"version":1,"features":[{"name":"a","kind":"count","event":"click","transfrom":"log1p"}]}"#,
            "transfrom",
        ),
        (
            r#"{"version":1,"features":[{"name":"a","kind":"context_number","key":"k"}]}"#,
            "missing",
        ),
    ] {
        let err = FeatureSpec::from_json(json).unwrap_err();
        assert_eq!(err.code(), "feature_spec_invalid");
        assert!(err.to_string().contains(want), "{json}: {err}");
    }
}
