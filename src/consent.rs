//! Consent: which purposes the visitor allowed, from every signal the page gives us.
//!
//! The product promise (GDPR, ePrivacy, CCPA/CPRA): no profile leaves the device and nothing
//! persists beyond the session unless the visitor allowed it. This module turns the consent
//! signals of a page into [`Purposes`] the engine obeys, plus a [`Receipt`] saying why. It is
//! pure: no I/O, no clock (every setter takes the caller's `now_ms`).
//!
//! # Purposes
//!
//! | purpose | allows |
//! |---|---|
//! | `storage` | keeping state beyond the session on the device |
//! | `personalization` | using the profile to choose content |
//! | `measurement` | sending aggregated outcomes |
//! | `profile_sync` | sending the profile to the site's server |
//! | `session_personalization` (derived) | contextual choices from the current session only, nothing kept |
//!
//! # Sources and precedence
//!
//! [`ConsentState`] holds up to four sources; each present source says allow, deny or nothing
//! about each purpose. **The most restrictive wins**: a purpose is allowed only if every
//! present source that speaks to it allows it. A purpose no present source speaks to falls back
//! to [`ConsentConfig::default`] (default: all false).
//!
//! | source | setter / withdrawal | speaks to |
//! |---|---|---|
//! | `host` | [`ConsentState::set_host`] (the page's `setConsent({...})`; a later call replaces an earlier one) / [`ConsentState::clear_host`] | the four purposes, each allow or deny |
//! | `tcf` | [`ConsentState::set_tcf`] (an IAB TCF v2.2 TC string) / [`ConsentState::clear_tcf`] | every purpose its [`TcfMap`] rule covers |
//! | `gpc` | [`ConsentState::set_gpc`] (Global Privacy Control) | `true` denies `profile_sync`; nothing else |
//! | `consent_mode` | [`ConsentState::set_consent_mode`] (Google Consent Mode v2) / [`ConsentState::clear_consent_mode`] | every purpose its [`ConsentModeMap`] rule covers and whose signals are present |
//!
//! An invalid TC string is rejected (`Err`) **and** leaves the TCF source at "no consent": it
//! denies every purpose, `session_personalization` included, until a valid string is set or
//! [`ConsentState::clear_tcf`] withdraws it. A malformed string never grants anything. When the
//! CMP reports `gdprApplies: false` (empty `tcString`), call `clear_tcf` (TCF is silent) rather
//! than `set_tcf("")` (rejected, denies everything).
//!
//! # TCF v2.2 mapping
//!
//! Purpose ids are those of the TCF v2.2 policies, Appendix A (IAB Europe, "Transparency &
//! Consent Framework Policies", v2.2, 2023, <https://iabeurope.eu/iab-europe-transparency-consent-framework-policies/>):
//! 1 store and/or access information on a device; 2 use limited data to select advertising;
//! 3 create profiles for personalised advertising; 4 use profiles to select personalised
//! advertising; 5 create profiles to personalise content; 6 use profiles to select personalised
//! content; 7 measure advertising performance; 8 measure content performance; 9 understand
//! audiences through statistics or combinations of data from different sources; 10 develop and
//! improve services; 11 use limited data to select content.
//!
//! Default [`TcfMap`] (`"tcf"` in [`ConsentConfig`]):
//!
//! | our purpose | needs (default) | rule JSON |
//! |---|---|---|
//! | `storage` | consent for purpose 1 | `{"all": [1]}` |
//! | `personalization` | consent for purposes 5 and 6 | `{"all": [5, 6]}` |
//! | `measurement` | consent or legitimate interest for purpose 8 | `{"any_li": [8]}` |
//! | `profile_sync` | consent for purposes 1 and 5, given to our vendor id or in the publisher TC segment | `{"all": [1, 5], "vendor_or_publisher": true}` |
//! | `session_personalization` | consent or legitimate interest for purpose 11 | `{"any_li": [11]}` |
//!
//! A rule ([`TcfRule`]) is satisfied when every id of `all` has consent, every id of `all_li`
//! has consent or legitimate interest (LI), and, if `any`/`any_li` list ids, at least one id of
//! `any` has consent or one of `any_li` has consent or LI. A rule set to `null` makes TCF silent
//! on that purpose; a rule that lists no id is a config error (and grants nothing if used).
//!
//! What "purpose `p` has consent" means:
//! - **First party** (no `vendor_id` in the config: the publisher runs edgewise itself): the
//!   core segment's purpose consent for `p`, or the publisher TC segment's
//!   `publisherConsents` for `p`. With `vendor_or_publisher` only the publisher TC segment counts.
//! - **Vendor** (`vendor_id` set): the core purpose consent for `p` **and** vendor consent for
//!   our id, or the publisher TC segment's `publisherConsents` for `p`. Publisher restrictions
//!   for our vendor id on `p` apply whichever way it is granted: type 0 (not allowed) removes
//!   `p`; type 1 (require consent) makes LI insufficient; type 2 (require LI) makes consent
//!   insufficient.
//! - LI is the same with `purposeLegitimateInterests`, `vendorLegitimateInterests` and
//!   `publisherLegitimateInterests`.
//! - **Legitimate interest never grants purposes 1, 3, 4, 5 or 6**, whatever the config says:
//!   TCF v2.2 allows only consent for them (purpose 1 always; 3 to 6 since v2.2). The code
//!   ignores LI for them and [`ConsentConfig::validate`] rejects a map that lists them in
//!   `all_li`/`any_li`.
//! - `purposeOneTreatment` is not consent: with it, `storage` needs another rule.
//!
//! # Global Privacy Control
//!
//! `Sec-GPC: 1` / `navigator.globalPrivacyControl === true` (GPC, <https://privacycg.github.io/gpc-spec/>)
//! is a request not to sell or share personal data. [`ConsentState::set_gpc`]`(true)` denies
//! `profile_sync` whatever the other sources say; it grants nothing and says nothing about the
//! other purposes. `false` (or never set) is no signal.
//!
//! # Google Consent Mode v2
//!
//! Signals `ad_storage`, `analytics_storage`, `ad_user_data`, `ad_personalization` and the
//! optional `functionality_storage`, `personalization_storage`, `security_storage`, each
//! `"granted"` or `"denied"` (Google, "Consent mode reference",
//! <https://support.google.com/tagmanager/answer/13802165>; "Set up consent mode on websites",
//! <https://developers.google.com/tag-platform/security/guides/consent>). [`ConsentModeSignals`]
//! accepts exactly these keys and values. [`ConsentState::set_consent_mode`] merges like
//! `gtag('consent', 'update', {...})`: the keys given replace their earlier value, the others
//! keep it. An absent signal speaks to nothing.
//!
//! Default [`ConsentModeMap`] (`"consent_mode"` in [`ConsentConfig`]):
//!
//! | our purpose | signal(s) (default) | rule JSON |
//! |---|---|---|
//! | `storage` | `personalization_storage` if present, else `analytics_storage` | `{"first": ["personalization_storage", "analytics_storage"]}` |
//! | `personalization` | `personalization_storage` if present, else `ad_personalization` | `{"first": ["personalization_storage", "ad_personalization"]}` |
//! | `measurement` | `analytics_storage` | `{"all": ["analytics_storage"]}` |
//! | `profile_sync` | `ad_user_data` and `ad_personalization` | `{"all": ["ad_user_data", "ad_personalization"]}` |
//! | `session_personalization` | nothing | `null` |
//!
//! `first`: the first listed signal that is present decides. `all`: any listed signal denied
//! denies; all of them present and granted allows; otherwise (some absent, none denied) Consent
//! Mode is silent on that purpose.
//!
//! # Session-only personalization
//!
//! `session_personalization` (contextual choices from the current session, nothing kept) is
//! allowed when `personalization` is allowed, or when the sources that speak to it (TCF
//! purpose 11 by default; Consent Mode only if its map says so) all allow it. When none of them
//! speaks to it, it is allowed only if the site's config says so explicitly:
//! `session_personalization_without_consent: true` (default `false`); the receipt then names
//! `default` as its source. A rejected TC string denies it like everything else. The host's
//! `setConsent` does not speak to it (its `personalization: false` withdraws profile-based
//! personalization only).
//!
//! # Config
//!
//! ```
//! use edgewise::consent::{ConsentConfig, ConsentState};
//! let cfg = ConsentConfig::from_json(r#"{
//!   "default": {},
//!   "vendor_id": null,
//!   "tcf": {"measurement": {"all": [8]}, "profile_sync": null},
//!   "consent_mode": {"storage": {"all": ["analytics_storage"]}},
//!   "session_personalization_without_consent": false
//! }"#)?;
//! let mut state = ConsentState::default();
//! state.set_host(edgewise::Purposes { personalization: true, ..Default::default() }, 1_000.0);
//! state.set_gpc(true, 2_000.0);
//! let eff = state.effective(&cfg);
//! assert!(eff.purposes.personalization && eff.session_personalization);
//! assert!(!eff.purposes.profile_sync && !eff.purposes.storage);
//! assert_eq!(eff.receipt.at_ms, Some(2_000.0));
//! # Ok::<(), edgewise::consent::ConsentError>(())
//! ```
//!
//! Every key is optional; a `tcf`/`consent_mode` key that is absent keeps its default rule.

