//! The engine end to end: create → track → decide → reward → snapshot → restore, with the
//! bundled models and the demo config, and every way a call can be wrong.

mod common;

use common::{demo_config, load, T0};
use edgewise::{Engine, EngineConfig, EngineOptions, EventInput, Purposes, Source};

fn seeded(seed: u64) -> EngineOptions {
    EngineOptions {
        seed: Some(seed),
        ..Default::default()
    }
}

fn consent() -> Purposes {
    Purposes {
        personalization: true,
        storage: true,
        ..Default::default()
    }
}

fn engine(config: EngineConfig, seed: u64) -> Engine {
    let models = vec![load("purchase-lr"), load("churn-mlp")];
    let mut e = Engine::new(config, models, seeded(seed), T0).unwrap();
    e.set_consent(consent(), T0);
    e
}

fn no_holdout() -> EngineConfig {
    let mut c = demo_config();
    c.holdout = 0.0;
    c
}

fn shopper(e: &mut Engine) {
    let t = T0 + 1_000.0;
    for (i, c) in ["shoes", "bags", "shoes"].iter().enumerate() {
        e.track(
            &EventInput::new("product_view", t + i as f64)
                .category(c)
                .price(60.0),
            t + 10.0,
        )
        .unwrap();
    }
    e.track(
        &EventInput::new("add_to_cart", t + 5.0)
            .category("shoes")
            .price(60.0),
        t + 10.0,
    )
    .unwrap();
    e.track(&EventInput::new("checkout_start", t + 6.0), t + 10.0)
        .unwrap();
    e.track(&EventInput::new("scroll", t + 7.0).value(0.9), t + 10.0)
        .unwrap();
    e.track(&EventInput::new("dwell", t + 8.0).value(40.0), t + 10.0)
        .unwrap();
}

#[test]
fn decisions_carry_probability_source_scores_and_reasons() {
    let mut e = engine(no_holdout(), 1);
    shopper(&mut e);
    let now = T0 + 20_000.0;
    for slot in ["hero-headline", "layout", "offer"] {
        let d = e.decide(slot, now).unwrap();
        assert_eq!(d.slot, slot);
        assert!(d.probability > 0.0 && d.probability <= 1.0);
        assert!(
            d.scores.contains_key("purchase") && d.scores.contains_key("churn"),
            "{d:?}"
        );
        assert!(
            matches!(
                d.source,
                Source::Explore | Source::Exploit | Source::Rule | Source::Default
            ),
            "{d:?}"
        );
        assert!(!d.reasons.is_empty());
        assert!(!d.decision_id.is_empty());
    }
    // A shopper with a cart and a checkout start has a high purchase score, so "urgent" is
    // eligible and "comeback" (churn >= 0.5) is not.
    let d = e.decide("hero-headline", now).unwrap();
    assert!(d.scores["purchase"] > 0.3, "{:?}", d.scores);
    assert!(
        d.reasons
            .iter()
            .any(|r| r.contains("\"comeback\" not eligible")),
        "{:?}",
        d.reasons
    );
    // The free-shipping offer needs cart_value > 50: 60 in the cart.
    let mut seen = std::collections::HashSet::new();
    for _ in 0..200 {
        seen.insert(e.decide("offer", now).unwrap().variant_id);
    }
    assert!(seen.contains("free-shipping"), "{seen:?}");
}

#[test]
fn rules_exclude_and_caps_limit() {
    let mut e = engine(no_holdout(), 2);
    // A bare session: one product view, nothing in the cart → list layout not eligible (needs 2
    // views), so layout is decided by the rules alone.
    e.track(&EventInput::new("product_view", T0 + 1.0), T0 + 2.0)
        .unwrap();
    let d = e.decide("layout", T0 + 3.0).unwrap();
    assert_eq!(d.variant_id, "grid");
    assert_eq!(d.source, Source::Default);
    assert_eq!(d.probability, 1.0);
    e.track(&EventInput::new("product_view", T0 + 4.0), T0 + 5.0)
        .unwrap();
    let d = e.decide("layout", T0 + 6.0).unwrap();
    assert!(
        matches!(d.source, Source::Explore | Source::Exploit),
        "{d:?}"
    );

    // Cap: free-shipping at most 3 times ever.
    shopper(&mut e);
    let mut shown = 0;
    for i in 0..300 {
        let d = e.decide("offer", T0 + 30_000.0 + i as f64).unwrap();
        if d.variant_id == "free-shipping" {
            shown += 1;
        }
    }
    assert_eq!(shown, 3);
}

