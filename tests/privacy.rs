//! The privacy promise, end to end through the `Engine`: nothing persists beyond the session
//! and no profile leaves the device unless the visitor allowed it, GPC always blocks a sync,
//! withdrawal wipes what was kept — for every combination of consent sources.

mod common;

use common::tc::Tc;
use common::{demo_config, load, T0};
use edgewise::consent::ConsentModeSignals;
use edgewise::profile::Scope;
use edgewise::{Engine, EngineConfig, EngineOptions, EventInput, Purposes, Source};

fn models() -> Vec<edgewise::PropensityModel> {
    vec![load("purchase-lr"), load("churn-mlp")]
}

fn engine(config: EngineConfig) -> Engine {
    let models = models();
    let opts = EngineOptions {
        seed: Some(5),
        ..Default::default()
    };
    let mut e = Engine::new(config, models, opts, T0).unwrap();
    let t = T0 + 1_000.0;
    for (i, c) in ["shoes", "bags", "shoes"].iter().enumerate() {
        let ev = EventInput::new("product_view", t + i as f64)
            .category(c)
            .price(60.0);
        e.track(&ev, t + 10.0).unwrap();
    }
    e
}

fn no_holdout() -> EngineConfig {
    let mut c = demo_config();
    c.holdout = 0.0;
    c
}

const ALL: Purposes = Purposes {
    storage: true,
    personalization: true,
    measurement: true,
    profile_sync: true,
};

#[derive(Clone, Copy, Debug)]
enum Host {
    All,
    Nothing,
    StorageOnly,
}
#[derive(Clone, Copy, Debug)]
enum Tcf {
    /// Purposes 1–11 and the publisher segment's consent to 1 and 5 (first party: a sync
    /// needs the publisher's own consent).
    All,
    /// Only purpose 1 (storage).
    StorageOnly,
    /// A string that does not decode.
    Malformed,
}
#[derive(Clone, Copy, Debug)]
enum Mode {
    Granted,
    Denied,
}

/// (storage, personalization, profile_sync) a source votes for; `None` = it does not speak.
type Vote = [Option<bool>; 3];

fn host_vote(h: Host) -> Vote {
    match h {
        Host::All => [Some(true); 3],
        Host::Nothing => [Some(false); 3],
        Host::StorageOnly => [Some(true), Some(false), Some(false)],
    }
}
fn tcf_vote(t: Tcf) -> Vote {
    match t {
        Tcf::All => [Some(true); 3],
        Tcf::StorageOnly => [Some(true), Some(false), Some(false)],
        Tcf::Malformed => [Some(false); 3],
    }
}
fn mode_vote(m: Mode) -> Vote {
    [Some(matches!(m, Mode::Granted)); 3]
}

/// The precedence rule restated independently: a purpose is allowed iff at least one source
/// speaks to it and every source that speaks allows it (the config default is "nothing").
fn expected(votes: &[Vote]) -> [bool; 3] {
    let mut out = [false; 3];
    for (i, o) in out.iter_mut().enumerate() {
        let spoken: Vec<bool> = votes.iter().filter_map(|v| v[i]).collect();
        *o = !spoken.is_empty() && spoken.iter().all(|&b| b);
    }
    out
}