use crate::tcf::{self, TcString, TcfError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// Allowed purposes: the host's `setConsent({...})` JSON (missing keys are false), the
/// config's `default`, and [`Effective::purposes`]. Without `personalization` the engine shows
/// every slot's default (`source: "no_consent"`) and learns nothing from that visitor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Purposes {
    /// Keep state beyond the session on the device.
    pub storage: bool,
    /// Use the session and profile to choose content.
    pub personalization: bool,
    /// Send aggregated outcomes.
    pub measurement: bool,
    /// Send the profile to the site's server.
    pub profile_sync: bool,
}

impl Purposes {
    fn flags(&self) -> [(&'static str, bool); 4] {
        [
            ("storage", self.storage),
            ("personalization", self.personalization),
            ("measurement", self.measurement),
            ("profile_sync", self.profile_sync),
        ]
    }
}

/// The purposes allowed in `before` and not in `after` (withdrawn by a change), by name.
pub fn removed(before: &Purposes, after: &Purposes) -> Vec<&'static str> {
    before
        .flags()
        .iter()
        .zip(after.flags())
        .filter(|((_, b), (_, a))| *b && !*a)
        .map(|((name, _), _)| *name)
        .collect()
}

/// Whether a change from `before` to `after` withdraws `storage` or `profile_sync`: stored
/// state must then be wiped.
pub fn wipe_required(before: &Purposes, after: &Purposes) -> bool {
    (before.storage && !after.storage) || (before.profile_sync && !after.profile_sync)
}

