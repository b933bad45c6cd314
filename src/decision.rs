//! The decision [`Engine`]: slots and their variants, eligibility rules, frequency caps, the
//! holdout group, `decide`, `reward`, explanations — and the glue between session, features,
//! propensity models and policy.
//!
//! Every result says where it came from ([`Source`]) and why (`reasons`). A failure inside a
//! decision (a model that cannot score) never breaks the page: the slot gets its default
//! content with `source: "error"` and the error in `reasons`. Only calls that are wrong in
//! themselves (an unknown slot, an unknown decision id) return an `Err`.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::bandit::{self, floor, Distribution, Policy, PolicyConfig, PolicyContext, SlotPolicy};
use crate::consent::{
    ConsentConfig, ConsentModeSignals, ConsentState, Effective, Purposes, Receipt,
};
use crate::error::{ConfigError, DecisionError, Error, EventError, ModelError};
use crate::event::{fnv1a64, EventInput, EventKind, Session, SessionLimits, KIND_COUNT};
use crate::features::{validate_context, Context};
use crate::model::{valid_ident, PropensityModel};
use crate::profile::{
    self, Outbound, Profile, Refusal, Released, Scope, SlotOutcome, VariantOutcome,
};
use crate::rng::Rng;
use crate::rules::{Env, Expr};
use crate::snapshot::{self, EngineState, PendingState, SlotState};
use crate::text::Fixed;

/// Current engine config format.
pub const CONFIG_VERSION: u32 = 1;

/// The engine configuration (JSON). Defaults are those shown on each field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineConfig {
    /// Must be 1.
    pub version: u32,
    #[serde(default)]
    pub session: SessionLimits,
    /// Default: `{"kind": "squarecb", "gamma_scale": 10, "gamma_exponent": 0.5, "lambda": 1}`
    /// (`best` on the command line; see the README's "Policies").
    #[serde(default)]
    pub policy: PolicyConfig,
    /// Minimum probability of every eligible variant (exploration floor). Default 0.01.
    #[serde(default = "default_min_probability")]
    pub min_probability: f64,
    /// Fraction of visitors, in [0, 0.5], who always get the defaults. Default 0.
    #[serde(default)]
    pub holdout: f64,
    /// Seconds a decision waits for its reward before it counts as 0. Default 1800.
    #[serde(default = "default_reward_window")]
    pub reward_window_s: f64,
    /// Decisions awaiting a reward, at most; the oldest is closed (reward 0) beyond. Default 256.
    #[serde(default = "default_max_pending")]
    pub max_pending: usize,
    /// Purposes assumed while no consent source speaks to them. Default: none. (The same as
    /// `consent.default`; set one of the two.)
    #[serde(default)]
    pub consent_default: Purposes,
    /// Consent sources and how they map to purposes (`src/consent.rs`): `vendor_id`, the TCF
    /// and Consent Mode maps, `session_personalization_without_consent`.
    #[serde(default)]
    pub consent: ConsentConfig,
    /// Prefix of the storage key the host keeps snapshots under (`<prefix>:state`), returned
    /// in `delete_keys` when consent is withdrawn. Default `"edgewise"`.
    #[serde(default = "default_storage_prefix")]
    pub storage_prefix: String,
    /// How long a session-scoped snapshot (no `storage` consent) stays valid after the last
    /// activity, in seconds. Default 1800.
    #[serde(default = "default_session_ttl")]
    pub session_ttl_s: f64,
    /// When a decision counts as shown: `"on_decide"` (default) or `"explicit"` (the host calls
    /// `expose` when the visitor can see it; decisions never exposed are dropped without
    /// learning, so a variant rendered below the fold is not taught that it failed).
    #[serde(default)]
    pub exposure: Exposure,
    pub slots: Vec<SlotConfig>,
}

/// See [`EngineConfig::exposure`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exposure {
    #[default]
    OnDecide,
    Explicit,
}

/// One eligible variant as the policy saw it when choosing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmView {
    pub variant_id: String,
    /// Probability of choosing it (after the exploration floor).
    pub probability: f64,
    /// The policy's estimate of its reward here (posterior mean or predicted reward).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub estimate: Option<f64>,
}

fn default_storage_prefix() -> String {
    "edgewise".into()
}
fn default_session_ttl() -> f64 {
    1800.0
}

fn default_min_probability() -> f64 {
    0.01
}
fn default_reward_window() -> f64 {
    1800.0
}
fn default_max_pending() -> usize {
    256
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotConfig {
    /// e.g. `hero-headline`.
    pub id: String,
    /// Id of the variant shown when nothing else applies (no consent, holdout, errors).
    pub default: String,
    pub variants: Vec<VariantConfig>,
    /// What is already known about the variants, e.g. aggregated at the edge from many
    /// visitors: `{"variant-id": {"trials": 1200, "reward": 96}}`. The slot's policy starts
    /// from it and adapts locally.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prior: BTreeMap<String, PriorStat>,
}

/// Prior knowledge of one variant: `trials` observations with total reward `reward`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorStat {
    pub trials: f64,
    pub reward: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VariantKind {
    /// `content` is text, applied with `textContent`.
    Copy,
    /// `content` is one CSS class name (`[A-Za-z0-9_-]{1,64}`).
    Layout,
    /// `content` is an object of text slots (`{"title": "...", "cta": "..."}`).
    Offer,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantConfig {
    pub id: String,
    pub kind: VariantKind,
    pub content: serde_json::Value,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Rule (see [`crate::rules`]); absent = always eligible.
    #[serde(default)]
    pub eligibility: Option<String>,
    #[serde(default)]
    pub cap: Option<CapConfig>,
}

/// Frequency cap: at most `max` decisions showing this variant to a visitor, per `window_s`
/// seconds (or ever, when absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapConfig {
    pub max: u32,
    #[serde(default)]
    pub window_s: Option<f64>,
}

const MAX_SLOTS: usize = 64;
const MAX_VARIANTS: usize = 64;
const MAX_TEXT: usize = 4096;

fn invalid(message: String) -> ConfigError {
    ConfigError::Invalid { message }
}

fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl EngineConfig {
    pub fn from_json(json: &str) -> Result<EngineConfig, ConfigError> {
        let c: EngineConfig = serde_json::from_str(json).map_err(|e| ConfigError::Json {
            message: crate::error::json_error(&e),
        })?;
        c.validate()?;
        Ok(c)
    }

    /// Everything except the rules, which need the model score names (checked by `Engine::new`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.version != CONFIG_VERSION {
            return Err(invalid(format!(
                "version {} is not supported; this runtime reads version {CONFIG_VERSION}",
                self.version
            )));
        }
        self.session.validate().map_err(invalid)?;
        self.policy.validate().map_err(invalid)?;
        self.consent
            .validate()
            .map_err(|e| invalid(format!("consent: {e}")))?;
        if self.consent.default != Purposes::default()
            && self.consent_default != Purposes::default()
            && self.consent.default != self.consent_default
        {
            return Err(invalid(
                "consent_default and consent.default disagree; set only one of them".into(),
            ));
        }
        if self.storage_prefix.is_empty()
            || self.storage_prefix.len() > 64
            || !self
                .storage_prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        {
            return Err(invalid(format!(
                "storage_prefix must be 1-64 characters of A-Z a-z 0-9 - _ . :, got {:?}",
                crate::event::truncate(&self.storage_prefix, 80)
            )));
        }
        if !(self.session_ttl_s.is_finite()
            && self.session_ttl_s > 0.0
            && self.session_ttl_s <= 86_400.0)
        {
            return Err(invalid(format!(
                "session_ttl_s must be in (0, 86400] seconds, got {}",
                self.session_ttl_s
            )));
        }
        if !(self.min_probability.is_finite() && (0.0..=0.5).contains(&self.min_probability)) {
            return Err(invalid(format!(
                "min_probability must be in [0, 0.5], got {}",
                self.min_probability
            )));
        }
        if !(self.holdout.is_finite() && (0.0..=0.5).contains(&self.holdout)) {
            return Err(invalid(format!(
                "holdout must be a fraction in [0, 0.5], got {}",
                self.holdout
            )));
        }
        if !(self.reward_window_s.is_finite()
            && self.reward_window_s > 0.0
            && self.reward_window_s <= 30.0 * 86_400.0)
        {
            return Err(invalid(format!(
                "reward_window_s must be in (0, 2592000] seconds, got {}",
                self.reward_window_s
            )));
        }
        if !(1..=65_536).contains(&self.max_pending) {
            return Err(invalid(format!(
                "max_pending must be 1..=65536, got {}",
                self.max_pending
            )));
        }
        if self.slots.is_empty() || self.slots.len() > MAX_SLOTS {
            return Err(invalid(format!(
                "`slots` must have 1..={MAX_SLOTS} entries, has {}",
                self.slots.len()
            )));
        }
        let mut slot_ids = std::collections::HashSet::new();
        for s in &self.slots {
            if !valid_id(&s.id) {
                return Err(invalid(format!(
                    "slot id {:?} must be 1..=64 of [A-Za-z0-9_-]",
                    crate::event::truncate(&s.id, 80)
                )));
            }
            if !slot_ids.insert(s.id.as_str()) {
                return Err(invalid(format!("slot {:?} is declared twice", s.id)));
            }
            if s.variants.is_empty() || s.variants.len() > MAX_VARIANTS {
                return Err(invalid(format!(
                    "slot {:?} must have 1..={MAX_VARIANTS} variants, has {}",
                    s.id,
                    s.variants.len()
                )));
            }
            let mut ids = std::collections::HashSet::new();
            for v in &s.variants {
                let at = |m: String| {
                    let v = crate::event::truncate(&v.id, 80);
                    invalid(format!("slot {:?}, variant {v:?}: {m}", s.id))
                };
                if !valid_id(&v.id) {
                    return Err(at("the id must be 1..=64 of [A-Za-z0-9_-]".into()));
                }
                if !ids.insert(v.id.as_str()) {
                    return Err(at("the id is used twice in this slot".into()));
                }
                check_content(v.kind, &v.content).map_err(at)?;
                if v.tags.len() > 32 || v.tags.iter().any(|t| t.is_empty() || t.len() > 64) {
                    return Err(at("at most 32 tags of 1..=64 bytes".into()));
                }
                if let Some(c) = &v.cap {
                    if c.max == 0 || c.window_s.is_some_and(|w| !(w.is_finite() && w > 0.0)) {
                        return Err(at(
                            "cap.max must be >= 1 and cap.window_s a positive number of seconds"
                                .into(),
                        ));
                    }
                    if c.max > 10_000 {
                        return Err(at("cap.max must be at most 10000".into()));
                    }
                }
            }
            if !ids.contains(s.default.as_str()) {
                return Err(invalid(format!(
                    "slot {:?}: default {:?} is not one of its variants",
                    s.id,
                    crate::event::truncate(&s.default, 80)
                )));
            }
            for (id, p) in &s.prior {
                if !ids.contains(id.as_str()) {
                    return Err(invalid(format!(
                        "slot {:?}: prior for {:?}, which is not one of its variants",
                        s.id,
                        crate::event::truncate(id, 80)
                    )));
                }
                if !(p.trials.is_finite()
                    && p.reward.is_finite()
                    && p.trials >= 0.0
                    && p.trials <= 1e9
                    && (0.0..=p.trials).contains(&p.reward))
                {
                    return Err(invalid(format!(
                        "slot {:?}: prior for {id:?} needs 0 <= reward <= trials <= 1e9, got trials {} reward {}",
                        s.id, p.trials, p.reward
                    )));
                }
            }
        }
        Ok(())
    }
}