#[test]
fn every_combination_of_sources_gates_storage_sync_and_personalization() {
    let hosts = [
        None,
        Some(Host::All),
        Some(Host::Nothing),
        Some(Host::StorageOnly),
    ];
    let tcfs = [
        None,
        Some(Tcf::All),
        Some(Tcf::StorageOnly),
        Some(Tcf::Malformed),
    ];
    let modes = [None, Some(Mode::Granted), Some(Mode::Denied)];
    let mut combos = 0;
    for host in hosts {
        for tcf in tcfs {
            for gpc in [false, true] {
                for mode in modes {
                    combos += 1;
                    let case = format!("host {host:?}, tcf {tcf:?}, gpc {gpc}, mode {mode:?}");
                    let mut e = engine(no_holdout());
                    let mut votes: Vec<Vote> = Vec::new();
                    let now = T0 + 2_000.0;
                    if let Some(h) = host {
                        let p = match h {
                            Host::All => ALL,
                            Host::Nothing => Purposes::default(),
                            Host::StorageOnly => Purposes {
                                storage: true,
                                ..Default::default()
                            },
                        };
                        e.set_consent(p, now);
                        votes.push(host_vote(h));
                    }
                    if let Some(t) = tcf {
                        let s = match t {
                            Tcf::All => Tc::consent(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
                                .publisher(&[1, 5], &[])
                                .build(),
                            Tcf::StorageOnly => Tc::consent(&[1]).build(),
                            Tcf::Malformed => "COw!not-a-tc-string".to_owned(),
                        };
                        let r = e.set_tcf(&s, now);
                        assert_eq!(r.is_err(), matches!(t, Tcf::Malformed), "{case}");
                        votes.push(tcf_vote(t));
                    }
                    if gpc {
                        e.set_gpc(true, now);
                        votes.push([None, None, Some(false)]);
                    }
                    if let Some(m) = mode {
                        let v = if matches!(m, Mode::Granted) {
                            "granted"
                        } else {
                            "denied"
                        };
                        let json = format!(
                            r#"{{"ad_storage": "{v}", "analytics_storage": "{v}", "ad_user_data": "{v}", "ad_personalization": "{v}"}}"#
                        );
                        e.set_consent_mode(&ConsentModeSignals::from_json(&json).unwrap(), now);
                        votes.push(mode_vote(m));
                    }
                    let [storage, personalization, sync] = expected(&votes);
                    let got = e.consent();
                    assert_eq!(
                        (got.storage, got.personalization, got.profile_sync),
                        (storage, personalization, sync),
                        "{case}"
                    );
                    if gpc {
                        assert!(!got.profile_sync, "{case}: GPC must block sync");
                    }

                    // Persisting: a persistent snapshot (and an id) only with storage.
                    let snap = e.snapshot();
                    let state = edgewise::snapshot::decode(&snap.bytes).unwrap();
                    if storage {
                        assert_eq!(snap.scope, Scope::Persistent, "{case}");
                        assert!(state.pseudonym.is_some(), "{case}");
                    } else {
                        assert_eq!(snap.scope, Scope::Session, "{case}");
                        assert_eq!(state.pseudonym, None, "{case}");
                        assert!(state.expires_ms.is_some(), "{case}");
                        assert_eq!(e.pseudonym(), None, "{case}");
                    }

                    // Sending: a payload only with profile_sync, else a typed refusal.
                    match e.sync_payload(now) {
                        Ok(p) => {
                            assert!(sync, "{case}: payload without consent");
                            let v: serde_json::Value = serde_json::from_str(&p).unwrap();
                            assert_eq!(v["version"], 1);
                            assert!(v["consent"]["profile_sync"]["allowed"].as_bool().unwrap());
                        }
                        Err(r) => {
                            assert!(!sync, "{case}: refused with consent: {r:?}");
                            assert_eq!((r.code, r.missing), ("sync_refused", "profile_sync"));
                            if gpc {
                                assert!(r.message.contains("gpc"), "{case}: {}", r.message);
                            }
                        }
                    }

                    // Choosing: no personalization, no policy.
                    let d = e.decide("hero-headline", now + 1.0).unwrap();
                    if !personalization {
                        assert!(
                            matches!(d.source, Source::NoConsent | Source::SessionOnly),
                            "{case}: {:?}",
                            d.source
                        );
                    } else {
                        assert_ne!(d.source, Source::NoConsent, "{case}");
                    }
                }
            }
        }
    }
    assert_eq!(combos, 4 * 4 * 2 * 3);
}

#[test]
fn withdrawal_wipes_the_profile_the_learning_and_the_id() {
    let mut e = engine(no_holdout());
    e.set_consent(ALL, T0 + 2_000.0);
    let id = e
        .pseudonym()
        .expect("an id with storage consent")
        .to_owned();
    assert_eq!(id.len(), 32);
    for i in 0..10 {
        let d = e.decide("offer", T0 + 3_000.0 + i as f64).unwrap();
        e.reward(&d.decision_id, 1.0, T0 + 3_500.0).unwrap();
    }
    let before: serde_json::Value =
        serde_json::from_str(&e.sync_payload(T0 + 4_000.0).unwrap()).unwrap();
    assert_eq!(before["id"], id.as_str());
    let shown: f64 = before["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["variants"].as_array().unwrap().clone())
        .map(|v| v["shown"].as_f64().unwrap())
        .sum();
    assert_eq!(shown, 10.0);

    let change = e.withdraw(T0 + 5_000.0);
    assert!(change.wiped);
    assert_eq!(change.delete_keys, vec!["edgewise:state".to_owned()]);
    assert_eq!(change.purposes, Purposes::default());
    assert_eq!(
        change.withdrawn,
        vec!["storage", "personalization", "measurement", "profile_sync"]
    );
    assert_eq!(e.pseudonym(), None);
    let export = e.export_profile(T0 + 5_000.0);
    assert!(export["profile"]["id"].is_null());
    assert!(export["pending_decisions"].as_array().unwrap().is_empty());
    for slot in export["profile"]["outcomes"].as_array().unwrap() {
        for v in slot["variants"].as_array().unwrap() {
            assert_eq!(
                (v["shown"].as_f64(), v["reward"].as_f64()),
                (Some(0.0), Some(0.0))
            );
        }
    }
    let snap = e.snapshot();
    assert_eq!(snap.scope, Scope::Session);
    assert_eq!(
        edgewise::snapshot::decode(&snap.bytes).unwrap().pseudonym,
        None
    );
    assert!(e.sync_payload(T0 + 5_000.0).is_err());
    assert_eq!(
        e.decide("offer", T0 + 6_000.0).unwrap().source,
        Source::NoConsent
    );
    // Consent again later: a new id, not the old one.
    e.set_consent(ALL, T0 + 7_000.0);
    assert_ne!(e.pseudonym(), Some(id.as_str()));
}

#[test]
fn a_tcf_change_that_drops_storage_wipes_and_a_persistent_snapshot_meeting_no_storage_too() {
    let mut e = engine(no_holdout());
    let all = Tc::consent(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]).build();
    assert!(!e.set_tcf(&all, T0 + 2_000.0).unwrap().wiped);
    assert!(e.pseudonym().is_some());
    let persistent = e.snapshot();
    assert_eq!(persistent.scope, Scope::Persistent);
    let change = e
        .set_tcf(&Tc::consent(&[5, 6]).build(), T0 + 3_000.0)
        .unwrap();
    assert!(change.wiped && change.withdrawn.contains(&"storage"));
    assert_eq!(change.delete_keys, vec!["edgewise:state".to_owned()]);
    assert_eq!(e.pseudonym(), None);

    // The host restored a persistent snapshot, then the CMP says no storage: wiped too.
    let mut r = Engine::restore(&persistent.bytes, no_holdout(), models(), T0 + 4_000.0).unwrap();
    assert!(r.pseudonym().is_some());
    let change = r
        .set_tcf(&Tc::consent(&[5, 6]).build(), T0 + 4_000.0)
        .unwrap();
    assert!(change.wiped, "{change:?}");
    assert_eq!(r.pseudonym(), None);
}

#[test]
fn a_session_only_snapshot_does_not_outlive_the_session() {
    let mut cfg = no_holdout();
    cfg.session_ttl_s = 600.0;
    let mut e = engine(cfg.clone());
    e.set_consent(
        Purposes {
            personalization: true,
            ..Default::default()
        },
        T0 + 2_000.0,
    );
    let snap = e.snapshot();
    assert_eq!(snap.scope, Scope::Session);
    let within = Engine::restore(&snap.bytes, cfg.clone(), models(), T0 + 300_000.0).unwrap();
    assert_eq!(within.session().len(), 3, "same session: state kept");
    assert!(within.restore_notes().is_empty());
    let after = Engine::restore(&snap.bytes, cfg, models(), T0 + 2_000.0 + 601_000.0).unwrap();
    assert_eq!(after.session().len(), 0, "expired: nothing carried over");
    assert!(after.restore_notes()[0].contains("session-only"));
}

#[test]
fn the_export_holds_everything_and_no_raw_text() {
    let mut e = engine(no_holdout());
    e.set_consent(ALL, T0 + 2_000.0);
    let ev = EventInput::new("search", T0 + 2_100.0);
    let ev = EventInput {
        query: Some("red leather boots".into()),
        ..ev
    };
    e.track(&ev, T0 + 2_200.0).unwrap();
    let ev = EventInput {
        item_id: Some("sku-991".into()),
        ..EventInput::new("product_view", T0 + 2_300.0).category("bags")
    };
    e.track(&ev, T0 + 2_400.0).unwrap();
    e.decide("layout", T0 + 2_500.0).unwrap();
    let x = e.export_profile(T0 + 3_000.0);
    let text = x.to_string();
    assert!(
        !text.contains("red leather boots") && !text.contains("sku-991"),
        "{text}"
    );
    assert!(text.contains("hash:"));
    assert_eq!(x["session"]["events"].as_array().unwrap().len(), 5);
    assert_eq!(x["pending_decisions"].as_array().unwrap().len(), 1);
    assert_eq!(x["profile"]["categories"]["shoes"], 0.5);
    assert!(x["profile"]["scores"]["purchase"].is_number());
    assert_eq!(x["profile"]["consent"]["storage"]["by"][0], "host");
    assert_eq!(x["storage"]["scope"], "persistent");
    assert_eq!(x["policies"].as_array().unwrap().len(), 3);
    // The sync payload is the minimized profile: no events, no decisions, no policy state.
    let sync = e.sync_payload(T0 + 3_000.0).unwrap();
    assert!(!sync.contains("events") && !sync.contains("hash:") && !sync.contains("pending"));
    // Measurement: aggregates only, and only with its purpose.
    let m = e.measurement_payload(T0 + 3_000.0).unwrap();
    assert!(!m.contains(e.pseudonym().unwrap()));
    // Its numbers without the JSON (the edge worker's form): the same counts, in config order.
    let counts = e.measurement_counts().unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&m).unwrap();
    let from_json: Vec<f64> = parsed["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["variants"].as_array().unwrap().clone())
        .flat_map(|v| [v["shown"].as_f64().unwrap(), v["reward"].as_f64().unwrap()])
        .collect();
    assert_eq!(counts, from_json);
    assert_eq!(
        counts.iter().step_by(2).sum::<f64>(),
        1.0,
        "one decision shown"
    );
    e.set_consent(
        Purposes {
            measurement: false,
            ..ALL
        },
        T0 + 4_000.0,
    );
    assert_eq!(
        e.measurement_payload(T0 + 4_000.0).unwrap_err().code,
        "measurement_refused"
    );
    let refused = e.measurement_counts().unwrap_err();
    assert_eq!(
        (refused.code, refused.missing),
        ("measurement_refused", "measurement")
    );
}

#[test]
fn purpose_11_allows_session_only_choices_that_never_learn() {
    let mut e = engine(no_holdout());
    let change = e
        .set_tcf(&Tc::consent(&[11]).build(), T0 + 2_000.0)
        .unwrap();
    assert!(change.session_personalization && !change.purposes.personalization);
    let mut sources = Vec::new();
    for i in 0..20 {
        let d = e.decide("layout", T0 + 3_000.0 + i as f64).unwrap();
        sources.push(d.source);
    }
    // Two product views make the "list" layout eligible and the default is too: the default.
    assert!(sources
        .iter()
        .all(|s| matches!(s, Source::NoConsent | Source::SessionOnly)));
    let x = e.export_profile(T0 + 4_000.0);
    for slot in x["profile"]["outcomes"].as_array().unwrap() {
        for v in slot["variants"].as_array().unwrap() {
            assert_eq!(v["shown"], 0.0, "nothing learned: {slot}");
        }
    }
    // Without purpose 11 and without the config flag: plain no_consent.
    let mut cfg = no_holdout();
    let mut e = engine(cfg.clone());
    e.set_tcf(&Tc::consent(&[1]).build(), T0 + 2_000.0).unwrap();
    assert!(!e.consent().personalization);
    assert_eq!(
        e.decide("layout", T0 + 3_000.0).unwrap().source,
        Source::NoConsent
    );
    // The config flag allows it when no source speaks to it.
    cfg.consent.session_personalization_without_consent = true;
    let mut e = engine(cfg);
    let d = e.decide("offer", T0 + 3_000.0).unwrap();
    assert!(matches!(d.source, Source::NoConsent | Source::SessionOnly));
    assert!(
        d.reasons.iter().any(|r| r.contains("session-only")),
        "{d:?}"
    );
}

#[test]
fn a_malformed_tc_string_is_an_error_and_allows_nothing() {
    let mut e = engine(no_holdout());
    e.set_consent(ALL, T0 + 2_000.0);
    let err = e.set_tcf("CPxyz", T0 + 3_000.0).unwrap_err();
    assert_eq!(err.code(), "consent_invalid_tcf");
    assert!(err.to_string().contains("tcf_"), "{err}");
    assert_eq!(e.consent(), Purposes::default());
    // The refusal still changed consent: storage went, so what was kept must be deleted —
    // set_tcf_reporting gives the host that change with the error.
    let mut e = engine(no_holdout());
    e.set_consent(ALL, T0 + 2_000.0);
    assert!(e.pseudonym().is_some());
    let (change, err) = e.set_tcf_reporting("CPxyz", T0 + 3_000.0);
    assert_eq!(err.map(|x| x.code()), Some("consent_invalid_tcf"));
    assert!(change.wiped && !change.purposes.storage, "{change:?}");
    assert!(!change.delete_keys.is_empty(), "{change:?}");
    assert!(e.pseudonym().is_none());
    // Policy version 3 is rejected the same way.
    let mut old = Tc::consent(&[1, 5, 6]);
    old.policy = 3;
    let err = e.set_tcf(&old.build(), T0 + 4_000.0).unwrap_err();
    assert!(err.to_string().contains("tcf_policy_version"), "{err}");
    assert!(!e.consent().storage);
}

#[test]
fn bad_consent_config_is_refused() {
    let text = std::fs::read_to_string(common::root().join("www/demo/config.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["consent"] = serde_json::json!({"tcf": {"personalization": {"all_li": [5, 6]}}});
    let err = EngineConfig::from_json(&v.to_string()).unwrap_err();
    assert_eq!(edgewise::Error::from(err.clone()).code(), "config_invalid");
    assert!(err.to_string().contains("consent"), "{err}");
    v["consent"] = serde_json::json!({});
    v["storage_prefix"] = "bad key!".into();
    let err = EngineConfig::from_json(&v.to_string()).unwrap_err();
    assert!(err.to_string().contains("storage_prefix"), "{err}");
}