/// TCF purposes legitimate interest can never grant (TCF v2.2 policies).
const CONSENT_ONLY: [u8; 5] = [1, 3, 4, 5, 6];
/// Purposes defined by TCF v2.2.
const MAX_TCF_PURPOSE: u8 = 11;

/// Every code [`ConsentError::code`] returns.
pub const ERROR_CODES: [&str; 3] = [
    "consent_invalid_tcf",
    "consent_invalid_signal",
    "consent_invalid_map",
];

/// Why a consent signal or config was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentError {
    /// The TC string did not decode; the TCF source now denies everything.
    Tcf(TcfError),
    /// A Consent Mode signal set: what is wrong.
    Signal(String),
    /// The consent config: what is wrong.
    Map(String),
}

impl ConsentError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ConsentError::Tcf(_) => "consent_invalid_tcf",
            ConsentError::Signal(_) => "consent_invalid_signal",
            ConsentError::Map(_) => "consent_invalid_map",
        }
    }
}

impl fmt::Display for ConsentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConsentError::Tcf(e) => write!(
                f,
                "TC string rejected ({}): {e}; TCF now denies every purpose until the CMP provides a valid TCF v2.2 string (or clear_tcf withdraws it)",
                e.code()
            ),
            ConsentError::Signal(m) => write!(f, "consent mode: {m}"),
            ConsentError::Map(m) => write!(f, "consent config: {m}"),
        }
    }
}

impl std::error::Error for ConsentError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConsentError::Tcf(e) => Some(e),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Config

/// Site config for consent. Every key is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsentConfig {
    /// Purposes allowed when no present source speaks to them. Default: none.
    pub default: Purposes,
    /// Our IAB Global Vendor List id. Set it when edgewise runs as a TCF vendor; leave it out
    /// when the publisher runs it first party.
    pub vendor_id: Option<u16>,
    /// TC string → purposes.
    pub tcf: TcfMap,
    /// Consent Mode signals → purposes.
    pub consent_mode: ConsentModeMap,
    /// Allow session-only personalization when no source speaks to it. Default false.
    pub session_personalization_without_consent: bool,
}