fn check_content(kind: VariantKind, c: &serde_json::Value) -> Result<(), String> {
    use serde_json::Value;
    match (kind, c) {
        (VariantKind::Copy, Value::String(s)) if s.len() <= MAX_TEXT => Ok(()),
        (VariantKind::Copy, _) => Err(format!("copy content must be text of at most {MAX_TEXT} bytes")),
        (VariantKind::Layout, Value::String(s)) if valid_id(s) => Ok(()),
        (VariantKind::Layout, _) => Err("layout content must be one class name of [A-Za-z0-9_-], 1..=64 bytes".into()),
        (VariantKind::Offer, Value::Object(m))
            if !m.is_empty()
                && m.len() <= 16
                && m.iter().all(|(k, v)| valid_ident(k) && v.as_str().is_some_and(|s| s.len() <= MAX_TEXT)) =>
        {
            Ok(())
        }
        (VariantKind::Offer, _) => {
            Err("offer content must be an object of 1..=16 text slots, e.g. {\"title\": \"...\", \"cta\": \"...\"}".into())
        }
    }
}

/// Where a decision came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Nothing else applied (no eligible alternative).
    #[default]
    Default,
    /// The visitor is in the holdout group.
    Holdout,
    /// Rules left exactly one variant.
    Rule,
    /// The policy chose a variant it does not currently believe best.
    Explore,
    /// The policy chose a variant it currently believes best.
    Exploit,
    /// No consent to personalize.
    NoConsent,
    /// No consent to a profile, but session-only choices are allowed (TCF purpose 11 or
    /// `consent.session_personalization_without_consent`): the rules over this session's
    /// scores chose, nothing was learned.
    SessionOnly,
    /// Something failed; the default is shown.
    Error,
}

impl Source {
    /// Every source, in declaration order.
    pub const ALL: [Source; 8] = [
        Source::Default,
        Source::Holdout,
        Source::Rule,
        Source::Explore,
        Source::Exploit,
        Source::NoConsent,
        Source::SessionOnly,
        Source::Error,
    ];

    /// Whether a decision from this source teaches its slot's policy (when it is exposed and
    /// rewarded or closed): the policy's own choices and a rule's single eligible variant.
    pub fn learns(self) -> bool {
        matches!(self, Source::Explore | Source::Exploit | Source::Rule)
    }
}

/// The answer to `decide(slot)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub decision_id: String,
    pub slot: String,
    pub variant_id: String,
    pub kind: VariantKind,
    pub content: serde_json::Value,
    pub tags: Vec<String>,
    /// Probability with which this variant was chosen (1 for deterministic outcomes).
    pub probability: f64,
    pub scores: BTreeMap<String, f32>,
    pub source: Source,
    /// "Why am I seeing this", one short sentence per line (only the reason of a default
    /// when asked not to explain, see [`Engine::decide_with`]).
    pub reasons: Vec<String>,
    /// Every eligible variant with its probability and the policy's estimate, when a policy
    /// chose (empty for defaults, rules, holdout and no-consent decisions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arms: Vec<ArmView>,
}

/// A decision as the engine logged it: the slot and variant as indices into the config, the
/// scores in model order. [`Engine::decision`] makes the public [`Decision`] of it; the wasm
/// binding builds its JS object from it without copying the config's strings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Choice {
    pub decision_id: String,
    /// Index of the slot in the config.
    pub slot: usize,
    /// Index of the variant in its slot.
    pub arm: usize,
    pub probability: f64,
    pub source: Source,
    /// One per model in [`Engine::score_names`] order (`None`: failed); empty when no model
    /// ran (no consent, holdout).
    pub scores: Vec<Option<f32>>,
    pub reasons: Vec<String>,
    pub arms: Vec<ArmView>,
}

impl Choice {
    /// Empties it, keeping its buffers (see [`Engine::choose_into`]).
    pub fn clear(&mut self) {
        self.decision_id.clear();
        self.slot = 0;
        self.arm = 0;
        self.probability = 0.0;
        self.source = Source::Default;
        self.scores.clear();
        self.reasons.clear();
        self.arms.clear();
    }
}

/// Result of `track_many`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackReport {
    pub accepted: usize,
    /// The first 100 rejected events, with their position in the batch.
    pub rejected: Vec<Rejected>,
    pub rejected_count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejected {
    pub index: usize,
    pub code: String,
    pub message: String,
}

/// How an engine is started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineOptions {
    /// Fixed seed: identical runs for tests and simulations. Absent: secure randomness.
    pub seed: Option<u64>,
    /// Session start, ms since the epoch. Absent: `now`.
    pub session_start: Option<f64>,
    /// A stable visitor id: makes the holdout assignment a hash of it (stable across devices
    /// and edge isolates) instead of a random draw.
    pub visitor_id: Option<String>,
}

struct SlotRuntime {
    /// The slot's config and its variants' parsed rules, shared by the engines of a [`Prepared`].
    config: std::sync::Arc<SlotConfig>,
    default_idx: usize,
    rules: std::sync::Arc<[Option<Expr>]>,
    policy: SlotPolicy,
    /// Per variant, times (ms) it was shown; bounded by the cap's `max`.
    shown: Vec<VecDeque<f64>>,
    /// Per variant `[times shown, total reward]`.
    outcomes: Vec<[f64; 2]>,
}

impl SlotRuntime {
    /// Variant `arm` was shown at `now_ms`: for its frequency cap, and as a trial of the
    /// profile's outcomes when the decision learns.
    fn count_shown(&mut self, arm: usize, learn: bool, now_ms: f64) {
        if let (Some(shown), Some(cap)) = (
            self.shown.get_mut(arm),
            self.config.variants.get(arm).and_then(|v| v.cap.as_ref()),
        ) {
            shown.push_back(now_ms);
            while shown.len() > cap.max as usize {
                shown.pop_front();
            }
        }
        if learn {
            if let Some(o) = self.outcomes.get_mut(arm) {
                o[0] += 1.0;
            }
        }
    }
}