#[test]
fn no_consent_and_holdout_show_the_default() {
    let mut e = Engine::new(
        no_holdout(),
        vec![load("purchase-lr"), load("churn-mlp")],
        seeded(3),
        T0,
    )
    .unwrap();
    let d = e.decide("hero-headline", T0 + 1.0).unwrap();
    assert_eq!(
        (d.source, d.variant_id.as_str(), d.probability),
        (Source::NoConsent, "welcome", 1.0)
    );
    assert!(d.scores.is_empty(), "no scoring without consent");

    let mut c = no_holdout();
    c.holdout = 0.5;
    let mut held = 0;
    for v in 0..400 {
        let opts = EngineOptions {
            visitor_id: Some(format!("visitor-{v}")),
            seed: Some(v),
            ..Default::default()
        };
        let mut e = Engine::new(
            c.clone(),
            vec![load("purchase-lr"), load("churn-mlp")],
            opts.clone(),
            T0,
        )
        .unwrap();
        e.set_consent(consent(), T0);
        let d = e.decide("offer", T0 + 1.0).unwrap();
        if d.source == Source::Holdout {
            held += 1;
            assert_eq!(d.variant_id, "none");
        }
        // The same visitor id always lands in the same group.
        let again = Engine::new(c.clone(), vec![load("purchase-lr")], opts, T0);
        assert!(again.is_err() || again.is_ok_and(|a| a.in_holdout() == e.in_holdout()));
    }
    assert!(
        (160..=240).contains(&held),
        "{held} of 400 in a 50% holdout"
    );
}

#[test]
fn rewards_are_taken_once_within_the_window() {
    let mut c = no_holdout();
    c.reward_window_s = 60.0;
    let mut e = engine(c, 4);
    let d = e.decide("hero-headline", T0 + 1.0).unwrap();
    e.reward(&d.decision_id, 1.0, T0 + 2.0).unwrap();
    assert_eq!(
        e.reward(&d.decision_id, 1.0, T0 + 3.0).unwrap_err().code(),
        "already_rewarded"
    );
    assert_eq!(
        e.reward("nope", 1.0, T0 + 3.0).unwrap_err().code(),
        "unknown_decision"
    );
    assert_eq!(
        e.reward(&d.decision_id, f64::NAN, T0 + 3.0)
            .unwrap_err()
            .code(),
        "invalid_reward"
    );
    assert_eq!(
        e.reward(&d.decision_id, 2.0, T0 + 3.0).unwrap_err().code(),
        "invalid_reward"
    );
    let late = e.decide("hero-headline", T0 + 10.0).unwrap();
    assert_eq!(e.pending_count(), 1);
    let err = e
        .reward(&late.decision_id, 1.0, T0 + 10.0 + 61_000.0)
        .unwrap_err();
    assert_eq!(err.code(), "reward_window_closed");
    assert_eq!(e.pending_count(), 0);
    assert_eq!(e.decide("sidebar", T0).unwrap_err().code(), "unknown_slot");
    assert_eq!(
        e.decide("offer", f64::NAN).unwrap_err().code(),
        "invalid_clock"
    );
}

#[test]
fn the_policy_learns_which_variant_pays() {
    // Only "detailed" is ever rewarded; after a few hundred decisions it is the exploit choice.
    let mut e = engine(no_holdout(), 5);
    let mut last = Vec::new();
    for i in 0..600 {
        let now = T0 + 1_000.0 * i as f64;
        let d = e.decide("hero-headline", now).unwrap();
        let r = if d.variant_id == "detailed" { 1.0 } else { 0.0 };
        e.reward(&d.decision_id, r, now + 1.0).unwrap();
        if i >= 500 {
            last.push(d);
        }
    }
    let detailed = last.iter().filter(|d| d.variant_id == "detailed").count();
    assert!(detailed >= 80, "detailed chosen {detailed} of the last 100");
    assert!(last
        .iter()
        .filter(|d| d.variant_id == "detailed")
        .all(|d| d.source == Source::Exploit));
}