impl ConsentConfig {
    /// Parses and validates; every error is `consent_invalid_map`.
    pub fn from_json(text: &str) -> Result<ConsentConfig, ConsentError> {
        let cfg: ConsentConfig = serde_json::from_str(text).map_err(|e| {
            ConsentError::Map(format!(
                "{} (keys: default, vendor_id, tcf, consent_mode, session_personalization_without_consent)",
                crate::error::json_error(&e)
            ))
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks the maps: purpose ids 1..=11, no LI for purposes 1 and 3-6, no empty rule,
    /// vendor id at least 1.
    pub fn validate(&self) -> Result<(), ConsentError> {
        if self.vendor_id == Some(0) {
            return Err(ConsentError::Map(
                "vendor_id 0 is invalid: Global Vendor List ids start at 1 (leave vendor_id out when the publisher runs edgewise first party)".into(),
            ));
        }
        for (name, rule) in self.tcf.rules() {
            if let Some(rule) = rule {
                rule.validate(name)?;
            }
        }
        for (name, rule) in self.consent_mode.rules() {
            if let Some(ConsentModeRule::All(s) | ConsentModeRule::First(s)) = rule {
                if s.is_empty() {
                    return Err(ConsentError::Map(format!(
                        "consent_mode.{name} lists no signal; list at least one or set it to null (Consent Mode silent)"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// What a TC string must grant for each of our purposes; `null` = TCF silent on it.
/// Absent keys keep their default (module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TcfMap {
    pub storage: Option<TcfRule>,
    pub personalization: Option<TcfRule>,
    pub measurement: Option<TcfRule>,
    pub profile_sync: Option<TcfRule>,
    pub session_personalization: Option<TcfRule>,
}

impl Default for TcfMap {
    fn default() -> Self {
        let rule = |all: &[u8], any_li: &[u8], vendor_or_publisher| {
            Some(TcfRule {
                all: all.to_vec(),
                any_li: any_li.to_vec(),
                vendor_or_publisher,
                ..TcfRule::default()
            })
        };
        TcfMap {
            storage: rule(&[1], &[], false),
            personalization: rule(&[5, 6], &[], false),
            measurement: rule(&[], &[8], false),
            profile_sync: rule(&[1, 5], &[], true),
            session_personalization: rule(&[], &[11], false),
        }
    }
}

impl TcfMap {
    /// In capability order (storage, personalization, measurement, profile_sync, session).
    fn rules(&self) -> [(&'static str, &Option<TcfRule>); 5] {
        [
            ("storage", &self.storage),
            ("personalization", &self.personalization),
            ("measurement", &self.measurement),
            ("profile_sync", &self.profile_sync),
            ("session_personalization", &self.session_personalization),
        ]
    }
}

/// TCF purpose ids one of our purposes needs (module docs). Example:
/// `{"all": [1, 5], "vendor_or_publisher": true}`, `{"any_li": [8]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TcfRule {
    /// Each needs consent.
    pub all: Vec<u8>,
    /// Each needs consent or legitimate interest.
    pub all_li: Vec<u8>,
    /// At least one of these with consent, or one of `any_li` with consent or LI.
    pub any: Vec<u8>,
    /// See `any`.
    pub any_li: Vec<u8>,
    /// Core-segment purpose consent alone is not enough: the consent must be given to our
    /// vendor id or in the publisher TC segment.
    pub vendor_or_publisher: bool,
}

impl TcfRule {
    fn validate(&self, name: &str) -> Result<(), ConsentError> {
        let lists = [
            ("all", &self.all),
            ("all_li", &self.all_li),
            ("any", &self.any),
            ("any_li", &self.any_li),
        ];
        if lists.iter().all(|(_, l)| l.is_empty()) {
            return Err(ConsentError::Map(format!(
                "tcf.{name} lists no TCF purpose; list at least one in all/all_li/any/any_li or set it to null (TCF silent)"
            )));
        }
        for (key, list) in lists {
            for &p in list {
                if p == 0 || p > MAX_TCF_PURPOSE {
                    return Err(ConsentError::Map(format!(
                        "tcf.{name}.{key} lists purpose {p}; TCF v2.2 purposes are 1 to {MAX_TCF_PURPOSE}"
                    )));
                }
                if key.ends_with("_li") && CONSENT_ONLY.contains(&p) {
                    return Err(ConsentError::Map(format!(
                        "tcf.{name}.{key} lists purpose {p}, but TCF v2.2 allows only consent for purposes 1, 3, 4, 5 and 6; move it to \"{}\"",
                        key.trim_end_matches("_li")
                    )));
                }
            }
        }
        Ok(())
    }

    /// Whether `tc` satisfies the rule. A rule that lists nothing is never satisfied.
    fn satisfied(&self, tc: &TcString, vendor: Option<u16>) -> bool {
        let strict = self.vendor_or_publisher;
        let consent = |p: &u8| tcf_ok(tc, vendor, *p, strict, false);
        let li = |p: &u8| consent(p) || tcf_ok(tc, vendor, *p, strict, true);
        let has_any = !(self.any.is_empty() && self.any_li.is_empty());
        (has_any || !(self.all.is_empty() && self.all_li.is_empty()))
            && self.all.iter().all(consent)
            && self.all_li.iter().all(li)
            && (!has_any || self.any.iter().any(consent) || self.any_li.iter().any(li))
    }
}

/// Whether TCF purpose `p` is granted by consent (`by_li` false) or by LI (`by_li` true).
fn tcf_ok(tc: &TcString, vendor: Option<u16>, p: u8, strict: bool, by_li: bool) -> bool {
    if by_li && CONSENT_ONLY.contains(&p) {
        return false;
    }
    let has = |ids: &[u8]| ids.binary_search(&p).is_ok();
    let (core, publisher) = if by_li {
        (
            has(&tc.purpose_legitimate_interests),
            tc.publisher_legitimate_interests
                .as_deref()
                .is_some_and(has),
        )
    } else {
        (
            has(&tc.purpose_consents),
            tc.publisher_consents.as_deref().is_some_and(has),
        )
    };
    match vendor {
        None => publisher || (core && !strict),
        Some(v) => {
            // Type 0 not allowed; type 1 require consent (no LI); type 2 require LI (no consent).
            let blocking = if by_li { 1 } else { 2 };
            let restricted = tc.publisher_restrictions.iter().any(|r| {
                r.purpose_id == p
                    && (r.restriction_type == 0 || r.restriction_type == blocking)
                    && r.vendors.binary_search(&v).is_ok()
            });
            let vendor_ids = if by_li {
                &tc.vendor_legitimate_interests
            } else {
                &tc.vendor_consents
            };
            !restricted && (publisher || (core && vendor_ids.binary_search(&v).is_ok()))
        }
    }
}

/// Which Consent Mode signals decide each of our purposes; `null` = Consent Mode silent on it.
/// Absent keys keep their default (module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsentModeMap {
    pub storage: Option<ConsentModeRule>,
    pub personalization: Option<ConsentModeRule>,
    pub measurement: Option<ConsentModeRule>,
    pub profile_sync: Option<ConsentModeRule>,
    pub session_personalization: Option<ConsentModeRule>,
}

impl Default for ConsentModeMap {
    fn default() -> Self {
        use ConsentModeSignal::*;
        ConsentModeMap {
            storage: Some(ConsentModeRule::First(vec![
                PersonalizationStorage,
                AnalyticsStorage,
            ])),
            personalization: Some(ConsentModeRule::First(vec![
                PersonalizationStorage,
                AdPersonalization,
            ])),
            measurement: Some(ConsentModeRule::All(vec![AnalyticsStorage])),
            profile_sync: Some(ConsentModeRule::All(vec![AdUserData, AdPersonalization])),
            session_personalization: None,
        }
    }
}

impl ConsentModeMap {
    fn rules(&self) -> [(&'static str, &Option<ConsentModeRule>); 5] {
        [
            ("storage", &self.storage),
            ("personalization", &self.personalization),
            ("measurement", &self.measurement),
            ("profile_sync", &self.profile_sync),
            ("session_personalization", &self.session_personalization),
        ]
    }
}

/// `{"all": [...]}`: any denied denies, all present and granted allows, else silent.
/// `{"first": [...]}`: the first present signal decides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ConsentModeRule {
    All(Vec<ConsentModeSignal>),
    First(Vec<ConsentModeSignal>),
}

impl ConsentModeRule {
    fn vote(&self, s: &ConsentModeSignals) -> Option<bool> {
        let granted = |v: ConsentModeValue| v == ConsentModeValue::Granted;
        match self {
            ConsentModeRule::First(list) => list.iter().find_map(|&k| s.get(k)).map(granted),
            ConsentModeRule::All(list) => {
                let values: Vec<_> = list.iter().map(|&k| s.get(k)).collect();
                if values.contains(&Some(ConsentModeValue::Denied)) {
                    Some(false)
                } else if !values.is_empty() && values.iter().all(|v| v.is_some()) {
                    Some(true)
                } else {
                    None
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Consent Mode signals

/// A Consent Mode v2 consent type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentModeSignal {
    AdStorage,
    AnalyticsStorage,
    AdUserData,
    AdPersonalization,
    FunctionalityStorage,
    PersonalizationStorage,
    SecurityStorage,
}

impl ConsentModeSignal {
    pub const ALL: [ConsentModeSignal; 7] = [
        ConsentModeSignal::AdStorage,
        ConsentModeSignal::AnalyticsStorage,
        ConsentModeSignal::AdUserData,
        ConsentModeSignal::AdPersonalization,
        ConsentModeSignal::FunctionalityStorage,
        ConsentModeSignal::PersonalizationStorage,
        ConsentModeSignal::SecurityStorage,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ConsentModeSignal::AdStorage => "ad_storage",
            ConsentModeSignal::AnalyticsStorage => "analytics_storage",
            ConsentModeSignal::AdUserData => "ad_user_data",
            ConsentModeSignal::AdPersonalization => "ad_personalization",
            ConsentModeSignal::FunctionalityStorage => "functionality_storage",
            ConsentModeSignal::PersonalizationStorage => "personalization_storage",
            ConsentModeSignal::SecurityStorage => "security_storage",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentModeValue {
    Granted,
    Denied,
}

/// A Consent Mode state or update, e.g. `{"ad_storage": "granted", "ad_user_data": "denied"}`.
/// Deserializing accepts only the seven consent types and the values `"granted"`/`"denied"`;
/// anything else is a `consent_invalid_signal` error naming the key and value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct ConsentModeSignals {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ad_storage: Option<ConsentModeValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analytics_storage: Option<ConsentModeValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ad_user_data: Option<ConsentModeValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ad_personalization: Option<ConsentModeValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub functionality_storage: Option<ConsentModeValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub personalization_storage: Option<ConsentModeValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_storage: Option<ConsentModeValue>,
}

impl ConsentModeSignals {
    /// Parses `{"ad_storage": "granted", ...}`.
    pub fn from_json(text: &str) -> Result<ConsentModeSignals, ConsentError> {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => ConsentModeSignals::try_from(map),
            Ok(_) => Err(ConsentError::Signal(
                "signals must be a JSON object such as {\"ad_storage\": \"granted\"}".into(),
            )),
            Err(e) => Err(ConsentError::Signal(format!("invalid JSON: {e}"))),
        }
    }

    pub fn get(&self, signal: ConsentModeSignal) -> Option<ConsentModeValue> {
        *self.slot(signal)
    }

    fn slot(&self, signal: ConsentModeSignal) -> &Option<ConsentModeValue> {
        match signal {
            ConsentModeSignal::AdStorage => &self.ad_storage,
            ConsentModeSignal::AnalyticsStorage => &self.analytics_storage,
            ConsentModeSignal::AdUserData => &self.ad_user_data,
            ConsentModeSignal::AdPersonalization => &self.ad_personalization,
            ConsentModeSignal::FunctionalityStorage => &self.functionality_storage,
            ConsentModeSignal::PersonalizationStorage => &self.personalization_storage,
            ConsentModeSignal::SecurityStorage => &self.security_storage,
        }
    }

    fn slot_mut(&mut self, signal: ConsentModeSignal) -> &mut Option<ConsentModeValue> {
        match signal {
            ConsentModeSignal::AdStorage => &mut self.ad_storage,
            ConsentModeSignal::AnalyticsStorage => &mut self.analytics_storage,
            ConsentModeSignal::AdUserData => &mut self.ad_user_data,
            ConsentModeSignal::AdPersonalization => &mut self.ad_personalization,
            ConsentModeSignal::FunctionalityStorage => &mut self.functionality_storage,
            ConsentModeSignal::PersonalizationStorage => &mut self.personalization_storage,
            ConsentModeSignal::SecurityStorage => &mut self.security_storage,
        }
    }
}

impl TryFrom<Map<String, Value>> for ConsentModeSignals {
    type Error = ConsentError;

    fn try_from(map: Map<String, Value>) -> Result<Self, ConsentError> {
        let mut out = ConsentModeSignals::default();
        for (key, value) in &map {
            let Some(signal) = ConsentModeSignal::ALL.iter().find(|s| s.name() == key) else {
                let known: Vec<_> = ConsentModeSignal::ALL.iter().map(|s| s.name()).collect();
                return Err(ConsentError::Signal(format!(
                    "unknown consent type {key:?}; known: {}",
                    known.join(", ")
                )));
            };
            *out.slot_mut(*signal) = Some(match value.as_str() {
                Some("granted") => ConsentModeValue::Granted,
                Some("denied") => ConsentModeValue::Denied,
                _ => {
                    return Err(ConsentError::Signal(format!(
                        "{key} is {value}; use \"granted\" or \"denied\" (or leave the key out)"
                    )))
                }
            });
        }
        Ok(out)
    }
}

impl fmt::Display for ConsentModeSignals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&serde_json::to_string(self).map_err(|_| fmt::Error)?)
    }
}

// ---------------------------------------------------------------------------------------------
// State and result

/// A consent source, as named in the [`Receipt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Host,
    Tcf,
    Gpc,
    ConsentMode,
    /// The site config's fallback: [`ConsentConfig::default`] (no present source spoke) or
    /// `session_personalization_without_consent`.
    Default,
}

impl Source {
    /// The name used in receipts and messages.
    pub fn name(self) -> &'static str {
        match self {
            Source::Host => "host",
            Source::Tcf => "tcf",
            Source::Gpc => "gpc",
            Source::ConsentMode => "consent_mode",
            Source::Default => "default",
        }
    }
}

/// Allow (`Some(true)`), deny, or nothing, per capability: storage, personalization,
/// measurement, profile_sync, session_personalization.
type Votes = [Option<bool>; 5];

/// The consent signals received so far. Compute what they allow with [`ConsentState::effective`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConsentState {
    host: Option<Purposes>,
    /// `Err`: the last string was rejected; TCF denies everything.
    tcf: Option<Result<Box<TcString>, TcfError>>,
    gpc: bool,
    consent_mode: Option<ConsentModeSignals>,
    at_ms: Option<f64>,
}

impl ConsentState {
    /// The host's explicit choice; replaces an earlier one.
    pub fn set_host(&mut self, purposes: Purposes, now_ms: f64) {
        self.change(now_ms, |s| s.host = Some(purposes));
    }

    pub fn clear_host(&mut self, now_ms: f64) {
        self.change(now_ms, |s| s.host = None);
    }

    /// Decodes a TC string. On error the TCF source becomes "no consent" (denies every
    /// purpose) and the error is returned.
    pub fn set_tcf(&mut self, tc_string: &str, now_ms: f64) -> Result<(), ConsentError> {
        let decoded = tcf::decode(tc_string).map(Box::new);
        let result = decoded
            .as_ref()
            .map(|_| ())
            .map_err(|e| ConsentError::Tcf(e.clone()));
        self.change(now_ms, |s| s.tcf = Some(decoded));
        result
    }

    /// Withdraws the TCF source (also the way to say "GDPR does not apply").
    pub fn clear_tcf(&mut self, now_ms: f64) {
        self.change(now_ms, |s| s.tcf = None);
    }

    /// Global Privacy Control: `true` denies `profile_sync`; `false` is no signal.
    pub fn set_gpc(&mut self, gpc: bool, now_ms: f64) {
        self.change(now_ms, |s| s.gpc = gpc);
    }

    /// Merges a Consent Mode update: the signals present replace earlier values, the others
    /// keep theirs (like `gtag('consent', 'update', ...)`).
    pub fn set_consent_mode(&mut self, signals: &ConsentModeSignals, now_ms: f64) {
        self.change(now_ms, |s| {
            let cm = s.consent_mode.get_or_insert_with(Default::default);
            for k in ConsentModeSignal::ALL {
                if let Some(v) = signals.get(k) {
                    *cm.slot_mut(k) = Some(v);
                }
            }
        });
    }

    /// Withdraws every Consent Mode signal.
    pub fn clear_consent_mode(&mut self, now_ms: f64) {
        self.change(now_ms, |s| s.consent_mode = None);
    }

    /// Applies `f`; records `now_ms` if that changed anything.
    fn change(&mut self, now_ms: f64, f: impl FnOnce(&mut ConsentState)) {
        let before = self.clone();
        f(self);
        if *self != before {
            self.at_ms = Some(now_ms);
        }
    }

    pub fn host(&self) -> Option<&Purposes> {
        self.host.as_ref()
    }

    /// The TC string in force, if a valid one was set.
    pub fn tcf(&self) -> Option<&TcString> {
        match &self.tcf {
            Some(Ok(tc)) => Some(tc),
            _ => None,
        }
    }

    pub fn gpc(&self) -> bool {
        self.gpc
    }

    pub fn consent_mode(&self) -> Option<&ConsentModeSignals> {
        self.consent_mode.as_ref()
    }

    /// When a setter last changed the state (`None`: never).
    pub fn at_ms(&self) -> Option<f64> {
        self.at_ms
    }

    /// What the signals allow under `cfg` (most restrictive wins), with the receipt.
    pub fn effective(&self, cfg: &ConsentConfig) -> Effective {
        let mut votes: Vec<(Source, Votes)> = Vec::with_capacity(4);
        if let Some(p) = &self.host {
            let v = [
                Some(p.storage),
                Some(p.personalization),
                Some(p.measurement),
                Some(p.profile_sync),
                None,
            ];
            votes.push((Source::Host, v));
        }
        let mut tcf_receipt = None;
        match &self.tcf {
            Some(Ok(tc)) => {
                let mut v: Votes = [None; 5];
                for (slot, (_, rule)) in v.iter_mut().zip(cfg.tcf.rules()) {
                    *slot = rule.as_ref().map(|r| r.satisfied(tc, cfg.vendor_id));
                }
                votes.push((Source::Tcf, v));
                tcf_receipt = Some(TcfReceipt::Used {
                    cmp_id: tc.cmp_id,
                    created: tc.created,
                    last_updated: tc.last_updated,
                    policy_version: tc.policy_version,
                    vendor_list_version: tc.vendor_list_version,
                });
            }
            Some(Err(e)) => {
                votes.push((Source::Tcf, [Some(false); 5]));
                tcf_receipt = Some(TcfReceipt::Rejected { error: e.code() });
            }
            None => {}
        }
        if self.gpc {
            votes.push((Source::Gpc, [None, None, None, Some(false), None]));
        }
        if let Some(signals) = &self.consent_mode {
            let mut v: Votes = [None; 5];
            for (slot, (_, rule)) in v.iter_mut().zip(cfg.consent_mode.rules()) {
                *slot = rule.as_ref().and_then(|r| r.vote(signals));
            }
            votes.push((Source::ConsentMode, v));
        }

        let d = &cfg.default;
        let fallback = [
            d.storage,
            d.personalization,
            d.measurement,
            d.profile_sync,
            cfg.session_personalization_without_consent,
        ];
        let mut out: [PurposeReceipt; 5] = Default::default();
        for (i, (r, fallback)) in out.iter_mut().zip(fallback).enumerate() {
            for (source, v) in &votes {
                match v.get(i).copied().flatten() {
                    Some(true) => r.by.push(*source),
                    Some(false) => r.denied_by.push(*source),
                    None => {}
                }
            }
            if r.by.is_empty() && r.denied_by.is_empty() {
                let list = if fallback {
                    &mut r.by
                } else {
                    &mut r.denied_by
                };
                list.push(Source::Default);
            }
            r.allowed = r.denied_by.is_empty();
        }
        let [storage, personalization, measurement, profile_sync, mut session] = out;
        // Profile-based personalization covers session-only personalization.
        if personalization.allowed {
            if !session.allowed {
                session = PurposeReceipt::default();
            }
            session.allowed = true;
            union(&mut session.by, &personalization.by);
        } else if !session.allowed {
            union(&mut session.denied_by, &personalization.denied_by);
        }

        let purposes = Purposes {
            storage: storage.allowed,
            personalization: personalization.allowed,
            measurement: measurement.allowed,
            profile_sync: profile_sync.allowed,
        };
        Effective {
            purposes,
            session_personalization: session.allowed,
            receipt: Receipt {
                at_ms: self.at_ms,
                sources: votes.iter().map(|(s, _)| *s).collect(),
                storage,
                personalization,
                measurement,
                profile_sync,
                session_personalization: session,
                tcf: tcf_receipt,
            },
        }
    }
}

fn union(into: &mut Vec<Source>, from: &[Source]) {
    for s in from {
        if !into.contains(s) {
            into.push(*s);
        }
    }
}

/// What the engine may do, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Effective {
    pub purposes: Purposes,
    /// Contextual choices from the current session only (nothing kept).
    pub session_personalization: bool,
    pub receipt: Receipt,
}

/// Why each purpose is allowed or denied. JSON (snake_case), e.g.
/// `{"at_ms": 1700000000000.0, "sources": ["host", "tcf", "gpc"],
///   "storage": {"allowed": true, "by": ["host", "tcf"]},
///   "profile_sync": {"allowed": false, "by": ["host"], "denied_by": ["tcf", "gpc"]}, ...,
///   "tcf": {"cmp_id": 300, "created": 1700000000, "last_updated": 1700086400,
///           "policy_version": 4, "vendor_list_version": 180}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Receipt {
    /// When the state last changed (the `now_ms` of that setter); `null` if never.
    pub at_ms: Option<f64>,
    /// The sources present, in precedence-table order.
    pub sources: Vec<Source>,
    pub storage: PurposeReceipt,
    pub personalization: PurposeReceipt,
    pub measurement: PurposeReceipt,
    pub profile_sync: PurposeReceipt,
    pub session_personalization: PurposeReceipt,
    /// The TC string in force, or the code it was rejected with; absent without TCF.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcf: Option<TcfReceipt>,
}

/// One purpose in the [`Receipt`]: `by` lists the sources that allowed it, `denied_by` those
/// that denied it (it is allowed iff `denied_by` is empty). Empty lists are left out of the JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PurposeReceipt {
    pub allowed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub by: Vec<Source>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub denied_by: Vec<Source>,
}

/// `{"cmp_id", "created", "last_updated", "policy_version", "vendor_list_version"}` of the TC
/// string used (unix seconds), or `{"error": "tcf_..."}` when it was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum TcfReceipt {
    Used {
        cmp_id: u16,
        created: u64,
        last_updated: u64,
        policy_version: u8,
        vendor_list_version: u16,
    },
    Rejected {
        error: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_maps_validate() {
        assert_eq!(ConsentConfig::default().validate(), Ok(()));
        let cfg = ConsentConfig::from_json("{}").unwrap();
        assert_eq!(cfg, ConsentConfig::default());
    }

    #[test]
    fn li_for_consent_only_purposes_is_rejected() {
        for p in CONSENT_ONLY {
            let json = format!(r#"{{"tcf": {{"personalization": {{"any_li": [{p}]}}}}}}"#);
            let e = ConsentConfig::from_json(&json).unwrap_err();
            assert_eq!(e.code(), "consent_invalid_map", "{e}");
        }
    }

    #[test]
    fn empty_rule_grants_nothing() {
        let tc = tcf::decode(
            "CP1R2oAP1VJkAEsAHCENC0EMAPLAAEPAAAYgAUKkICABBAryAHAAoAFACWQKKArwAIIACAALAAkADB0AGADwAQgA",
        )
        .unwrap();
        assert!(!TcfRule::default().satisfied(&tc, None));
        assert!(TcfRule {
            all: vec![1],
            ..Default::default()
        }
        .satisfied(&tc, None));
    }

    #[test]
    fn removed_lists_withdrawn_purposes() {
        let all = Purposes {
            storage: true,
            personalization: true,
            measurement: true,
            profile_sync: true,
        };
        let some = Purposes {
            personalization: true,
            ..Default::default()
        };
        assert_eq!(
            removed(&all, &some),
            ["storage", "measurement", "profile_sync"]
        );
        assert!(removed(&some, &all).is_empty());
        assert!(wipe_required(&all, &some) && !wipe_required(&some, &all));
    }
}