struct Pending {
    id: String,
    slot: usize,
    arm: usize,
    probability: f64,
    ts: f64,
    learn: bool,
    rewarded: bool,
    /// Shown to the visitor: only exposed decisions count (and learn 0 when their window
    /// closes without a reward).
    exposed: bool,
    /// What a contextual policy saw (features then scores), to learn from when the reward (or
    /// the window's end) arrives; empty for non-contextual policies.
    context: Vec<f32>,
}

impl Pending {
    /// Marks the decision shown; the first time, it counts on its slot (cap, trials).
    fn mark_exposed(&mut self, slots: &mut [SlotRuntime], now_ms: f64) {
        if !std::mem::replace(&mut self.exposed, true) {
            if let Some(s) = slots.get_mut(self.slot) {
                s.count_shown(self.arm, self.learn, now_ms);
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct ScoreKey {
    events: u64,
    now_bits: u64,
    ctx_generation: u64,
}

/// A slot's policy as configured: built for its variants and the context, with its prior.
fn fresh_policy(config: &PolicyConfig, s: &SlotConfig, context_dim: usize) -> SlotPolicy {
    let mut p = config.build(s.variants.len(), context_dim);
    let prior: Vec<bandit::Prior> = s
        .prior
        .iter()
        .filter_map(|(id, st)| {
            let arm = s.variants.iter().position(|v| &v.id == id)?;
            Some(bandit::Prior {
                arm,
                trials: st.trials,
                reward: st.reward,
            })
        })
        .collect();
    p.merge_prior(&prior);
    p
}

/// What a consent change did: the purposes now allowed, which were withdrawn, and whether
/// stored state was wiped — then `delete_keys` lists the host storage keys to delete.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsentChange {
    pub purposes: Purposes,
    pub session_personalization: bool,
    pub withdrawn: Vec<&'static str>,
    pub wiped: bool,
    pub delete_keys: Vec<String>,
}

/// A snapshot as the gate released it: the bytes and where they may be kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub bytes: Vec<u8>,
    pub scope: Scope,
}

/// Buffers every decision reuses (not state: never in a snapshot): the eligible arms, the
/// policy's distribution, and the ids and context vectors of closed decisions, recycled for
/// new ones so that deciding allocates nothing in steady state.
#[derive(Default)]
struct Scratch {
    eligible: Vec<usize>,
    dist: Distribution,
    ids: Vec<String>,
    contexts: Vec<Vec<f32>>,
}

impl Scratch {
    /// Spare buffers kept, at most, of each kind.
    const SPARES: usize = 8;

    fn keep_id(&mut self, id: String) {
        if self.ids.len() < Self::SPARES {
            self.ids.push(id);
        }
    }

    fn keep_context(&mut self, c: Vec<f32>) {
        if c.capacity() > 0 && self.contexts.len() < Self::SPARES {
            self.contexts.push(c);
        }
    }
}

/// The runtime: one visitor, one session.
pub struct Engine {
    /// Length of a contextual policy's context: 1 + first model's width + number of models.
    context_dim: usize,
    config: std::sync::Arc<EngineConfig>,
    slots: Vec<SlotRuntime>,
    models: Vec<PropensityModel>,
    /// For each model, the first model with an identical feature spec (features computed once).
    spec_group: Vec<usize>,
    score_names: Vec<String>,
    session: Session,
    ctx: Context,
    consent: ConsentState,
    /// What `consent` allows under the config, recomputed on every change.
    effective: Effective,
    /// Pseudonymous visitor id: exists only while `storage` is allowed.
    pseudonym: Option<String>,
    /// The latest clock the host passed (for snapshot expiry).
    clock_ms: f64,
    rng: Rng,
    holdout: bool,
    seq: u64,
    id_prefix: String,
    pending: VecDeque<Pending>,
    /// Recently closed decision ids, to tell "too late" from "never existed".
    closed: VecDeque<String>,
    features: Vec<Vec<f32>>,
    /// Scores are a pure function of (session, context, clock): the last result is reused while
    /// none of them changed, so deciding three slots in a row runs the models once.
    score_cache: Option<ScoreKey>,
    cached_scores: Vec<Option<f32>>,
    ctx_generation: u64,
    /// Notes from `restore` about state that did not fit the current config.
    restore_notes: Vec<String>,
    scratch: Scratch,
}

fn check_now(now: f64) -> Result<(), DecisionError> {
    if now.is_finite() && now > 0.0 {
        Ok(())
    } else {
        Err(DecisionError::InvalidClock { now })
    }
}

/// What [`Engine::new`] derives from a config and its models before any visitor: the checked
/// config, the score names, which models share features, each slot's config and its variants'
/// parsed rules. Made once by [`Engine::prepare`] and shared by the engines of one config (an
/// edge isolate's requests), so a request's engine is not validated and parsed again.
#[derive(Debug, Clone)]
pub struct Prepared {
    config: std::sync::Arc<EngineConfig>,
    score_names: Vec<String>,
    widths: Vec<usize>,
    spec_group: Vec<usize>,
    context_dim: usize,
    slots: Vec<PreparedSlot>,
}

#[derive(Debug, Clone)]
struct PreparedSlot {
    config: std::sync::Arc<SlotConfig>,
    rules: std::sync::Arc<[Option<Expr>]>,
    default_idx: usize,
}

impl Engine {
    /// Checks a config against its models once (see [`Prepared`]).
    pub fn prepare(
        config: impl Into<std::sync::Arc<EngineConfig>>,
        models: &[PropensityModel],
    ) -> Result<Prepared, Error> {
        let mut config: std::sync::Arc<EngineConfig> = config.into();
        config.validate()?;
        // The top-level `consent_default` fills the consent section's unset `default` (the
        // condition keeps a config shared by the caller from being copied for nothing).
        if config.consent.default == Purposes::default()
            && config.consent_default != Purposes::default()
        {
            let c = std::sync::Arc::make_mut(&mut config);
            c.consent.default = c.consent_default;
        }
        let mut score_names: Vec<String> = Vec::with_capacity(models.len());
        for m in models {
            if score_names.iter().any(|s| s == m.score_name()) {
                return Err(ModelError::DuplicateScore {
                    score: m.score_name().to_owned(),
                }
                .into());
            }
            score_names.push(m.score_name().to_owned());
        }
        let spec_group = (0..models.len())
            .map(|i| {
                models
                    .iter()
                    .position(|m| models.get(i).is_some_and(|mi| mi.spec() == m.spec()))
                    .unwrap_or(i)
            })
            .collect();
        // Contextual policies see [1, the first model's features, every score].
        let context_dim = 1 + models.first().map_or(0, |m| m.width()) + models.len();
        let mut slots = Vec::with_capacity(config.slots.len());
        for s in &config.slots {
            let mut rules = Vec::with_capacity(s.variants.len());
            for v in &s.variants {
                rules.push(match &v.eligibility {
                    None => None,
                    Some(r) => {
                        Some(
                            Expr::parse(r, &score_names).map_err(|message| ConfigError::Rule {
                                slot: s.id.clone(),
                                variant: v.id.clone(),
                                message,
                            })?,
                        )
                    }
                });
            }
            slots.push(PreparedSlot {
                default_idx: s
                    .variants
                    .iter()
                    .position(|v| v.id == s.default)
                    .unwrap_or(0),
                rules: rules.into(),
                config: std::sync::Arc::new(s.clone()),
            });
        }
        Ok(Prepared {
            widths: models.iter().map(PropensityModel::width).collect(),
            config,
            score_names,
            spec_group,
            context_dim,
            slots,
        })
    }

    /// Builds an engine from a config and loaded models.
    pub fn new(
        config: impl Into<std::sync::Arc<EngineConfig>>,
        models: Vec<PropensityModel>,
        options: EngineOptions,
        now_ms: f64,
    ) -> Result<Engine, Error> {
        check_now(now_ms)?;
        let prepared = Engine::prepare(config, &models)?;
        Engine::with(&prepared, models, options, now_ms)
    }

    /// Builds an engine from a [`Prepared`] config and the models it was prepared with (the
    /// same score names and widths, in order; `config_invalid` otherwise).
    pub fn with(
        prepared: &Prepared,
        models: Vec<PropensityModel>,
        options: EngineOptions,
        now_ms: f64,
    ) -> Result<Engine, Error> {
        check_now(now_ms)?;
        let same = models.len() == prepared.score_names.len()
            && models
                .iter()
                .zip(prepared.score_names.iter().zip(&prepared.widths))
                .all(|(m, (name, w))| m.score_name() == name && m.width() == *w);
        if !same {
            return Err(ConfigError::Invalid {
                message: "these models are not the ones the config was prepared with; prepare it with them".into(),
            }
            .into());
        }
        let config = prepared.config.clone();
        let (score_names, spec_group, context_dim) = (
            prepared.score_names.clone(),
            prepared.spec_group.clone(),
            prepared.context_dim,
        );
        let slots = prepared
            .slots
            .iter()
            .map(|p| SlotRuntime {
                default_idx: p.default_idx,
                rules: p.rules.clone(),
                policy: fresh_policy(&config.policy, &p.config, context_dim),
                shown: vec![VecDeque::new(); p.config.variants.len()],
                outcomes: vec![[0.0, 0.0]; p.config.variants.len()],
                config: p.config.clone(),
            })
            .collect();
        let mut rng = match options.seed {
            Some(seed) => Rng::from_seed(seed),
            None => Rng::from_entropy(now_ms.to_bits()),
        };
        let holdout = match &options.visitor_id {
            // FNV-1a alone leaves the top bits nearly equal for ids that share a prefix
            // ("visitor-1", "visitor-2"); SplitMix64 finalizes it into a uniform draw.
            Some(v) => {
                let mut h = fnv1a64(v);
                ((crate::rng::splitmix64(&mut h) >> 11) as f64 / (1u64 << 53) as f64)
                    < config.holdout
            }
            None => rng.next_f64() < config.holdout,
        };
        let id_prefix = format!("{:08x}", rng.next_u64() as u32);
        let start = options.session_start.unwrap_or(now_ms);
        check_now(start)?;
        let features = vec![Vec::new(); models.len()];
        let consent = ConsentState::default();
        let effective = consent.effective(&config.consent);
        let mut e = Engine {
            context_dim,
            session: Session::new(config.session.clone(), start),
            consent,
            effective,
            pseudonym: None,
            clock_ms: now_ms,
            config,
            slots,
            models,
            spec_group,
            score_names,
            ctx: Context::new(),
            rng,
            holdout,
            seq: 0,
            id_prefix,
            pending: VecDeque::new(),
            closed: VecDeque::new(),
            features,
            score_cache: None,
            cached_scores: Vec::new(),
            ctx_generation: 0,
            restore_notes: Vec::new(),
            scratch: Scratch::default(),
        };
        e.watch_features();
        e.ensure_pseudonym();
        Ok(e)
    }

    /// Asks the session to keep running sums for every model's recency features, and order
    /// statistics for its min/max features.
    fn watch_features(&mut self) {
        let specs = || self.models.iter().map(PropensityModel::spec);
        self.session.watch_stats(
            specs().flat_map(|s| s.recency_sums()),
            specs().flat_map(|s| s.ordered_streams()),
        );
    }

    /// Convenience: config JSON and `(manifest JSON, ONNX bytes)` pairs.
    pub fn from_json(
        config_json: &str,
        models: &[(&str, &[u8])],
        options: EngineOptions,
        now_ms: f64,
    ) -> Result<Engine, Error> {
        let config = EngineConfig::from_json(config_json)?;
        let models = models
            .iter()
            .map(|(m, b)| PropensityModel::load(m, b))
            .collect::<Result<Vec<_>, _>>()?;
        Engine::new(config, models, options, now_ms)
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }
    pub fn session(&self) -> &Session {
        &self.session
    }
    pub fn models(&self) -> &[PropensityModel] {
        &self.models
    }
    /// The purposes allowed now (all sources combined, most restrictive wins).
    pub fn consent(&self) -> Purposes {
        self.effective.purposes
    }
    /// Why each purpose is allowed or denied, by which source, since when.
    pub fn consent_receipt(&self) -> &Receipt {
        &self.effective.receipt
    }
    /// The pseudonymous visitor id (only while `storage` is allowed).
    pub fn pseudonym(&self) -> Option<&str> {
        self.pseudonym.as_deref()
    }
    pub fn in_holdout(&self) -> bool {
        self.holdout
    }
    pub fn context(&self) -> &Context {
        &self.ctx
    }
    /// Decisions still waiting for a reward.
    pub fn pending_count(&self) -> usize {
        self.pending.iter().filter(|p| !p.rewarded).count()
    }
    pub fn restore_notes(&self) -> &[String] {
        &self.restore_notes
    }

    /// The host's explicit consent (`setConsent({...})`); replaces its earlier call.
    pub fn set_consent(&mut self, purposes: Purposes, now_ms: f64) -> ConsentChange {
        self.consent_update(now_ms, |c, t| {
            c.set_host(purposes, t);
            Ok(())
        })
        .0
    }

    /// An IAB TCF v2.2 TC string from the CMP. A string that does not decode (or has policy
    /// version < 4) is an error *and* counts as "no consent" from TCF — which may wipe what
    /// was kept: a host that stores state takes the change from [`Engine::set_tcf_reporting`].
    pub fn set_tcf(&mut self, tc_string: &str, now_ms: f64) -> Result<ConsentChange, Error> {
        match self.set_tcf_reporting(tc_string, now_ms) {
            (change, None) => Ok(change),
            (_, Some(e)) => Err(e),
        }
    }

    /// [`Engine::set_tcf`], returning the change also when the string is refused (then TCF
    /// allows nothing: `wiped` and `delete_keys` say what the host must delete).
    pub fn set_tcf_reporting(
        &mut self,
        tc_string: &str,
        now_ms: f64,
    ) -> (ConsentChange, Option<Error>) {
        self.consent_update(now_ms, |c, t| c.set_tcf(tc_string, t))
    }

    /// TCF no longer applies (`gdprApplies: false`) or the CMP is gone.
    pub fn clear_tcf(&mut self, now_ms: f64) -> ConsentChange {
        self.consent_update(now_ms, |c, t| {
            c.clear_tcf(t);
            Ok(())
        })
        .0
    }

    /// Global Privacy Control (`navigator.globalPrivacyControl`, `Sec-GPC: 1`).
    pub fn set_gpc(&mut self, gpc: bool, now_ms: f64) -> ConsentChange {
        self.consent_update(now_ms, |c, t| {
            c.set_gpc(gpc, t);
            Ok(())
        })
        .0
    }

    /// Google Consent Mode v2 signals (an update: keys left out keep their value).
    pub fn set_consent_mode(&mut self, signals: &ConsentModeSignals, now_ms: f64) -> ConsentChange {
        self.consent_update(now_ms, |c, t| {
            c.set_consent_mode(signals, t);
            Ok(())
        })
        .0
    }

    /// The visitor withdraws everything: the host source denies every purpose, the profile,
    /// the learned state and the pseudonymous id are wiped, and `delete_keys` lists what the
    /// host must delete from its storage.
    pub fn withdraw(&mut self, now_ms: f64) -> ConsentChange {
        let mut change = self.set_consent(Purposes::default(), now_ms);
        if !change.wiped {
            self.wipe();
            change.wiped = true;
            change.delete_keys = self.storage_keys();
        }
        change
    }

    /// Storage keys the host may hold for this engine (deleted on withdrawal).
    pub fn storage_keys(&self) -> Vec<String> {
        vec![format!("{}:state", self.config.storage_prefix)]
    }

    /// The latest clock seen moves forward (a session-scoped snapshot expires after it).
    fn advance_clock(&mut self, now_ms: f64) {
        if now_ms.is_finite() && now_ms > self.clock_ms {
            self.clock_ms = now_ms;
        }
    }

    /// Applies one consent change; wipes stored state when `storage` or `profile_sync` was
    /// withdrawn. The change is returned with the error, if any (a rejected TC string still
    /// changed things: TCF then allows nothing).
    fn consent_update(
        &mut self,
        now_ms: f64,
        f: impl FnOnce(&mut ConsentState, f64) -> Result<(), crate::consent::ConsentError>,
    ) -> (ConsentChange, Option<Error>) {
        self.advance_clock(now_ms);
        let before = self.effective.purposes;
        let result = f(&mut self.consent, now_ms);
        self.effective = self.consent.effective(&self.config.consent);
        let after = self.effective.purposes;
        // Also when state restored from a persistent snapshot meets consent without storage.
        let wiped = crate::consent::wipe_required(&before, &after)
            || (!after.storage && self.pseudonym.is_some());
        if wiped {
            self.wipe();
        }
        self.ensure_pseudonym();
        let change = ConsentChange {
            purposes: after,
            session_personalization: self.effective.session_personalization,
            withdrawn: crate::consent::removed(&before, &after),
            wiped,
            delete_keys: if wiped {
                self.storage_keys()
            } else {
                Vec::new()
            },
        };
        (change, result.err().map(Error::from))
    }

    /// Forgets everything learned about this visitor beyond the current session's events:
    /// the pseudonymous id, the policies (back to their configured priors), exposure caps,
    /// outcomes and pending decisions (closed without learning).
    fn wipe(&mut self) {
        self.pseudonym = None;
        for (s, cfg) in self.slots.iter_mut().zip(&self.config.slots) {
            s.policy = fresh_policy(&self.config.policy, cfg, self.context_dim);
            s.shown.iter_mut().for_each(VecDeque::clear);
            s.outcomes.iter_mut().for_each(|o| *o = [0.0, 0.0]);
        }
        for p in self.pending.drain(..) {
            self.closed.push_back(p.id);
        }
        while self.closed.len() > 1024 {
            self.closed.pop_front();
        }
    }

    /// Creates the pseudonymous id when `storage` is allowed and there is none.
    fn ensure_pseudonym(&mut self) {
        if self.effective.purposes.storage && self.pseudonym.is_none() {
            let mut r = Rng::from_entropy(self.rng.next_u64());
            self.pseudonym = Some(format!("{:016x}{:016x}", r.next_u64(), r.next_u64()));
        }
    }

    /// Replaces the host context (device, hour_of_day, ...).
    pub fn set_context(&mut self, ctx: Context) -> Result<(), Error> {
        validate_context(&ctx).map_err(|message| DecisionError::InvalidContext { message })?;
        self.ctx = ctx;
        self.ctx_generation = self.ctx_generation.wrapping_add(1);
        Ok(())
    }

    /// Records one event.
    pub fn track(&mut self, event: &EventInput<'_>, now_ms: f64) -> Result<(), Error> {
        check_now(now_ms)?;
        self.session.push(event, now_ms).map_err(Error::from)
    }

    /// Records a batch: valid events are kept, invalid ones reported with their index.
    pub fn track_many(
        &mut self,
        events: &[EventInput<'_>],
        now_ms: f64,
    ) -> Result<TrackReport, Error> {
        check_now(now_ms)?;
        let session = &mut self.session;
        Ok(TrackReport::of(
            events.iter().map(|e| session.push(e, now_ms)),
        ))
    }

    /// Records a batch whose kinds are codes ([`EventKind::from_code`]; `EventInput::kind` is
    /// not read): the columnar ingestion path. Valid rows are kept, invalid ones reported with
    /// their index, as in [`Engine::track_many`].
    pub fn track_coded<'a>(
        &mut self,
        rows: impl IntoIterator<Item = (u8, EventInput<'a>)>,
        now_ms: f64,
    ) -> Result<TrackReport, Error> {
        check_now(now_ms)?;
        let session = &mut self.session;
        Ok(TrackReport::of(rows.into_iter().map(
            |(code, e)| match EventKind::from_code(code) {
                Some(kind) => session.push_kind(kind, &e, now_ms),
                None => Err(EventError::UnknownKind {
                    kind: format!("code {code} (codes are 0..{KIND_COUNT}, in eventKinds() order)"),
                }),
            },
        )))
    }

    /// Runs every model on the current session; `None` for a model that failed, with its error.
    pub fn scores(&mut self, now_ms: f64) -> (Vec<Option<f32>>, Vec<ModelError>) {
        let mut out = Vec::with_capacity(self.models.len());
        let errors = self.scores_into(now_ms, &mut out);
        (out, errors)
    }

    /// [`Engine::scores`] into `out` (cleared first); returns the errors.
    fn scores_into(&mut self, now_ms: f64, out: &mut Vec<Option<f32>>) -> Vec<ModelError> {
        out.clear();
        let key = ScoreKey {
            events: self.session.total(),
            now_bits: now_ms.to_bits(),
            ctx_generation: self.ctx_generation,
        };
        if self.score_cache == Some(key) {
            out.extend_from_slice(&self.cached_scores);
            return Vec::new();
        }
        let mut errors = Vec::new();
        self.session.sync_stats();
        for i in 0..self.models.len() {
            let group = self.spec_group.get(i).copied().unwrap_or(i);
            if group == i {
                if let (Some(m), Some(buf)) = (self.models.get(i), self.features.get_mut(i)) {
                    m.spec().extract_into(&self.session, &self.ctx, now_ms, buf);
                }
            }
            let (Some(m), Some(x)) = (self.models.get_mut(i), self.features.get(group)) else {
                out.push(None);
                continue;
            };
            match m.predict(x) {
                Ok(p) => out.push(Some(p)),
                Err(e) => {
                    out.push(None);
                    errors.push(e)
                }
            }
        }
        // A failed model is retried on the next call rather than remembered.
        if errors.is_empty() {
            self.score_cache = Some(key);
            self.cached_scores.clone_from(out);
        } else {
            self.score_cache = None;
        }
        errors
    }

    /// The feature vector of model `i` as last computed by `scores`/`decide`.
    pub fn last_features(&self, model: usize) -> Option<&[f32]> {
        let g = self.spec_group.get(model).copied()?;
        self.features.get(g).map(Vec::as_slice)
    }

    /// Chooses the variant of `slot` for this visitor now.
    pub fn decide(&mut self, slot: &str, now_ms: f64) -> Result<Decision, Error> {
        self.decide_with(slot, now_ms, true)
    }

    /// [`Engine::decide`], with `explain: false` for the rendering path: the same choice, the
    /// same learning and the same `source`, without the `reasons` sentences and the `arms`
    /// table (except the reason of a `no_consent`, `holdout` or `error` default, which is
    /// always given). Pages render with it; debug views ask for the explanation.
    pub fn decide_with(
        &mut self,
        slot: &str,
        now_ms: f64,
        explain: bool,
    ) -> Result<Decision, Error> {
        let c = self.choose(slot, now_ms, explain)?;
        Ok(self.decision(c))
    }

    /// The names of the scores, in model order (see [`Choice::scores`]).
    pub fn score_names(&self) -> &[String] {
        &self.score_names
    }

    /// The configured slots, in config order (see [`Choice::slot`]).
    pub fn slot_configs(&self) -> impl ExactSizeIterator<Item = &SlotConfig> {
        self.slots.iter().map(|s| &*s.config)
    }

    /// A [`Choice`] as the public [`Decision`]: the slot's and variant's ids, kind, content and
    /// tags from the config, the scores by name.
    pub fn decision(&self, c: Choice) -> Decision {
        let slot = self.slots.get(c.slot).map(|s| &s.config);
        let variant = slot.and_then(|s| s.variants.get(c.arm));
        let (variant_id, kind, content, tags) = match variant {
            Some(v) => (v.id.clone(), v.kind, v.content.clone(), v.tags.clone()),
            None => (
                String::new(),
                VariantKind::Copy,
                serde_json::Value::Null,
                Vec::new(),
            ),
        };
        Decision {
            decision_id: c.decision_id,
            slot: slot.map(|s| s.id.clone()).unwrap_or_default(),
            variant_id,
            kind,
            content,
            tags,
            probability: c.probability,
            scores: self
                .score_names
                .iter()
                .zip(&c.scores)
                .filter_map(|(n, s)| s.map(|p| (n.clone(), p)))
                .collect(),
            source: c.source,
            reasons: c.reasons,
            arms: c.arms,
        }
    }

    /// [`Engine::decide_with`] without building the [`Decision`]: the choice as indices into
    /// the config (the wasm binding turns it into a JS object from strings it made once).
    pub fn choose(&mut self, slot: &str, now_ms: f64, explain: bool) -> Result<Choice, Error> {
        let mut out = Choice::default();
        self.choose_into(slot, now_ms, explain, &mut out)?;
        Ok(out)
    }

    /// [`Engine::choose`] into `out`, whose buffers (id, scores, reasons, arms) are reused: a
    /// host that keeps one `Choice` and decides again and again allocates nothing per decision
    /// once the engine's own buffers have grown (after `max_pending` decisions and 1,024 closed
    /// ones); only explained decisions (their sentences) and errors allocate. On `Err`, `out`
    /// holds nothing of use.
    pub fn choose_into(
        &mut self,
        slot: &str,
        now_ms: f64,
        explain: bool,
        out: &mut Choice,
    ) -> Result<(), Error> {
        check_now(now_ms)?;
        out.clear();
        let si = self
            .slots
            .iter()
            .position(|s| s.config.id == slot)
            .ok_or_else(|| DecisionError::UnknownSlot {
                slot: crate::event::truncate(slot, 64),
            })?;
        self.expire(now_ms);
        self.advance_clock(now_ms);
        let session_only =
            !self.effective.purposes.personalization && self.effective.session_personalization;
        if !self.effective.purposes.personalization && !session_only {
            out.reasons
                .push("no consent to personalize: showing the default".into());
            self.fallback(si, now_ms, Source::NoConsent, out);
            return Ok(());
        }
        if self.holdout {
            out.reasons.push(format!(
                "this visitor is in the holdout group ({:.0}% of visitors), which always sees the default so lift can be measured",
                self.config.holdout * 100.0
            ));
            self.fallback(si, now_ms, Source::Holdout, out);
            return Ok(());
        }

        let errors = self.scores_into(now_ms, &mut out.scores);
        if !errors.is_empty() {
            out.reasons.extend(
                errors
                    .iter()
                    .map(|e| format!("showing the default because {e}")),
            );
            self.fallback(si, now_ms, Source::Error, out);
            return Ok(());
        }

        let mut eligible = std::mem::take(&mut self.scratch.eligible);
        eligible.clear();
        {
            let Some(s) = self.slots.get(si) else {
                return Err(DecisionError::UnknownSlot { slot: slot.into() }.into());
            };
            let env = Env {
                scores: &out.scores,
                session: &self.session,
                ctx: &self.ctx,
                now_ms,
            };
            for (vi, v) in s.config.variants.iter().enumerate() {
                let rule_ok = s
                    .rules
                    .get(vi)
                    .and_then(Option::as_ref)
                    .is_none_or(|r| r.eval(&env));
                if !rule_ok {
                    if explain {
                        out.reasons.push(format!(
                            "{:?} not eligible: rule `{}` is false",
                            v.id,
                            v.eligibility.as_deref().unwrap_or("")
                        ));
                    }
                    continue;
                }
                if let (Some(cap), Some(shown)) = (&v.cap, s.shown.get(vi)) {
                    let recent = shown
                        .iter()
                        .filter(|&&t| cap.window_s.is_none_or(|w| now_ms - t < w * 1000.0))
                        .count();
                    if recent >= cap.max as usize {
                        if explain {
                            out.reasons.push(format!(
                                "{:?} not eligible: already shown {recent} times (cap {})",
                                v.id, cap.max
                            ));
                        }
                        continue;
                    }
                }
                eligible.push(vi);
            }
        }
        if explain && out.scores.iter().any(Option::is_some) {
            // By name, like the decision's `scores` map.
            let mut named: Vec<(&String, f32)> = self
                .score_names
                .iter()
                .zip(&out.scores)
                .filter_map(|(n, s)| s.map(|p| (n, p)))
                .collect();
            named.sort_by(|a, b| a.0.cmp(b.0));
            let mut line = String::with_capacity(16 + 24 * named.len());
            line.push_str("scores:");
            for (i, (k, v)) in named.iter().enumerate() {
                line.push_str(if i == 0 { " " } else { ", " });
                let _ = write!(line, "{k} {}", Fixed(f64::from(*v), 3));
            }
            out.reasons.push(line);
        }

        let default_idx = self.slots.get(si).map(|s| s.default_idx).unwrap_or(0);
        if session_only {
            // No profile, no learning: the rules over this session's scores choose; the
            // default when it is eligible (or nothing is), else the first eligible variant.
            let arm = match eligible.first() {
                Some(&first) if !eligible.contains(&default_idx) => first,
                _ => default_idx,
            };
            self.scratch.eligible = eligible;
            let source = if arm == default_idx {
                Source::NoConsent
            } else {
                Source::SessionOnly
            };
            if explain {
                out.reasons.push(
                "no consent to a profile: a session-only choice by the rules over this session's scores; nothing is learned or kept"
                    .into(),
            );
            }
            self.record(si, arm, 1.0, source, Vec::new(), now_ms, out);
            return Ok(());
        }
        // What the policy sees: the first model's features, then every score; built once and
        // kept with the pending decision for a contextual policy to learn from later (in a
        // buffer recycled from a closed decision).
        let mut input: Option<Vec<f32>> = None;
        let (arm, probability, source) = match eligible.as_slice() {
            [] => {
                if explain {
                    out.reasons
                        .push("no variant is eligible: showing the default".into());
                }
                (default_idx, 1.0, Source::Default)
            }
            [only] => {
                let source = if *only == default_idx {
                    Source::Default
                } else {
                    Source::Rule
                };
                if explain {
                    out.reasons
                        .push("the rules leave exactly one eligible variant".into());
                }
                (*only, 1.0, source)
            }
            _ => {
                let x: &[f32] = input.insert(self.policy_input(&out.scores));
                let ctx = PolicyContext { values: x, explain };
                let Some(s) = self.slots.get_mut(si) else {
                    return Err(DecisionError::UnknownSlot { slot: slot.into() }.into());
                };
                let d = &mut self.scratch.dist;
                s.policy
                    .distribution_into(&eligible, &ctx, &mut self.rng, d);
                floor::apply(d, self.config.min_probability);
                if explain {
                    out.reasons.push(std::mem::take(&mut d.note));
                    out.arms.extend(d.arms.iter().zip(&d.probs).enumerate().map(
                        |(i, (&a, &p))| {
                            ArmView {
                                variant_id: s
                                    .config
                                    .variants
                                    .get(a)
                                    .map(|v| v.id.clone())
                                    .unwrap_or_default(),
                                probability: p,
                                estimate: d.estimates.get(i).copied().filter(|e| e.is_finite()),
                            }
                        },
                    ));
                }
                match bandit::sample(d, &mut self.rng) {
                    Some(c) => {
                        let source = if c.exploit {
                            Source::Exploit
                        } else {
                            Source::Explore
                        };
                        if explain {
                            out.reasons.push(format!(
                            "{} of {} variants eligible; chose this one with probability {} ({})",
                            eligible.len(),
                            s.config.variants.len(),
                            Fixed(c.probability, 3),
                            if c.exploit { "the policy's current best" } else { "exploring" }
                        ));
                        }
                        (c.arm, c.probability, source)
                    }
                    None => (default_idx, 1.0, Source::Default),
                }
            }
        };
        self.scratch.eligible = eligible;
        let context = if source.learns() && self.config.policy.is_contextual() {
            match input {
                Some(x) => x,
                None => self.policy_input(&out.scores),
            }
        } else {
            if let Some(x) = input {
                self.scratch.keep_context(x);
            }
            Vec::new()
        };
        self.record(si, arm, probability, source, context, now_ms, out);
        Ok(())
    }

    /// `[first model's features…, every score…]` (a failed score as 0), in a recycled buffer.
    fn policy_input(&mut self, scores: &[Option<f32>]) -> Vec<f32> {
        let mut c = self.scratch.contexts.pop().unwrap_or_default();
        c.clear();
        if let Some(f) = self.spec_group.first().and_then(|&g| self.features.get(g)) {
            c.extend_from_slice(f);
        }
        c.extend(scores.iter().map(|s| s.unwrap_or(0.0)));
        c
    }

    /// The slot's default, chosen without a policy (`out.reasons` already says why).
    fn fallback(&mut self, si: usize, now_ms: f64, source: Source, out: &mut Choice) {
        let d = self.slots.get(si).map(|s| s.default_idx).unwrap_or(0);
        self.record(si, d, 1.0, source, Vec::new(), now_ms, out);
    }

    /// Logs the decision as pending and fills in `out`'s id and choice.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        si: usize,
        arm: usize,
        probability: f64,
        source: Source,
        context: Vec<f32>,
        now_ms: f64,
        out: &mut Choice,
    ) {
        let learn = source.learns();
        self.seq += 1;
        while self.pending.len() >= self.config.max_pending {
            self.close_oldest();
        }
        out.decision_id.clear();
        let _ = write!(out.decision_id, "{}-{}", self.id_prefix, self.seq);
        // Room for any sequence number, so a recycled id never grows.
        let room = self.id_prefix.len() + 21;
        let mut id = self
            .scratch
            .ids
            .pop()
            .unwrap_or_else(|| String::with_capacity(room));
        id.clear();
        id.push_str(&out.decision_id);
        // `expire` closes from the front: the log stays in time order even when the host's
        // clock goes backwards (a decision is never older than the one before it), so no
        // expired decision hides behind a newer one — and a restore, which expires again,
        // finds exactly what the engine had.
        let ts = self.pending.back().map_or(now_ms, |p| p.ts.max(now_ms));
        self.pending.push_back(Pending {
            id,
            slot: si,
            arm,
            probability,
            ts,
            learn,
            rewarded: false,
            exposed: self.config.exposure == Exposure::OnDecide,
            context,
        });
        if self.config.exposure == Exposure::OnDecide {
            if let Some(s) = self.slots.get_mut(si) {
                s.count_shown(arm, learn, now_ms);
            }
        }
        out.slot = si;
        out.arm = arm;
        out.probability = probability;
        out.source = source;
    }

    /// Closes decisions older than the reward window: reward 0 for the unrewarded.
    fn expire(&mut self, now_ms: f64) {
        let window_ms = self.config.reward_window_s * 1000.0;
        while self
            .pending
            .front()
            .is_some_and(|p| now_ms - p.ts > window_ms)
        {
            self.close_oldest();
        }
    }

    fn close_oldest(&mut self) {
        if let Some(p) = self.pending.pop_front() {
            if p.learn && p.exposed && !p.rewarded {
                if let Some(s) = self.slots.get_mut(p.slot) {
                    let ctx = PolicyContext::new(&p.context);
                    s.policy.update(p.arm, &ctx, 0.0, p.probability);
                }
            }
            self.scratch.keep_context(p.context);
            self.closed.push_back(p.id);
            while self.closed.len() > 1024 {
                if let Some(old) = self.closed.pop_front() {
                    self.scratch.keep_id(old);
                }
            }
        }
    }

    /// Feeds the outcome of a decision (a value in [0, 1]) to its slot's policy.
    pub fn reward(&mut self, decision_id: &str, value: f64, now_ms: f64) -> Result<(), Error> {
        check_now(now_ms)?;
        if !(value.is_finite() && (0.0..=1.0).contains(&value)) {
            return Err(DecisionError::InvalidReward { value }.into());
        }
        self.expire(now_ms);
        let issued = self.issued_here(decision_id);
        let p = Self::find_pending(
            &mut self.pending,
            &self.closed,
            issued,
            self.config.reward_window_s,
            decision_id,
        )?;
        if p.rewarded {
            let id = crate::event::truncate(decision_id, 64);
            return Err(DecisionError::AlreadyRewarded { id }.into());
        }
        p.rewarded = true;
        // A reward implies the visitor saw it (a click on a variant that was never reported
        // visible, say).
        p.mark_exposed(&mut self.slots, now_ms);
        if p.learn {
            if let Some(s) = self.slots.get_mut(p.slot) {
                let ctx = PolicyContext::new(&p.context);
                s.policy.update(p.arm, &ctx, value, p.probability);
                if let Some(o) = s.outcomes.get_mut(p.arm) {
                    o[1] += value;
                }
            }
        }
        Ok(())
    }

    /// Whether this engine (or the one its snapshot came from) made decision `id`:
    /// `<id_prefix>-<n>` with `1 <= n <= seq`. Not pending any more, such a decision was
    /// closed. Snapshots do not carry the `closed` list, so after a restore (at the edge, every
    /// request) this is what tells "too late" from "never made here".
    fn issued_here(&self, id: &str) -> bool {
        id.strip_prefix(self.id_prefix.as_str())
            .and_then(|rest| rest.strip_prefix('-'))
            .filter(|n| !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|n| (1..=self.seq).contains(&n))
    }

    /// The open decision `decision_id` in `pending`, or why there is none (closed, or never
    /// made here). Takes the fields, not `self`, so the caller can still reach the slots.
    fn find_pending<'a>(
        pending: &'a mut VecDeque<Pending>,
        closed: &VecDeque<String>,
        issued_here: bool,
        window_s: f64,
        decision_id: &str,
    ) -> Result<&'a mut Pending, Error> {
        // Newest first: a reward usually follows its decision closely. The closed list is
        // only searched to word the error.
        pending
            .iter_mut()
            .rev()
            .find(|p| p.id == decision_id)
            .ok_or_else(|| {
                let id = crate::event::truncate(decision_id, 64);
                if issued_here || closed.iter().any(|c| c == decision_id) {
                    DecisionError::RewardWindowClosed { id, window_s }.into()
                } else {
                    DecisionError::UnknownDecision { id }.into()
                }
            })
    }

