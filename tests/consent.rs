//! Consent (`edgewise::consent`): what a visitor, a site or a regulator would notice. Host
//! `setConsent`, IAB TCF v2.2 strings (hand-built here, plus the decoder's fixtures), Global
//! Privacy Control and Google Consent Mode v2, combined most-restrictive-wins.

use edgewise::consent::{
    self, ConsentConfig, ConsentError, ConsentModeSignals, ConsentState, Effective, Source, TcfMap,
    TcfRule, ERROR_CODES,
};
use edgewise::Purposes;
use serde_json::{json, Value};

mod common;
use common::tc::{Tc, ALL_PURPOSES, VENDOR};

const T0: f64 = 1_700_000_000_000.0;

// ---------------------------------------------------------------------------------------------
// Helpers

const ALL: Purposes = Purposes {
    storage: true,
    personalization: true,
    measurement: true,
    profile_sync: true,
};
const NONE: Purposes = Purposes {
    storage: false,
    personalization: false,
    measurement: false,
    profile_sync: false,
};

fn cfg(json: &str) -> ConsentConfig {
    ConsentConfig::from_json(json).unwrap_or_else(|e| panic!("{json}: {e}"))
}

fn vendor_cfg() -> ConsentConfig {
    cfg(&format!(r#"{{"vendor_id": {VENDOR}}}"#))
}

fn signals(json: &str) -> ConsentModeSignals {
    ConsentModeSignals::from_json(json).unwrap_or_else(|e| panic!("{json}: {e}"))
}

fn with_tcf(tc: &Tc, cfg: &ConsentConfig) -> Effective {
    let mut s = ConsentState::default();
    s.set_tcf(&tc.build(), T0).unwrap();
    s.effective(cfg)
}

/// (storage, personalization, measurement, profile_sync, session_personalization)
fn flags(e: &Effective) -> [bool; 5] {
    let p = e.purposes;
    [
        p.storage,
        p.personalization,
        p.measurement,
        p.profile_sync,
        e.session_personalization,
    ]
}

fn receipt(e: &Effective) -> Value {
    serde_json::to_value(&e.receipt).unwrap()
}

fn fixture(name: &str) -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tcf")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Compatibility

#[test]
fn existing_purposes_json_still_deserializes() {
    let p: Purposes = serde_json::from_str(r#"{"personalization": true}"#).unwrap();
    assert_eq!(
        p,
        Purposes {
            personalization: true,
            ..Purposes::default()
        }
    );
    assert_eq!(serde_json::from_str::<Purposes>("{}").unwrap(), NONE);
    assert!(serde_json::from_str::<Purposes>(r#"{"personalisation": true}"#).is_err());
    assert_eq!(
        serde_json::to_value(ALL).unwrap(),
        json!({"storage": true, "personalization": true, "measurement": true, "profile_sync": true})
    );
}

// ---------------------------------------------------------------------------------------------
// Nothing without consent; defaults

#[test]
fn no_signal_allows_nothing() {
    let e = ConsentState::default().effective(&ConsentConfig::default());
    assert_eq!(flags(&e), [false; 5]);
    let r = receipt(&e);
    assert_eq!(r["at_ms"], Value::Null);
    assert_eq!(r["sources"], json!([]));
    assert_eq!(
        r["storage"],
        json!({"allowed": false, "denied_by": ["default"]})
    );
    assert!(r.get("tcf").is_none());
}

#[test]
fn default_purposes_apply_only_when_no_source_speaks() {
    let site = cfg(
        r#"{"default": {"storage": true, "personalization": true, "measurement": true, "profile_sync": true}}"#,
    );

    let e = ConsentState::default().effective(&site);
    assert_eq!(e.purposes, ALL);
    assert!(e.session_personalization);
    assert_eq!(e.receipt.storage.by, [Source::Default]);

    // The host speaks to all four purposes: the default no longer applies.
    let mut s = ConsentState::default();
    s.set_host(NONE, T0);
    let e = s.effective(&site);
    assert_eq!(e.purposes, NONE);
    assert_eq!(e.receipt.measurement.denied_by, [Source::Host]);

    // GPC speaks only to profile_sync.
    let mut s = ConsentState::default();
    s.set_gpc(true, T0);
    let e = s.effective(&site);
    assert_eq!(
        e.purposes,
        Purposes {
            profile_sync: false,
            ..ALL
        }
    );
    assert_eq!(e.receipt.profile_sync.denied_by, [Source::Gpc]);
    assert_eq!(e.receipt.storage.by, [Source::Default]);

    // A TC string speaks to every mapped purpose, even the ones it does not grant.
    let e = with_tcf(&Tc::consent(&[1]), &site);
    assert_eq!(flags(&e), [true, false, false, false, false]);
    assert_eq!(e.receipt.storage.by, [Source::Tcf]);
    assert_eq!(e.receipt.personalization.denied_by, [Source::Tcf]);

    // Consent Mode with only analytics_storage speaks to storage and measurement.
    let mut s = ConsentState::default();
    s.set_consent_mode(&signals(r#"{"analytics_storage": "denied"}"#), T0);
    let e = s.effective(&site);
    assert_eq!(flags(&e), [false, true, false, true, true]);
    assert_eq!(e.receipt.storage.denied_by, [Source::ConsentMode]);
    assert_eq!(e.receipt.personalization.by, [Source::Default]);
}

// ---------------------------------------------------------------------------------------------
// Each source alone

#[test]
fn host_alone() {
    let mut s = ConsentState::default();
    let p = Purposes {
        storage: true,
        measurement: true,
        ..NONE
    };
    s.set_host(p, T0);
    let e = s.effective(&ConsentConfig::default());
    assert_eq!(e.purposes, p);
    assert!(!e.session_personalization);
    assert_eq!(e.receipt.storage.by, [Source::Host]);
    assert_eq!(e.receipt.personalization.denied_by, [Source::Host]);
    // The host does not speak to session-only personalization: the config fallback does.
    assert_eq!(
        e.receipt.session_personalization.denied_by,
        [Source::Default, Source::Host]
    );
    // A later call replaces the earlier one.
    s.set_host(ALL, T0 + 1.0);
    assert_eq!(s.effective(&ConsentConfig::default()).purposes, ALL);
}

#[test]
fn tcf_alone_first_party() {
    let first_party = ConsentConfig::default();
    // Full consent in the core segment: everything but profile_sync, which needs the consent
    // given to a named party (our vendor id or the publisher TC segment).
    let e = with_tcf(&Tc::consent(&ALL_PURPOSES), &first_party);
    assert_eq!(flags(&e), [true, true, true, false, true]);
    let e = with_tcf(
        &Tc::consent(&ALL_PURPOSES).publisher(&[1, 5], &[]),
        &first_party,
    );
    assert_eq!(flags(&e), [true, true, true, true, true]);
    // The publisher TC segment alone grants, first party.
    let e = with_tcf(&Tc::consent(&[]).publisher(&[1, 5, 6], &[8]), &first_party);
    assert_eq!(flags(&e), [true, true, true, true, true]);
    // Each default rule needs its purposes.
    for (consents, want) in [
        (&[1][..], [true, false, false, false, false]),
        (&[5], [false, false, false, false, false]),
        (&[5, 6], [false, true, false, false, true]),
        (&[8], [false, false, true, false, false]),
        (&[11], [false, false, false, false, true]),
        (&[2, 3, 4, 7, 9, 10], [false; 5]),
    ] {
        let e = with_tcf(&Tc::consent(consents), &first_party);
        assert_eq!(flags(&e), want, "consents {consents:?}");
    }
    // Measurement may rest on legitimate interest (purpose 8).
    let e = with_tcf(&Tc::consent(&[]).li(&[8]), &first_party);
    assert_eq!(flags(&e), [false, false, true, false, false]);
}

#[test]
fn gpc_alone_blocks_profile_sync_and_nothing_else() {
    let site = cfg(
        r#"{"default": {"storage": true, "personalization": true, "measurement": true, "profile_sync": true}}"#,
    );
    let mut s = ConsentState::default();
    s.set_gpc(false, T0);
    assert_eq!(s.effective(&site).purposes, ALL, "gpc false is no signal");
    assert_eq!(s.at_ms(), None);
    s.set_gpc(true, T0);
    let e = s.effective(&site);
    assert_eq!(flags(&e), [true, true, true, false, true]);
    // GPC grants nothing.
    let e = s.effective(&ConsentConfig::default());
    assert_eq!(flags(&e), [false; 5]);
    assert_eq!(receipt(&e)["sources"], json!(["gpc"]));
}

#[test]
fn consent_mode_alone() {
    let c = ConsentConfig::default();
    let mut s = ConsentState::default();
    s.set_consent_mode(
        &signals(r#"{"ad_storage": "granted", "analytics_storage": "granted", "ad_user_data": "granted", "ad_personalization": "granted"}"#),
        T0,
    );
    let e = s.effective(&c);
    assert_eq!(flags(&e), [true; 5]);
    assert_eq!(e.receipt.session_personalization.by, [Source::ConsentMode]);

    // personalization_storage takes precedence for storage and personalization.
    s.set_consent_mode(&signals(r#"{"personalization_storage": "denied"}"#), T0);
    assert_eq!(flags(&s.effective(&c)), [false, false, true, true, false]);

    // ad_user_data AND ad_personalization for profile_sync.
    let mut s = ConsentState::default();
    s.set_consent_mode(
        &signals(r#"{"ad_user_data": "granted", "ad_personalization": "denied"}"#),
        T0,
    );
    assert!(!s.effective(&c).purposes.profile_sync);
    // Half the signals present and granted: Consent Mode is silent, the default (false) applies.
    let mut s = ConsentState::default();
    s.set_consent_mode(&signals(r#"{"ad_user_data": "granted"}"#), T0);
    let e = s.effective(&c);
    assert!(!e.purposes.profile_sync);
    assert_eq!(e.receipt.profile_sync.denied_by, [Source::Default]);
    // ad_storage maps to nothing by default.
    let mut s = ConsentState::default();
    s.set_consent_mode(&signals(r#"{"ad_storage": "granted"}"#), T0);
    assert_eq!(
        receipt(&s.effective(&c))["storage"],
        json!({"allowed": false, "denied_by": ["default"]})
    );
}

#[test]
fn consent_mode_updates_merge_like_gtag() {
    let c = ConsentConfig::default();
    let mut s = ConsentState::default();
    s.set_host(ALL, T0);
    s.set_consent_mode(
        &signals(r#"{"ad_user_data": "denied", "ad_personalization": "granted"}"#),
        T0,
    );
    // A later update about another signal keeps the earlier denial.
    s.set_consent_mode(&signals(r#"{"analytics_storage": "granted"}"#), T0 + 1.0);
    let e = s.effective(&c);
    assert!(!e.purposes.profile_sync);
    assert_eq!(e.receipt.profile_sync.denied_by, [Source::ConsentMode]);
    s.set_consent_mode(&signals(r#"{"ad_user_data": "granted"}"#), T0 + 2.0);
    assert!(s.effective(&c).purposes.profile_sync);
    assert_eq!(
        s.consent_mode().unwrap().to_string(),
        r#"{"analytics_storage":"granted","ad_user_data":"granted","ad_personalization":"granted"}"#
    );
}

#[test]
fn consent_mode_signals_accept_only_granted_or_denied() {
    let ok = signals(
        r#"{"ad_storage": "denied", "functionality_storage": "granted", "personalization_storage": "granted", "security_storage": "granted"}"#,
    );
    assert_eq!(ok.ad_storage, Some(consent::ConsentModeValue::Denied));
    for (json, names) in [
        (r#"{"ad_storage": "yes"}"#, &["ad_storage", "\"yes\""][..]),
        (r#"{"ad_storage": true}"#, &["ad_storage", "true"]),
        (
            r#"{"analytics_storage": null}"#,
            &["analytics_storage", "null"],
        ),
        (r#"{"ad_storage": "Granted"}"#, &["ad_storage", "Granted"]),
        (
            r#"{"ad_strorage": "granted"}"#,
            &["ad_strorage", "ad_storage"],
        ),
        (r#"["ad_storage"]"#, &["JSON object"]),
        (r#"{"ad_storage": "#, &["invalid JSON"]),
    ] {
        let e = ConsentModeSignals::from_json(json).unwrap_err();
        assert_eq!(e.code(), "consent_invalid_signal", "{json}");
        for name in names {
            assert!(e.to_string().contains(name), "{json}: {e}");
        }
    }
    // Plain serde (e.g. inside a larger message) gives the same message.
    let e = serde_json::from_str::<ConsentModeSignals>(r#"{"ad_user_data": "maybe"}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("ad_user_data") && e.contains("maybe"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Combinations

#[derive(Clone, Copy, Debug)]
enum TcfCase {
    Absent,
    Everything,
    Nothing,
    Malformed,
}

/// Every combination of host × TCF × GPC × Consent Mode presence, against a model of the
/// documented rules.
#[test]
fn every_combination_most_restrictive_wins() {
    let hosts = [None, Some(ALL), Some(NONE)];
    let tcfs = [
        TcfCase::Absent,
        TcfCase::Everything,
        TcfCase::Nothing,
        TcfCase::Malformed,
    ];
    let modes = [
        None,
        Some((
            r#"{"analytics_storage": "granted", "ad_user_data": "granted", "ad_personalization": "granted"}"#,
            true,
        )),
        Some((
            r#"{"analytics_storage": "denied", "ad_user_data": "denied", "ad_personalization": "denied"}"#,
            false,
        )),
    ];
    let configs = [
        (ConsentConfig::default(), [false; 5]),
        (vendor_cfg(), [false; 5]),
        (
            cfg(
                r#"{"default": {"storage": true, "personalization": true, "measurement": true, "profile_sync": true}}"#,
            ),
            [true, true, true, true, false],
        ),
        (
            cfg(r#"{"session_personalization_without_consent": true}"#),
            [false, false, false, false, true],
        ),
    ];
    let mut checked = 0;
    for (c, fallback) in &configs {
        for host in hosts {
            for tcf in tcfs {
                for gpc in [false, true] {
                    for mode in modes {
                        let mut s = ConsentState::default();
                        // (source, votes for the five capabilities)
                        let mut votes: Vec<(Source, [Option<bool>; 5])> = Vec::new();
                        if let Some(p) = host {
                            s.set_host(p, T0);
                            let v = Some(p == ALL);
                            votes.push((Source::Host, [v, v, v, v, None]));
                        }
                        match tcf {
                            TcfCase::Absent => {}
                            TcfCase::Everything => {
                                let tc = Tc::all().publisher(&[1, 5], &[]);
                                s.set_tcf(&tc.build(), T0).unwrap();
                                votes.push((Source::Tcf, [Some(true); 5]));
                            }
                            TcfCase::Nothing => {
                                s.set_tcf(&Tc::consent(&[]).build(), T0).unwrap();
                                votes.push((Source::Tcf, [Some(false); 5]));
                            }
                            TcfCase::Malformed => {
                                let e = s.set_tcf("CP1R2oAP1VJkAEs!", T0).unwrap_err();
                                assert_eq!(e.code(), "consent_invalid_tcf");
                                votes.push((Source::Tcf, [Some(false); 5]));
                            }
                        }
                        if gpc {
                            s.set_gpc(true, T0);
                            votes.push((Source::Gpc, [None, None, None, Some(false), None]));
                        }
                        if let Some((json, granted)) = mode {
                            s.set_consent_mode(&signals(json), T0);
                            let v = Some(granted);
                            votes.push((Source::ConsentMode, [v, v, v, v, None]));
                        }

                        let e = s.effective(c);
                        let got = flags(&e);
                        let r = &e.receipt;
                        let receipts = [
                            &r.storage,
                            &r.personalization,
                            &r.measurement,
                            &r.profile_sync,
                            &r.session_personalization,
                        ];
                        let mut want = [false; 5];
                        for i in 0..5 {
                            let by: Vec<Source> = votes
                                .iter()
                                .filter(|(_, v)| v[i] == Some(true))
                                .map(|(s, _)| *s)
                                .collect();
                            let denied: Vec<Source> = votes
                                .iter()
                                .filter(|(_, v)| v[i] == Some(false))
                                .map(|(s, _)| *s)
                                .collect();
                            want[i] = if by.is_empty() && denied.is_empty() {
                                fallback[i]
                            } else {
                                denied.is_empty()
                            };
                            if i < 4 && !(by.is_empty() && denied.is_empty()) {
                                assert_eq!(receipts[i].by, by, "{host:?} {tcf:?} {gpc} {mode:?}");
                                assert_eq!(receipts[i].denied_by, denied);
                            }
                        }
                        want[4] |= want[1];
                        let case =
                            format!("host {host:?} tcf {tcf:?} gpc {gpc} mode {mode:?} cfg {c:?}");
                        assert_eq!(got, want, "{case}");
                        for rc in receipts {
                            assert_eq!(rc.allowed, rc.denied_by.is_empty(), "{case}");
                            assert!(!rc.by.is_empty() || !rc.denied_by.is_empty(), "{case}");
                        }
                        if gpc {
                            assert!(!e.purposes.profile_sync, "{case}");
                            assert!(e.receipt.profile_sync.denied_by.contains(&Source::Gpc));
                        }
                        if matches!(tcf, TcfCase::Malformed | TcfCase::Nothing) {
                            assert_eq!(got, [false; 5], "{case}");
                        }
                        // Without the default config, nothing is allowed unless a source grants it.
                        if *fallback == [false; 5] {
                            for (i, rc) in receipts.iter().enumerate() {
                                if got[i] {
                                    assert!(!rc.by.contains(&Source::Default), "{case}");
                                }
                            }
                        }
                        // GPC changes profile_sync and nothing else.
                        let mut without = s.clone();
                        without.set_gpc(false, T0);
                        let w = flags(&without.effective(c));
                        assert_eq!(
                            [w[0], w[1], w[2], w[4]],
                            [got[0], got[1], got[2], got[4]],
                            "{case}"
                        );
                        assert!(w[3] >= got[3]);
                        checked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(checked, 4 * 3 * 4 * 2 * 3);
}

// ---------------------------------------------------------------------------------------------
// TCF details

#[test]
fn malformed_or_old_tc_strings_are_rejected_and_deny_everything() {
    let generous = cfg(
        r#"{"default": {"storage": true, "personalization": true, "measurement": true, "profile_sync": true}, "session_personalization_without_consent": true}"#,
    );
    let old = Tc {
        policy: 3,
        ..Tc::all()
    };
    // (string, expected tcf code if the fixture names one)
    let mut cases: Vec<(String, Option<String>)> = vec![
        (old.build(), Some("tcf_policy_version".into())),
        ("not a tc string".into(), Some("tcf_bad_base64".into())),
    ];
    for case in fixture("malformed.json") {
        cases.push((
            case["string"].as_str().unwrap().into(),
            case["code"].as_str().map(String::from),
        ));
    }
    assert!(cases.len() > 100);
    for (string, want) in &cases {
        let mut s = ConsentState::default();
        s.set_host(ALL, T0);
        s.set_tcf(&Tc::all().publisher(&[1, 5], &[]).build(), T0)
            .unwrap();
        assert_eq!(flags(&s.effective(&generous)), [true; 5]);

        let e = s.set_tcf(string, T0 + 1.0).unwrap_err();
        assert_eq!(e.code(), "consent_invalid_tcf");
        assert!(ERROR_CODES.contains(&e.code()));
        let ConsentError::Tcf(t) = &e else {
            panic!("{e:?}")
        };
        let code = t.code();
        if let Some(want) = want {
            assert_eq!(code, want, "{string:?}");
        }
        assert!(e.to_string().contains(code), "{e}");
        assert!(std::error::Error::source(&e).is_some());

        let eff = s.effective(&generous);
        assert_eq!(flags(&eff), [false; 5], "{string:?}");
        let r = receipt(&eff);
        assert_eq!(r["tcf"], json!({ "error": code }));
        assert_eq!(r["session_personalization"]["denied_by"], json!(["tcf"]));
        assert_eq!(r["at_ms"], json!(T0 + 1.0));
        assert!(s.tcf().is_none());
    }
}

#[test]
fn legitimate_interest_never_grants_personalization() {
    // Every legitimate-interest bit and vendor LI set, no consent.
    let li_only = Tc::consent(&[])
        .li(&ALL_PURPOSES)
        .vendors(&[], &[VENDOR as u64])
        .publisher(&[], &ALL_PURPOSES);
    for c in [ConsentConfig::default(), vendor_cfg()] {
        let e = with_tcf(&li_only, &c);
        // Purpose 8 and 11 may rest on LI; 1, 5 and 6 may not.
        assert_eq!(flags(&e), [false, false, true, false, true]);
    }

    // A map that tries is rejected...
    for json in [
        r#"{"tcf": {"personalization": {"all_li": [5, 6]}}}"#,
        r#"{"tcf": {"personalization": {"any_li": [6]}}}"#,
        r#"{"tcf": {"measurement": {"any_li": [8, 3]}}}"#,
        r#"{"tcf": {"storage": {"all_li": [1]}}}"#,
        r#"{"tcf": {"session_personalization": {"any_li": [4]}}}"#,
    ] {
        let e = ConsentConfig::from_json(json).unwrap_err();
        assert_eq!(e.code(), "consent_invalid_map");
        assert!(e.to_string().contains("only consent"), "{e}");
    }
    // ...and if someone builds it in code without validating, the LI bits still grant nothing.
    let sneaky = ConsentConfig {
        tcf: TcfMap {
            personalization: Some(TcfRule {
                all_li: vec![5, 6],
                ..TcfRule::default()
            }),
            ..TcfMap::default()
        },
        ..ConsentConfig::default()
    };
    assert!(sneaky.validate().is_err());
    let e = with_tcf(&li_only, &sneaky);
    assert!(!e.purposes.personalization);
    // With consent it works under that map.
    let e = with_tcf(&Tc::consent(&[5, 6]), &sneaky);
    assert!(e.purposes.personalization);
}

#[test]
fn config_errors_say_what_to_fix() {
    for (json, needle) in [
        (r#"{"tcf": {"storage": {}}}"#, "lists no TCF purpose"),
        (
            r#"{"tcf": {"storage": {"all": [12]}}}"#,
            "purposes are 1 to 11",
        ),
        (
            r#"{"tcf": {"storage": {"all": [0]}}}"#,
            "purposes are 1 to 11",
        ),
        (r#"{"tcf": {"storage": {"al": [1]}}}"#, "unknown field"),
        (r#"{"tcf": {"storag": {"all": [1]}}}"#, "unknown field"),
        (
            r#"{"consent_mode": {"storage": {"all": []}}}"#,
            "lists no signal",
        ),
        (
            r#"{"consent_mode": {"storage": {"all": ["ad_strorage"]}}}"#,
            "unknown variant",
        ),
        (
            r#"{"consent_mode": {"storage": {"any": ["ad_storage"]}}}"#,
            "unknown variant",
        ),
        (r#"{"vendor_id": 0}"#, "ids start at 1"),
        (r#"{"vendor": 5}"#, "unknown field"),
    ] {
        let e = ConsentConfig::from_json(json).unwrap_err();
        assert_eq!(e.code(), "consent_invalid_map", "{json}");
        assert!(e.to_string().contains(needle), "{json}: {e}");
    }
    // null silences a source for a purpose; absent keys keep their default.
    let c = cfg(
        r#"{"tcf": {"storage": null}, "consent_mode": {"measurement": {"first": ["ad_storage"]}}}"#,
    );
    assert!(c.tcf.storage.is_none());
    assert_eq!(c.tcf.personalization, TcfMap::default().personalization);
    let e = with_tcf(&Tc::consent(&[]), &c);
    assert_eq!(e.receipt.storage.denied_by, [Source::Default]);
    assert_eq!(e.receipt.personalization.denied_by, [Source::Tcf]);
}

#[test]
fn vendor_id_requires_vendor_consent_or_publisher_segment() {
    let c = vendor_cfg();
    // Purpose consents without our vendor: nothing.
    let e = with_tcf(&Tc::consent(&ALL_PURPOSES).vendors(&[1, 41, 43], &[]), &c);
    assert_eq!(flags(&e), [false; 5]);
    // With our vendor consent: everything, profile_sync included.
    let e = with_tcf(&Tc::all(), &c);
    assert_eq!(flags(&e), [true; 5]);
    // Vendor LI for the LI-capable purposes (8, 11).
    let e = with_tcf(
        &Tc::consent(&[]).li(&[8, 11]).vendors(&[], &[VENDOR as u64]),
        &c,
    );
    assert_eq!(flags(&e), [false, false, true, false, true]);
    // The publisher TC segment grants without vendor consent.
    let e = with_tcf(&Tc::consent(&[]).publisher(&[1, 5, 6], &[]), &c);
    assert_eq!(flags(&e), [true, true, false, true, true]);
}

#[test]
fn publisher_restrictions_for_our_vendor() {
    let c = vendor_cfg();
    let v = VENDOR as u64;
    // Type 0 (not allowed) on purpose 1: no storage, no profile_sync; the rest stands.
    let e = with_tcf(&Tc::all().restrict(1, 0, v), &c);
    assert_eq!(flags(&e), [false, true, true, false, true]);
    // ... even when the publisher segment consents.
    let e = with_tcf(&Tc::all().restrict(1, 0, v).publisher(&[1, 5], &[]), &c);
    assert!(!e.purposes.storage && !e.purposes.profile_sync);
    // Type 0 for another vendor changes nothing.
    let e = with_tcf(&Tc::all().restrict(1, 0, v + 1), &c);
    assert_eq!(flags(&e), [true; 5]);
    // Type 0 on purpose 6: no personalization; session-only stays (purpose 11).
    let e = with_tcf(&Tc::all().restrict(6, 0, v), &c);
    assert_eq!(flags(&e), [true, false, true, true, true]);
    // Type 1 (require consent) makes LI insufficient for measurement...
    let li8 = Tc::consent(&[]).li(&[8]).vendors(&[], &[v]);
    assert!(with_tcf(&li8, &c).purposes.measurement);
    assert!(
        !with_tcf(&li8.clone().restrict(8, 1, v), &c)
            .purposes
            .measurement
    );
    // ...while consent still works.
    let e = with_tcf(&Tc::all().restrict(8, 1, v), &c);
    assert!(e.purposes.measurement);
    // Type 2 (require LI) makes consent insufficient.
    let e = with_tcf(&Tc::all().restrict(8, 2, v), &c);
    assert!(!e.purposes.measurement);
    let e = with_tcf(
        &Tc::all().li(&[8]).vendors(&[v], &[v]).restrict(8, 2, v),
        &c,
    );
    assert!(e.purposes.measurement);
    // First party (no vendor id): restrictions name vendors, not us.
    let e = with_tcf(&Tc::all().restrict(1, 0, v), &ConsentConfig::default());
    assert!(e.purposes.storage);
}

#[test]
fn purpose_11_gives_session_personalization_only() {
    for tc in [
        Tc::consent(&[11]),
        Tc::consent(&[]).li(&[11]),
        Tc::consent(&[1, 11]),
    ] {
        let e = with_tcf(&tc, &ConsentConfig::default());
        assert!(e.session_personalization);
        assert!(!e.purposes.personalization);
        assert_eq!(e.receipt.session_personalization.by, [Source::Tcf]);
        assert_eq!(e.receipt.personalization.denied_by, [Source::Tcf]);
    }
    // The host's personalization grant cannot override TCF's missing 5/6 ...
    let mut s = ConsentState::default();
    s.set_host(ALL, T0);
    s.set_tcf(&Tc::consent(&[1, 11]).build(), T0).unwrap();
    let e = s.effective(&ConsentConfig::default());
    assert!(!e.purposes.personalization && e.session_personalization);
    // ... and personalization implies session-only personalization.
    let e = with_tcf(&Tc::consent(&[5, 6]), &ConsentConfig::default());
    assert!(e.purposes.personalization && e.session_personalization);
    assert_eq!(e.receipt.session_personalization.by, [Source::Tcf]);
    assert!(e.receipt.session_personalization.denied_by.is_empty());
}

#[test]
fn session_personalization_without_consent_needs_the_config_flag() {
    let flag = cfg(r#"{"session_personalization_without_consent": true}"#);
    let s = ConsentState::default();
    assert!(
        !s.effective(&ConsentConfig::default())
            .session_personalization
    );
    let e = s.effective(&flag);
    assert_eq!(flags(&e), [false, false, false, false, true]);
    assert_eq!(e.receipt.session_personalization.by, [Source::Default]);
    // A TC string without purpose 11 speaks to it: denied even with the flag.
    let e = with_tcf(&Tc::consent(&[1]), &flag);
    assert!(!e.session_personalization);
    assert_eq!(e.receipt.session_personalization.denied_by, [Source::Tcf]);
    // The host's setConsent does not speak to it: the flag applies.
    let mut s = ConsentState::default();
    s.set_host(NONE, T0);
    assert!(s.effective(&flag).session_personalization);
    // Consent Mode speaks to it only if its map says so.
    let mapped = cfg(
        r#"{"session_personalization_without_consent": true, "consent_mode": {"session_personalization": {"all": ["personalization_storage"]}}}"#,
    );
    let mut s = ConsentState::default();
    s.set_consent_mode(&signals(r#"{"personalization_storage": "denied"}"#), T0);
    assert_eq!(s.effective(&flag).purposes, NONE);
    assert!(s.effective(&flag).session_personalization);
    assert!(!s.effective(&mapped).session_personalization);
    let mut s = ConsentState::default();
    s.set_consent_mode(&signals(r#"{"ad_storage": "denied"}"#), T0);
    assert!(s.effective(&mapped).session_personalization);
}

// ---------------------------------------------------------------------------------------------
// Receipt and withdrawal

#[test]
fn receipt_names_the_sources() {
    let mut s = ConsentState::default();
    s.set_host(ALL, T0);
    s.set_tcf(&Tc::all().publisher(&[1, 5], &[]).build(), T0 + 10.0)
        .unwrap();
    s.set_gpc(true, T0 + 20.0);
    s.set_consent_mode(&signals(r#"{"analytics_storage": "denied"}"#), T0 + 30.0);
    let e = s.effective(&vendor_cfg());
    assert_eq!(
        receipt(&e),
        json!({
            "at_ms": T0 + 30.0,
            "sources": ["host", "tcf", "gpc", "consent_mode"],
            "storage": {"allowed": false, "by": ["host", "tcf"], "denied_by": ["consent_mode"]},
            "personalization": {"allowed": true, "by": ["host", "tcf"]},
            "measurement": {"allowed": false, "by": ["host", "tcf"], "denied_by": ["consent_mode"]},
            "profile_sync": {"allowed": false, "by": ["host", "tcf"], "denied_by": ["gpc"]},
            "session_personalization": {"allowed": true, "by": ["tcf", "host"]},
            "tcf": {"cmp_id": 300, "created": 1_700_000_000, "last_updated": 1_700_086_400,
                    "policy_version": 4, "vendor_list_version": 180},
        })
    );
    assert_eq!(
        e.purposes,
        Purposes {
            personalization: true,
            ..NONE
        }
    );
    let tc = s.tcf().unwrap();
    assert_eq!((tc.cmp_id, tc.policy_version), (300, 4));
}

#[test]
fn at_ms_records_the_last_change_only() {
    let mut s = ConsentState::default();
    s.set_host(ALL, T0);
    s.set_host(ALL, T0 + 5.0);
    assert_eq!(s.at_ms(), Some(T0));
    let tc = Tc::all().build();
    s.set_tcf(&tc, T0 + 6.0).unwrap();
    s.set_tcf(&tc, T0 + 7.0).unwrap();
    assert_eq!(s.at_ms(), Some(T0 + 6.0));
    s.clear_consent_mode(T0 + 8.0); // nothing to clear
    assert_eq!(s.at_ms(), Some(T0 + 6.0));
    s.clear_host(T0 + 9.0);
    assert_eq!(s.at_ms(), Some(T0 + 9.0));
    assert_eq!(
        s.effective(&ConsentConfig::default()).receipt.at_ms,
        Some(T0 + 9.0)
    );
}

#[test]
fn withdrawal_removes_what_a_source_granted() {
    let c = vendor_cfg();
    let mut s = ConsentState::default();
    s.set_tcf(&Tc::all().build(), T0).unwrap();
    let before = s.effective(&c).purposes;
    assert_eq!(before, ALL);

    // The CMP re-surfaces, the visitor withdraws consent to purpose 1 only.
    let mut tc = Tc::all();
    tc.consents.retain(|&p| p != 1);
    s.set_tcf(&tc.build(), T0 + 1.0).unwrap();
    let after = s.effective(&c).purposes;
    assert_eq!(
        consent::removed(&before, &after),
        ["storage", "profile_sync"]
    );
    assert!(consent::wipe_required(&before, &after));

    // Clearing the TCF source: nothing speaks, the default (nothing) applies.
    s.clear_tcf(T0 + 2.0);
    let cleared = s.effective(&c);
    assert_eq!(cleared.purposes, NONE);
    assert!(!cleared.session_personalization);
    assert_eq!(
        consent::removed(&after, &cleared.purposes),
        ["personalization", "measurement"]
    );
    assert!(!consent::wipe_required(&after, &cleared.purposes));

    // Host withdrawal.
    let mut s = ConsentState::default();
    s.set_host(ALL, T0);
    s.clear_host(T0 + 1.0);
    assert_eq!(s.effective(&c).purposes, NONE);
    assert_eq!(s.host(), None);

    // Consent Mode withdrawal.
    let mut s = ConsentState::default();
    s.set_consent_mode(
        &signals(r#"{"analytics_storage": "granted", "ad_personalization": "granted", "ad_user_data": "granted"}"#),
        T0,
    );
    assert_eq!(s.effective(&c).purposes, ALL);
    s.clear_consent_mode(T0 + 1.0);
    assert_eq!(s.effective(&c).purposes, NONE);

    // GPC turned off again: profile_sync returns if the others grant it.
    let mut s = ConsentState::default();
    s.set_host(ALL, T0);
    s.set_gpc(true, T0);
    assert!(!s.effective(&c).purposes.profile_sync);
    s.set_gpc(false, T0 + 1.0);
    assert!(s.effective(&c).purposes.profile_sync);

    // A rejected string after a valid one withdraws what the valid one granted.
    let mut s = ConsentState::default();
    s.set_tcf(&Tc::all().build(), T0).unwrap();
    let before = s.effective(&c).purposes;
    assert!(s.set_tcf("", T0 + 1.0).is_err());
    let after = s.effective(&c).purposes;
    assert_eq!(consent::removed(&before, &after).len(), 4);
}

// ---------------------------------------------------------------------------------------------
// Real strings: the decoder's fixtures against an independent reading of the rules

fn ids(v: &Value, key: &str) -> Vec<u64> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

/// The documented default map, read off the fixture's expected fields.
fn model(x: &Value, vendor: Option<u64>) -> [bool; 5] {
    let (pc, pli) = (
        ids(x, "purposeConsents"),
        ids(x, "purposeLegitimateInterests"),
    );
    let (vc, vli) = (
        ids(x, "vendorConsents"),
        ids(x, "vendorLegitimateInterests"),
    );
    let (pubc, publi) = (
        ids(x, "publisherConsents"),
        ids(x, "publisherLegitimateInterests"),
    );
    let restricted = |p: u64, kinds: &[u64]| {
        let Some(v) = vendor else { return false };
        x["publisherRestrictions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| {
                r["purposeId"].as_u64() == Some(p)
                    && kinds.contains(&r["restrictionType"].as_u64().unwrap())
                    && ids(r, "vendors").contains(&v)
            })
    };
    let consent = |p: u64, strict: bool| {
        !restricted(p, &[0, 2])
            && (pubc.contains(&p)
                || match vendor {
                    None => !strict && pc.contains(&p),
                    Some(v) => pc.contains(&p) && vc.contains(&v),
                })
    };
    let li = |p: u64| {
        consent(p, false)
            || (!restricted(p, &[0, 1])
                && (publi.contains(&p)
                    || match vendor {
                        None => pli.contains(&p),
                        Some(v) => pli.contains(&p) && vli.contains(&v),
                    }))
    };
    let personalization = consent(5, false) && consent(6, false);
    [
        consent(1, false),
        personalization,
        li(8),
        consent(1, true) && consent(5, true),
        personalization || li(11),
    ]
}

#[test]
fn fixture_strings_follow_the_default_tables() {
    let cases = fixture("valid.json");
    let mut vendor_grants = 0;
    let mut restricted = 0;
    for case in &cases {
        let s = case["string"].as_str().unwrap();
        let x = &case["expected"];
        // First party, and as a vendor the string consents to (if any) and one it does not.
        let mut vendors = vec![None, Some(u64::from(u16::MAX))];
        if let Some(&v) = ids(x, "vendorConsents").first() {
            vendors.push(Some(v));
        }
        for r in x["publisherRestrictions"].as_array().unwrap() {
            if let Some(&v) = ids(r, "vendors").first() {
                vendors.push(Some(v));
                restricted += 1;
            }
        }
        for vendor in vendors {
            let c = ConsentConfig {
                vendor_id: vendor.map(|v| v as u16),
                ..ConsentConfig::default()
            };
            let mut state = ConsentState::default();
            state.set_tcf(s, T0).unwrap();
            let e = state.effective(&c);
            assert_eq!(flags(&e), model(x, vendor), "{s} vendor {vendor:?}");
            if vendor.is_some() && e.purposes.storage {
                vendor_grants += 1;
            }
            let r = receipt(&e);
            assert_eq!(r["tcf"]["cmp_id"], x["cmpId"]);
            assert_eq!(r["tcf"]["last_updated"], x["lastUpdated"]);
        }
    }
    assert!(
        vendor_grants > 10 && restricted > 10,
        "{vendor_grants} {restricted}"
    );
}

/// The reference string produced by @iabtcf/core: consents 1, 2, 3, 4, 7, 9, 10; LI 2, 7-10.
#[test]
fn known_reference_string() {
    let s =
        "CP1R2oAP1VJkAEsAHCENC0EMAPLAAEPAAAYgAUKkICABBAryAHAAoAFACWQKKArwAIIACAALAAkADB0AGADwAQgA";
    let mut state = ConsentState::default();
    state.set_tcf(s, T0).unwrap();
    let e = state.effective(&ConsentConfig::default());
    // Storage (purpose 1), measurement on LI (purpose 8); no 5/6, no 11, no publisher segment.
    assert_eq!(flags(&e), [true, false, true, false, false]);
    // Vendor 3 has consent, vendor 2 does not; vendor 10 has LI but 8 needs vendor LI too.
    let as_vendor = |v: u16| {
        state.effective(&ConsentConfig {
            vendor_id: Some(v),
            ..ConsentConfig::default()
        })
    };
    assert_eq!(flags(&as_vendor(3)), [true, false, false, false, false]);
    assert_eq!(flags(&as_vendor(2)), [false; 5]);
    assert_eq!(flags(&as_vendor(10)), [false, false, true, false, false]);
}