#[test]
fn same_seed_same_decisions() {
    let run = |seed| {
        let mut e = engine(no_holdout(), seed);
        shopper(&mut e);
        (0..50)
            .map(|i| {
                e.decide("hero-headline", T0 + 20_000.0 + i as f64)
                    .unwrap()
                    .variant_id
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(run(9), run(9));
    assert_ne!(run(9), run(10));
}

#[test]
fn snapshot_restore_continues_exactly() {
    let mut a = engine(no_holdout(), 6);
    shopper(&mut a);
    let mut ids = Vec::new();
    for i in 0..20 {
        let d = a.decide("offer", T0 + 20_000.0 + i as f64).unwrap();
        if i % 2 == 0 {
            a.reward(&d.decision_id, 1.0, T0 + 20_500.0).unwrap();
        }
        ids.push(d.decision_id);
    }
    let bytes = a.snapshot().bytes;
    let mut b = Engine::restore(
        &bytes,
        no_holdout(),
        vec![load("purchase-lr"), load("churn-mlp")],
        T0 + 21_000.0,
    )
    .unwrap();
    b.set_consent(consent(), T0);
    assert_eq!(
        b.snapshot().bytes,
        bytes,
        "restore → snapshot is the identity"
    );
    assert_eq!(b.session().len(), a.session().len());
    // An odd decision from before the snapshot can still be rewarded after restore, once.
    b.reward(&ids[1], 1.0, T0 + 22_000.0).unwrap();
    assert_eq!(
        b.reward(&ids[0], 1.0, T0 + 22_000.0).unwrap_err().code(),
        "already_rewarded"
    );
    a.reward(&ids[1], 1.0, T0 + 22_000.0).unwrap();
    for i in 0..30 {
        let now = T0 + 23_000.0 + i as f64;
        let (da, db) = (
            a.decide("hero-headline", now).unwrap(),
            b.decide("hero-headline", now).unwrap(),
        );
        assert_eq!(
            (da.decision_id, da.variant_id, da.probability),
            (db.decision_id, db.variant_id, db.probability)
        );
    }
}

#[test]
fn damaged_snapshots_are_refused() {
    let mut e = engine(no_holdout(), 7);
    shopper(&mut e);
    let good = e.snapshot().bytes;
    let restore = |b: &[u8]| {
        Engine::restore(b, no_holdout(), vec![], T0)
            .map(|_| ())
            .unwrap_err()
            .code()
    };
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x20;
    assert_eq!(restore(&flipped), "snapshot_checksum_mismatch");
    assert_eq!(restore(&good[..good.len() - 3]), "snapshot_truncated");
    assert_eq!(restore(b"{\"json\": true}"), "snapshot_not_recognized");
    assert_eq!(restore(&[]), "snapshot_not_recognized");
    let mut v3 = good.clone();
    v3[8] = 3;
    assert_eq!(restore(&v3), "snapshot_unsupported_version");
    // Valid checksum over a payload that does not describe a valid state.
    let payload = br#"{"session": 1}"#;
    let mut forged = b"EDGEWISE\x01\x00".to_vec();
    forged.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    forged.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    forged.extend_from_slice(payload);
    assert_eq!(restore(&forged), "snapshot_corrupt");
    // The same in format 2: {session: 1} (a map of one entry; "session" is dictionary word 0).
    let payload = [0x0f, 1, 0x10, 0x81];
    let mut forged = b"EDGEWISE\x02\x00".to_vec();
    forged.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    forged.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    forged.extend_from_slice(&payload);
    let e = Engine::restore(&forged, no_holdout(), vec![], T0)
        .err()
        .unwrap();
    assert_eq!(e.code(), "snapshot_corrupt");
    assert!(
        e.to_string()
            .contains("invalid type: integer `1`, expected struct SessionState"),
        "{e}"
    );
}

#[test]
fn restore_with_a_changed_config_keeps_what_still_fits() {
    let mut e = engine(no_holdout(), 8);
    let d = e.decide("layout", T0 + 1.0).unwrap();
    let bytes = e.snapshot().bytes;
    let mut c = no_holdout();
    c.slots.retain(|s| s.id != "offer");
    c.slots[0].variants.pop(); // hero-headline loses a variant
    let r = Engine::restore(
        &bytes,
        c,
        vec![load("purchase-lr"), load("churn-mlp")],
        T0 + 2.0,
    )
    .unwrap();
    let notes = r.restore_notes().join("\n");
    assert!(
        notes.contains("\"offer\" is no longer configured"),
        "{notes}"
    );
    assert!(
        notes.contains("\"hero-headline\": variants or policy changed"),
        "{notes}"
    );
    let mut r = r;
    r.reward(&d.decision_id, 1.0, T0 + 3.0).unwrap(); // layout kept its pending decision
}

#[test]
fn bad_config_is_refused_with_the_field_named() {
    let base = std::fs::read_to_string(common::root().join("www/demo/config.json")).unwrap();
    let models = || vec![load("purchase-lr"), load("churn-mlp")];
    for (from, to, code, text) in [
        (
            "\"version\": 1",
            "\"version\": 7",
            "config_invalid",
            "version 7",
        ),
        (
            "\"holdout\": 0.05",
            "\"holdout\": 0.9",
            "config_invalid",
            "holdout",
        ),
        (
            "{ \"kind\": \"squarecb\" }",
            "{ \"kind\": \"squarecb\", \"gamma_scale\": -1 }",
            "config_invalid",
            "gamma_scale",
        ),
        (
            "\"default\": \"grid\"",
            "\"default\": \"masonry\"",
            "config_invalid",
            "masonry",
        ),
        (
            "\"content\": \"ew-grid\"",
            "\"content\": \"ew grid<script>\"",
            "config_invalid",
            "class name",
        ),
        (
            "purchase >= 0.3",
            "purchse >= 0.3",
            "config_rule_invalid",
            "unknown name `purchse`",
        ),
        (
            "\"min_probability\"",
            "\"min_probabilty\"",
            "config_malformed",
            "min_probabilty",
        ),
        (
            "\"capacity\": 512",
            "\"capacity\": 0",
            "config_invalid",
            "session.capacity",
        ),
    ] {
        assert!(base.contains(from), "{from}");
        let json = base.replacen(from, to, 1);
        let err: edgewise::Error = match EngineConfig::from_json(&json) {
            Err(e) => e.into(),
            Ok(c) => Engine::new(c, models(), seeded(1), T0)
                .map(|_| ())
                .unwrap_err(),
        };
        assert_eq!(err.code(), code, "{to}: {err}");
        assert!(err.to_string().contains(text), "{to}: {err}");
    }
    assert_eq!(
        Engine::from_json("{not json", &[], seeded(1), T0)
            .map(|_| ())
            .unwrap_err()
            .code(),
        "config_malformed"
    );
    let two = vec![load("purchase-lr"), load("purchase-lr")];
    assert_eq!(
        Engine::new(no_holdout(), two, seeded(1), T0)
            .map(|_| ())
            .unwrap_err()
            .code(),
        "model_duplicate_score"
    );
}

#[test]
fn track_many_keeps_the_good_and_reports_the_bad() {
    let mut e = engine(no_holdout(), 9);
    let evs = vec![
        EventInput::new("page_view", T0 + 1.0),
        EventInput::new("teleport", T0 + 1.0),
        EventInput::new("add_to_cart", T0 + 2.0).price(-5.0),
        EventInput::new("click", T0 + 3.0),
    ];
    let r = e.track_many(&evs, T0 + 10.0).unwrap();
    assert_eq!(r.accepted, 2);
    assert_eq!(r.rejected_count, 2);
    assert_eq!(
        r.rejected
            .iter()
            .map(|x| (x.index, x.code.as_str()))
            .collect::<Vec<_>>(),
        vec![(1, "event_unknown_kind"), (2, "event_invalid_price")]
    );
    assert_eq!(e.session().len(), 2);
    // A million-event burst stays bounded by the session capacity.
    let burst: Vec<EventInput> = (0..100_000)
        .map(|i| EventInput::new("scroll", T0 + 20.0 + i as f64 * 0.001).value(0.5))
        .collect();
    for _ in 0..10 {
        e.track_many(&burst, T0 + 1_000.0).unwrap();
    }
    assert_eq!(e.session().len(), 512);
    assert_eq!(e.session().total(), 1_000_002);
    assert!(e.decide("hero-headline", T0 + 2_000.0).is_ok());
}

#[test]
fn scores_follow_every_change_of_session_context_and_clock() {
    use edgewise::ContextValue;
    let mut e = engine(no_holdout(), 11);
    let t = T0 + 60_000.0;
    let s0 = e.scores(t).0;
    assert_eq!(e.scores(t).0, s0, "same inputs, same scores");
    e.track(
        &EventInput::new("add_to_cart", t - 1.0)
            .category("shoes")
            .price(80.0),
        t,
    )
    .unwrap();
    let s1 = e.scores(t).0;
    assert_ne!(s1, s0, "a new event changes the scores");
    let mut ctx = edgewise::Context::new();
    ctx.insert("device".into(), ContextValue::Text("mobile".into()));
    ctx.insert("hour_of_day".into(), ContextValue::Number(3.0));
    e.set_context(ctx).unwrap();
    let s2 = e.scores(t).0;
    assert_ne!(s2, s1, "a new context changes the scores");
    let s3 = e.scores(t + 3_600_000.0).0;
    assert_ne!(s3, s2, "an hour later the recency features have decayed");
    assert_eq!(
        e.scores(t).0,
        s2,
        "back to the same instant, the same scores"
    );
}

fn with_policy(policy: serde_json::Value) -> EngineConfig {
    let mut v = serde_json::to_value(no_holdout()).unwrap();
    v["policy"] = policy;
    serde_json::from_value(v).unwrap()
}

const POLICIES: [&str; 7] = [
    r#"{"kind": "uniform"}"#,
    r#"{"kind": "epsilon_greedy"}"#,
    r#"{"kind": "thompson"}"#,
    r#"{"kind": "linucb"}"#,
    r#"{"kind": "lints", "draws": 32}"#,
    r#"{"kind": "squarecb"}"#,
    r#"{"kind": "regression_epsilon", "epsilon": 0.1}"#,
];

/// Every policy's learned state — posteriors, ridge matrices, pending contexts — survives
/// snapshot → restore exactly: the restored engine makes the same next choices.
#[test]
fn every_policy_round_trips_through_a_snapshot() {
    for p in POLICIES {
        let cfg = with_policy(serde_json::from_str(p).unwrap());
        let mut a = engine(cfg.clone(), 11);
        shopper(&mut a);
        let mut open = Vec::new();
        for i in 0..40 {
            let now = T0 + 20_000.0 + i as f64;
            let d = a.decide(["offer", "hero-headline"][i % 2], now).unwrap();
            if i % 3 == 0 {
                a.reward(&d.decision_id, (i % 2) as f64, now).unwrap();
            } else {
                open.push(d.decision_id);
            }
        }
        let bytes = a.snapshot().bytes;
        let mut b = Engine::restore(
            &bytes,
            cfg,
            vec![load("purchase-lr"), load("churn-mlp")],
            T0 + 21_000.0,
        )
        .unwrap();
        b.set_consent(consent(), T0);
        assert!(b.restore_notes().is_empty(), "{p}: {:?}", b.restore_notes());
        assert_eq!(
            b.snapshot().bytes,
            bytes,
            "{p}: restore → snapshot is the identity"
        );
        // Rewards for decisions taken before the snapshot reach the restored policy alike.
        for id in &open[..5] {
            a.reward(id, 1.0, T0 + 22_000.0).unwrap();
            b.reward(id, 1.0, T0 + 22_000.0).unwrap();
        }
        for i in 0..30 {
            let now = T0 + 23_000.0 + i as f64;
            let slot = ["hero-headline", "offer", "layout"][i % 3];
            let (da, db) = (a.decide(slot, now).unwrap(), b.decide(slot, now).unwrap());
            assert_eq!(
                (&da.variant_id, da.probability, &da.reasons),
                (&db.variant_id, db.probability, &db.reasons),
                "{p}"
            );
        }
    }
}

/// A prior shipped in config (e.g. pooled at the edge) steers a fresh visitor at once, and a
/// prior that does not fit the slot is refused with the field named.
#[test]
fn priors_from_config_steer_a_fresh_engine() {
    let mut v = serde_json::to_value(with_policy(serde_json::json!({"kind": "thompson"}))).unwrap();
    v["slots"][0]["prior"] = serde_json::json!({
        "welcome": {"trials": 5000, "reward": 100},
        "detailed": {"trials": 5000, "reward": 900},
        "urgent": {"trials": 5000, "reward": 100},
        "comeback": {"trials": 5000, "reward": 100}
    });
    let cfg: EngineConfig = serde_json::from_value(v.clone()).unwrap();
    let mut e = engine(cfg, 4);
    let detailed = (0..50)
        .filter(|i| {
            e.decide("hero-headline", T0 + 1_000.0 * f64::from(*i))
                .unwrap()
                .variant_id
                == "detailed"
        })
        .count();
    assert!(detailed >= 45, "detailed {detailed} of 50");

    for (prior, needle) in [
        (
            serde_json::json!({"nope": {"trials": 1, "reward": 0}}),
            "not one of its variants",
        ),
        (
            serde_json::json!({"welcome": {"trials": 1, "reward": 2}}),
            "reward <= trials",
        ),
    ] {
        let mut bad = v.clone();
        bad["slots"][0]["prior"] = prior;
        let cfg: EngineConfig = serde_json::from_value(bad).unwrap();
        let err = Engine::new(cfg, vec![], seeded(1), T0)
            .map(|_| ())
            .unwrap_err();
        assert_eq!(err.code(), "config_invalid");
        assert!(err.to_string().contains(needle), "{err}");
    }
}

/// A policy's decision lists every eligible variant with its probability and the policy's
/// estimate (what the demo panel charts); decisions no policy made list none.
#[test]
fn policy_decisions_show_every_eligible_variant() {
    for p in [r#"{"kind": "squarecb"}"#, r#"{"kind": "thompson"}"#] {
        let mut e = engine(with_policy(serde_json::from_str(p).unwrap()), 3);
        shopper(&mut e);
        let d = e.decide("hero-headline", T0 + 20_000.0).unwrap();
        assert!(matches!(d.source, Source::Explore | Source::Exploit), "{p}");
        assert!(d.arms.len() >= 2, "{p}: {:?}", d.arms);
        let sum: f64 = d.arms.iter().map(|a| a.probability).sum();
        assert!((sum - 1.0).abs() < 1e-9, "{p}: probabilities sum to {sum}");
        let chosen = d.arms.iter().find(|a| a.variant_id == d.variant_id);
        assert_eq!(chosen.map(|a| a.probability), Some(d.probability), "{p}");
        assert!(d.arms.iter().all(|a| a.estimate.is_some()), "{p}");
        let json = serde_json::to_value(&d).unwrap();
        assert!(json["arms"][0]["variant_id"].is_string(), "{json}");
    }
    let models = vec![load("purchase-lr"), load("churn-mlp")];
    let mut anon = Engine::new(no_holdout(), models, seeded(1), T0).unwrap();
    let d = anon.decide("hero-headline", T0).unwrap();
    assert_eq!(d.source, Source::NoConsent);
    assert!(d.arms.is_empty());
    assert!(serde_json::to_value(&d).unwrap().get("arms").is_none());
}

/// With `exposure: "explicit"`, a decision the visitor never saw teaches the policy nothing
/// when its reward window closes, and is neither counted as shown nor held against a frequency
/// cap; an exposed one counts and learns 0. With the default, every decision counts as shown.
#[test]
fn explicit_exposure_learns_only_from_what_was_seen() {
    let mut v = serde_json::to_value(with_policy(serde_json::json!({"kind": "thompson"}))).unwrap();
    v["reward_window_s"] = serde_json::json!(60);
    v["exposure"] = serde_json::json!("explicit");
    let cfg: EngineConfig = serde_json::from_value(v).unwrap();
    let estimate = |e: &mut Engine, now: f64, variant: &str| {
        e.decide("layout", now)
            .unwrap()
            .arms
            .iter()
            .find(|a| a.variant_id == variant)
            .and_then(|a| a.estimate)
    };
    let mut e = engine(cfg.clone(), 5);
    shopper(&mut e);
    let t = T0 + 20_000.0;
    let unseen: Vec<_> = (0..20)
        .map(|i| e.decide("layout", t + f64::from(i)).unwrap())
        .collect();
    // Past the window: nothing learned, nothing counted.
    let later = t + 120_000.0;
    let before = estimate(&mut e, later, &unseen[0].variant_id);
    assert_eq!(
        before,
        Some(0.5),
        "Beta(1, 1) untouched by unseen decisions"
    );
    let shown: f64 = e
        .profile(later)
        .outcomes
        .iter()
        .flat_map(|s| s.variants.iter().map(|v| v.shown))
        .sum();
    assert_eq!(shown, 0.0);

    // Unseen offers do not use up "free-shipping"'s cap of 3.
    for i in 0..10 {
        let d = e.decide("offer", later + f64::from(i)).unwrap();
        assert!(
            !d.reasons.iter().any(|r| r.contains("already shown")),
            "{:?}",
            d.reasons
        );
    }

    // Exposed and unrewarded: counted, and learns 0 when the window closes.
    let d = e.decide("layout", later + 1.0).unwrap();
    e.expose(&d.decision_id, later + 2.0).unwrap();
    e.expose(&d.decision_id, later + 3.0).unwrap(); // a second report changes nothing
    let after = estimate(&mut e, later + 200_000.0, &d.variant_id);
    assert!(after.is_some_and(|m| m < 0.5), "{after:?}");
    let shown_now: f64 = e
        .profile(later + 200_000.0)
        .outcomes
        .iter()
        .flat_map(|s| s.variants.iter().map(|v| v.shown))
        .sum();
    assert_eq!(shown_now, 1.0);

    let err = e.expose("nope-1", later + 200_001.0).unwrap_err();
    assert_eq!(err.code(), "unknown_decision");
    let err = e.expose(&d.decision_id, later + 200_002.0).unwrap_err();
    assert_eq!(err.code(), "reward_window_closed");

    // The default: an unrewarded decision counts as shown and learns 0.
    let mut v = serde_json::to_value(with_policy(serde_json::json!({"kind": "thompson"}))).unwrap();
    v["reward_window_s"] = serde_json::json!(60);
    let mut e = engine(serde_json::from_value(v).unwrap(), 5);
    shopper(&mut e);
    let d = e.decide("layout", t).unwrap();
    let m = estimate(&mut e, t + 120_000.0, &d.variant_id);
    assert!(m.is_some_and(|m| m < 0.5), "{m:?}");
}

/// Models loaded once and copied into each engine (an edge isolate's `Shared`) score exactly
/// as freshly loaded ones, and each copy runs on its own buffers.
#[test]
fn shared_model_copies_score_like_fresh_loads() {
    let loaded = [load("purchase-lr"), load("churn-mlp"), load("purchase-gbt")];
    let copies = || -> Vec<_> { loaded.iter().map(|m| m.try_clone().unwrap()).collect() };
    let mut a = Engine::new(no_holdout(), copies(), seeded(2), T0).unwrap();
    let mut b = Engine::new(
        no_holdout(),
        vec![load("purchase-lr"), load("churn-mlp"), load("purchase-gbt")],
        seeded(2),
        T0,
    )
    .unwrap();
    let mut c = Engine::new(no_holdout(), copies(), seeded(2), T0).unwrap();
    for e in [&mut a, &mut b] {
        e.set_consent(consent(), T0);
        shopper(e);
    }
    let now = T0 + 20_000.0;
    assert_eq!(a.scores(now).0, b.scores(now).0);
    // c, with no events, is not disturbed by a's buffers.
    let fresh = Engine::new(no_holdout(), copies(), seeded(2), T0)
        .unwrap()
        .scores(now)
        .0;
    assert_eq!(c.scores(now).0, fresh);
}

/// State written by the previous runtime — format 1, JSON (`tests/fixtures/snapshot/format1-edge.bin`:
/// the edge worker's config after ten pages of a consenting visitor) — restores, decides from
/// its learned state, and is written back in format 2 with the same state in far fewer bytes.
#[test]
fn a_format_1_snapshot_from_the_previous_runtime_restores_and_is_rewritten_as_format_2() {
    let root = common::root();
    let bytes = std::fs::read(root.join("tests/fixtures/snapshot/format1-edge.bin")).unwrap();
    assert_eq!(
        &bytes[8..10],
        &1u16.to_le_bytes(),
        "the fixture is format 1"
    );
    let old = edgewise::snapshot::decode(&bytes).expect("format 1 decodes");
    assert_eq!(old.session.total, 15);
    let cfg = std::fs::read_to_string(root.join("www/edge/config.json")).unwrap();
    let cfg = EngineConfig::from_json(&cfg).unwrap();
    let now = old.session.start_ms + 60_000.0;
    let mut e = Engine::restore(
        &bytes,
        cfg,
        vec![load("purchase-lr"), load("churn-mlp")],
        now,
    )
    .expect("a format 1 snapshot restores");
    assert!(e.restore_notes().is_empty(), "{:?}", e.restore_notes());
    // Consent is the host's to re-apply on every page (it is not part of a snapshot).
    e.set_consent(consent(), now);
    let snap = e.snapshot();
    assert_eq!(
        &snap.bytes[8..10],
        &2u16.to_le_bytes(),
        "written as format 2"
    );
    let new = edgewise::snapshot::decode(&snap.bytes).expect("format 2 decodes");
    std::fs::write("/tmp/v2.bin", &snap.bytes).ok(); // TEMP
    assert_eq!(new, old, "the same state");
    assert!(
        snap.bytes.len() * 5 < bytes.len() * 2,
        "format 2 is {} bytes, format 1 {}",
        snap.bytes.len(),
        bytes.len()
    );
    assert!(e.decide("offer", now).is_ok());
}

/// Engines built from one `Prepared` (what an edge isolate's `Shared` holds) behave exactly
/// like `Engine::new`'s, restore the same, and refuse models it was not prepared with.
#[test]
fn engines_from_one_prepared_config_match_new_and_refuse_other_models() {
    let models = || vec![load("purchase-lr"), load("churn-mlp")];
    let prepared = Engine::prepare(demo_config(), &models()).unwrap();
    let mut a = Engine::with(&prepared, models(), seeded(5), T0).unwrap();
    let mut b = Engine::new(demo_config(), models(), seeded(5), T0).unwrap();
    for e in [&mut a, &mut b] {
        e.set_consent(consent(), T0);
        e.track(&EventInput::new("page_view", T0 + 1.0), T0 + 1.0)
            .unwrap();
    }
    for slot in ["hero-headline", "layout", "offer"] {
        let (da, db) = (
            a.decide(slot, T0 + 2.0).unwrap(),
            b.decide(slot, T0 + 2.0).unwrap(),
        );
        assert_eq!(
            (da.variant_id, da.probability),
            (db.variant_id, db.probability)
        );
    }
    // (Each has its own random pseudonym; the rest of the state is the same.)
    let state = |e: &Engine| {
        let mut s = edgewise::snapshot::decode(&e.snapshot().bytes).unwrap();
        s.pseudonym = None;
        s
    };
    assert_eq!(state(&a), state(&b));
    let bytes = a.snapshot().bytes;
    let r = Engine::restore_with(&bytes, &prepared, models(), T0 + 3.0).unwrap();
    let r2 = Engine::restore(&bytes, demo_config(), models(), T0 + 3.0).unwrap();
    assert_eq!(r.snapshot().bytes, r2.snapshot().bytes);
    // Other models (fewer, or another order) than it was prepared with: a clear refusal.
    for other in [
        vec![load("purchase-lr")],
        vec![load("churn-mlp"), load("purchase-lr")],
    ] {
        let e = Engine::with(&prepared, other, seeded(5), T0).err().unwrap();
        assert_eq!(e.code(), "config_invalid", "{e}");
        assert!(
            e.to_string()
                .contains("not the ones the config was prepared with"),
            "{e}"
        );
    }
}