    /// Reports that a decision was shown (with `exposure: "explicit"`, e.g. when its element
    /// scrolled into view): only shown decisions count as trials and learn from their outcome.
    /// A second report of the same decision is ignored. Unknown or closed ids are errors.
    pub fn expose(&mut self, decision_id: &str, now_ms: f64) -> Result<(), Error> {
        check_now(now_ms)?;
        self.expire(now_ms);
        let issued = self.issued_here(decision_id);
        let p = Self::find_pending(
            &mut self.pending,
            &self.closed,
            issued,
            self.config.reward_window_s,
            decision_id,
        )?;
        p.mark_exposed(&mut self.slots, now_ms);
        Ok(())
    }

    /// Versioned, checksummed bytes holding the session, the context, the learned policies,
    /// the caps, the pending decisions and the random state — released by the gate
    /// (`profile::gate`): with `storage` consent a persistent snapshot with the pseudonymous
    /// id; without it a session-scoped one (no id) that `restore` refuses once
    /// `session_ttl_s` has passed since the last activity.
    pub fn snapshot(&self) -> Snapshot {
        let last_activity = self
            .session
            .iter()
            .next_back()
            .map_or(self.clock_ms, |e| e.ts.max(self.clock_ms));
        let out = Outbound::Snapshot {
            state: Box::new(self.state()),
            expires_ms: last_activity + self.config.session_ttl_s * 1000.0,
        };
        match profile::gate(&self.effective, out) {
            Ok(Released::Snapshot { bytes, scope }) => Snapshot { bytes, scope },
            // The gate never refuses or changes the kind of a snapshot.
            _ => Snapshot {
                bytes: Vec::new(),
                scope: Scope::Session,
            },
        }
    }

    /// The profile sync payload (JSON) for the site's server, or a typed refusal when
    /// `profile_sync` is not allowed (GPC always refuses it).
    pub fn sync_payload(&mut self, now_ms: f64) -> Result<String, Refusal> {
        let profile = self.profile(now_ms);
        profile::gate_json(&self.effective, Outbound::Sync(&profile))
    }

    /// Aggregated outcomes (shown / reward per variant, no id, no scores), or a refusal
    /// without `measurement`.
    pub fn measurement_payload(&self, now_ms: f64) -> Result<String, Refusal> {
        let m = profile::Measurement {
            version: profile::PROFILE_VERSION,
            outcomes: self.outcomes(),
            generated_ms: now_ms,
        };
        profile::gate_json(&self.effective, Outbound::Measurement(&m))
    }

    /// [`Engine::measurement_payload`]'s numbers without its JSON, through the same gate:
    /// `[shown, reward]` of every variant, slot by slot in config order (`2 × Σ variants`
    /// numbers). For hosts that know the config's names and ask often (the edge worker, twice
    /// a request).
    pub fn measurement_counts(&self) -> Result<Vec<f64>, Refusal> {
        let mut counts = Vec::with_capacity(self.slots.iter().map(|s| 2 * s.outcomes.len()).sum());
        for o in self.slots.iter().flat_map(|s| &s.outcomes) {
            counts.extend_from_slice(o);
        }
        profile::gate_counts(&self.effective, Outbound::MeasurementCounts(counts))
    }

    /// The compact profile (what a sync sends).
    pub fn profile(&mut self, now_ms: f64) -> Profile {
        let (scores, _) = if check_now(now_ms).is_ok() {
            self.scores(now_ms)
        } else {
            (Vec::new(), Vec::new())
        };
        let scores = self
            .score_names
            .iter()
            .zip(&scores)
            .filter_map(|(n, s)| s.map(|p| (n.clone(), p)))
            .collect();
        let mut counts: BTreeMap<String, f64> = BTreeMap::new();
        let mut total = 0.0;
        for e in self.session.iter() {
            if let Some(name) = e.category.and_then(|c| self.session.categories().name(c)) {
                *counts.entry(name.to_owned()).or_default() += 1.0;
                total += 1.0;
            }
        }
        counts.values_mut().for_each(|v| *v /= total);
        Profile {
            version: profile::PROFILE_VERSION,
            id: self
                .pseudonym
                .clone()
                .filter(|_| self.effective.purposes.storage),
            scores,
            categories: counts,
            outcomes: self.outcomes(),
            consent: self.effective.receipt.clone(),
            generated_ms: now_ms,
        }
    }

    /// Everything this engine holds about the visitor, readable (the GDPR right of access):
    /// the profile, the session's events (item ids and search text exist only as hashes),
    /// the host context, pending decisions, what each slot's policy has learned, the consent
    /// receipt and where the host may keep state.
    pub fn export_profile(&mut self, now_ms: f64) -> serde_json::Value {
        let profile = self.profile(now_ms);
        let cats = self.session.categories();
        let names = self.session.custom_names();
        let events: Vec<serde_json::Value> = self
            .session
            .iter()
            .map(|e| {
                serde_json::json!({
                    "kind": e.kind,
                    "ts": e.ts,
                    "category": e.category.and_then(|c| cats.name(c)),
                    "price": e.price,
                    "item_id": e.item.map(|h| format!("hash:{h:016x}")),
                    "query": e.query.map(|h| format!("hash:{h:016x}")),
                    "name": e.name.and_then(|n| names.name(n)),
                    "value": e.value,
                })
            })
            .collect();
        let pending: Vec<serde_json::Value> = self
            .pending
            .iter()
            .map(|p| {
                serde_json::json!({
                    "decision_id": p.id,
                    "slot": self.slots.get(p.slot).map(|s| s.config.id.as_str()),
                    "variant": self.slots.get(p.slot).and_then(|s| s.config.variants.get(p.arm)).map(|v| v.id.as_str()),
                    "probability": p.probability,
                    "ts": p.ts,
                    "rewarded": p.rewarded,
                    "context": p.context,
                })
            })
            .collect();
        let policies: Vec<serde_json::Value> = self
            .slots
            .iter()
            .map(|s| {
                serde_json::json!({
                    "slot": s.config.id,
                    "policy": s.policy.name(),
                    "state": s.policy,
                })
            })
            .collect();
        serde_json::json!({
            "profile": profile,
            "session": {
                "start_ms": self.session.start_ms(),
                "events_total": self.session.total(),
                "events": events,
            },
            "context": self.ctx,
            "pending_decisions": pending,
            "policies": policies,
            "storage": {
                "scope": profile::scope(&self.effective.purposes).as_str(),
                "keys": self.storage_keys(),
            },
        })
    }

    fn outcomes(&self) -> Vec<SlotOutcome> {
        self.slots
            .iter()
            .map(|s| SlotOutcome {
                slot: s.config.id.clone(),
                variants: s
                    .config
                    .variants
                    .iter()
                    .zip(&s.outcomes)
                    .map(|(v, o)| VariantOutcome {
                        variant: v.id.clone(),
                        shown: o[0],
                        reward: o[1],
                    })
                    .collect(),
            })
            .collect()
    }

    /// The state a snapshot carries (before the gate decides its scope).
    fn state(&self) -> EngineState {
        EngineState {
            session: self.session.to_state(),
            context: self.ctx.clone(),
            slots: self
                .slots
                .iter()
                .map(|s| SlotState {
                    id: s.config.id.clone(),
                    variants: s.config.variants.iter().map(|v| v.id.clone()).collect(),
                    policy: s.policy.clone(),
                    shown: s
                        .shown
                        .iter()
                        .map(|q| q.iter().copied().collect())
                        .collect(),
                    outcomes: s.outcomes.clone(),
                })
                .collect(),
            pending: self
                .pending
                .iter()
                .map(|p| PendingState {
                    id: p.id.clone(),
                    slot: p.slot,
                    arm: p.arm,
                    probability: p.probability,
                    ts: p.ts,
                    learn: p.learn,
                    rewarded: p.rewarded,
                    exposed: p.exposed,
                    context: p.context.clone(),
                })
                .collect(),
            rng: self.rng.clone(),
            seq: self.seq,
            id_prefix: self.id_prefix.clone(),
            holdout: self.holdout,
            scope: Scope::Persistent,
            expires_ms: None,
            pseudonym: self.pseudonym.clone(),
        }
    }

    /// Rebuilds an engine from `snapshot()` bytes with the current config and models. State
    /// that no longer fits the config (a slot whose variants changed) starts fresh and is noted
    /// in [`Engine::restore_notes`]; corrupt bytes are an error.
    pub fn restore(
        bytes: &[u8],
        config: impl Into<std::sync::Arc<EngineConfig>>,
        models: Vec<PropensityModel>,
        now_ms: f64,
    ) -> Result<Engine, Error> {
        // The bytes are checked first: a damaged snapshot is the error, whatever the config.
        let state = snapshot::decode(bytes)?;
        let prepared = Engine::prepare(config, &models)?;
        Engine::restore_state(state, &prepared, models, now_ms)
    }

    /// [`Engine::restore`] with a [`Prepared`] config (and the models it was prepared with).
    pub fn restore_with(
        bytes: &[u8],
        prepared: &Prepared,
        models: Vec<PropensityModel>,
        now_ms: f64,
    ) -> Result<Engine, Error> {
        Engine::restore_state(snapshot::decode(bytes)?, prepared, models, now_ms)
    }

    fn restore_state(
        state: snapshot::EngineState,
        prepared: &Prepared,
        models: Vec<PropensityModel>,
        now_ms: f64,
    ) -> Result<Engine, Error> {
        let config = &prepared.config;
        if state.scope == Scope::Session
            && state.expires_ms.is_none_or(|t| t.is_nan() || now_ms > t)
        {
            // Kept without `storage` consent: valid for its session only.
            let mut e = Engine::with(prepared, models, EngineOptions::default(), now_ms)?;
            e.restore_notes.push(
                "the snapshot was session-only (no storage consent) and its session has ended; starting fresh"
                    .into(),
            );
            return Ok(e);
        }
        let corrupt =
            |message: String| Error::Snapshot(crate::error::SnapshotError::Corrupt { message });
        let session =
            Session::from_state(state.session, config.session.clone()).map_err(corrupt)?;
        validate_context(&state.context).map_err(|m| corrupt(format!("context: {m}")))?;
        if state.id_prefix.len() != 8 || !state.id_prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(corrupt("decision id prefix".into()));
        }
        let mut e = Engine::with(
            prepared,
            models,
            EngineOptions {
                seed: Some(0),
                ..Default::default()
            },
            now_ms,
        )?;
        e.session = session;
        e.watch_features();
        e.ctx = state.context;
        e.rng = state.rng;
        e.seq = state.seq;
        e.id_prefix = state.id_prefix;
        e.holdout = state.holdout;
        if state.scope == Scope::Persistent {
            match state.pseudonym {
                Some(id) if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    e.pseudonym = Some(id)
                }
                Some(_) => return Err(corrupt("pseudonymous id".into())),
                None => {}
            }
        }
        let mut slot_map = vec![None; state.slots.len()];
        for (old_i, st) in state.slots.into_iter().enumerate() {
            let Some(new_i) = e.slots.iter().position(|s| s.config.id == st.id) else {
                e.restore_notes.push(format!(
                    "slot {:?} is no longer configured; its state was dropped",
                    st.id
                ));
                continue;
            };
            let Some(s) = e.slots.get_mut(new_i) else {
                continue;
            };
            let same_variants = s
                .config
                .variants
                .iter()
                .map(|v| &v.id)
                .eq(st.variants.iter());
            if !same_variants
                || !st
                    .policy
                    .fits(&e.config.policy, s.config.variants.len(), e.context_dim)
                || st.shown.len() != s.shown.len()
            {
                e.restore_notes.push(format!(
                    "slot {:?}: variants or policy changed since the snapshot; it starts fresh",
                    st.id
                ));
                continue;
            }
            if st.shown.iter().flatten().any(|t| !t.is_finite()) {
                return Err(corrupt(format!("slot {:?}: exposure times", st.id)));
            }
            if st.outcomes.len() == s.outcomes.len()
                && st
                    .outcomes
                    .iter()
                    .flatten()
                    .all(|v| v.is_finite() && *v >= 0.0)
            {
                s.outcomes = st.outcomes;
            }
            s.policy = st.policy;
            s.shown = st.shown.into_iter().map(VecDeque::from).collect();
            if let Some(m) = slot_map.get_mut(old_i) {
                *m = Some(new_i);
            }
        }
        for p in state.pending.into_iter().take(e.config.max_pending) {
            let Some(Some(slot)) = slot_map.get(p.slot).copied() else {
                continue;
            };
            let arms = e
                .slots
                .get(slot)
                .map(|s| s.config.variants.len())
                .unwrap_or(0);
            if p.arm >= arms
                || !(p.probability.is_finite() && p.probability > 0.0 && p.probability <= 1.0)
                || !p.ts.is_finite()
                || p.context.len() > e.context_dim
                || p.context.iter().any(|v| !v.is_finite())
            {
                return Err(corrupt(format!("pending decision {:?}", p.id)));
            }
            e.pending.push_back(Pending {
                id: p.id,
                slot,
                arm: p.arm,
                probability: p.probability,
                ts: p.ts,
                learn: p.learn,
                rewarded: p.rewarded,
                exposed: p.exposed,
                context: p.context,
            });
        }
        e.expire(now_ms);
        Ok(e)
    }
}

impl TrackReport {
    /// The report of a batch from each event's outcome, in order.
    fn of(outcomes: impl Iterator<Item = Result<(), EventError>>) -> TrackReport {
        let mut report = TrackReport {
            accepted: 0,
            rejected: Vec::new(),
            rejected_count: 0,
        };
        for (index, outcome) in outcomes.enumerate() {
            match outcome {
                Ok(()) => report.accepted += 1,
                Err(err) => report.reject(index, &err),
            }
        }
        report
    }

    fn reject(&mut self, index: usize, err: &EventError) {
        self.rejected_count += 1;
        if self.rejected.len() < 100 {
            self.rejected.push(Rejected {
                index,
                code: err.code().to_owned(),
                message: err.to_string(),
            });
        }
    }
}
