//! The visitor's profile, and **the gate**: the one function through which any byte leaves the
//! engine — a snapshot for the host to store, a profile sync payload for the site's server, or
//! an aggregated measurement payload. [`gate`] decides from the effective consent
//! ([`crate::consent::Effective`]) what may go out, and in what scope; the engine's
//! `snapshot`, `sync_payload` and `measurement_payload` are thin callers of it, and the engine
//! has no other way to hand out its state.
//!
//! | what | needs | without it |
//! |---|---|---|
//! | snapshot, `scope: "persistent"` (host keeps it in `localStorage`) | `storage` | a `scope: "session"` snapshot: no pseudonymous id, expires `session_ttl_s` after the last activity; `restore` refuses it after that |
//! | profile sync payload | `profile_sync` (GPC always blocks it) | a typed [`Refusal`] naming the missing purpose and the sources that denied it |
//! | measurement payload (aggregated outcomes, no id) | `measurement` | a [`Refusal`] |
//!
//! The profile is data-minimized by construction: model scores (segment / intent), category
//! affinities (shares of this session's category events, by category name), and per-variant
//! bandit outcomes (shown, total reward). No raw events, no item ids, no search text (the
//! session keeps queries and item ids only as 64-bit hashes, and the profile not even those).
//! It carries a version, the consent receipt (which purposes, which source, when) and the
//! pseudonymous id, which exists only while `storage` is allowed.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::consent::{Effective, Receipt, Source};
use crate::snapshot::{self, EngineState};

/// Version of the profile / sync payload format.
pub const PROFILE_VERSION: u32 = 1;

/// Where a snapshot may be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Beyond the session (`storage` allowed): `localStorage`, a KV store.
    #[default]
    Persistent,
    /// This session only (`sessionStorage`); it carries an expiry.
    Session,
}

impl Scope {
    /// `"persistent"` or `"session"`, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Persistent => "persistent",
            Scope::Session => "session",
        }
    }
}

/// Per variant of a slot: how often it was shown and the rewards it earned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantOutcome {
    pub variant: String,
    pub shown: f64,
    pub reward: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlotOutcome {
    pub slot: String,
    pub variants: Vec<VariantOutcome>,
}

/// The compact profile: what a sync sends and what `export_profile` starts with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    pub version: u32,
    /// Pseudonymous id; `null` unless `storage` is allowed.
    pub id: Option<String>,
    /// Latest propensity scores, by score name (segment / intent).
    pub scores: BTreeMap<String, f32>,
    /// Share of this session's category events per category.
    pub categories: BTreeMap<String, f64>,
    pub outcomes: Vec<SlotOutcome>,
    pub consent: Receipt,
    pub generated_ms: f64,
}

/// Aggregated outcomes for measurement: no id, no scores, no categories.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measurement {
    pub version: u32,
    pub outcomes: Vec<SlotOutcome>,
    pub generated_ms: f64,
}

/// Why the gate refused: `code` is stable (`sync_refused`, `measurement_refused`), `missing`
/// names the purpose, `denied_by` the sources that denied it (`default` when none spoke).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Refusal {
    pub code: &'static str,
    pub missing: &'static str,
    pub denied_by: Vec<Source>,
    pub message: String,
}

/// What the engine wants to let out.
pub enum Outbound<'a> {
    /// Engine state; `expires_ms` is when a session-scoped copy stops being valid.
    Snapshot {
        state: Box<EngineState>,
        expires_ms: f64,
    },
    Sync(&'a Profile),
    Measurement(&'a Measurement),
    /// The numbers of a [`Measurement`] without its text: `[shown, reward]` of every variant,
    /// slot by slot in config order (for a host that already knows the names, like the edge
    /// worker). The same purpose and refusal as `Measurement`.
    MeasurementCounts(Vec<f64>),
}

/// What the gate let out.
#[derive(Debug, Clone, PartialEq)]
pub enum Released {
    Snapshot { bytes: Vec<u8>, scope: Scope },
    Json(String),
    Counts(Vec<f64>),
}

/// Where a snapshot may be kept under these purposes.
pub fn scope(p: &crate::consent::Purposes) -> Scope {
    if p.storage {
        Scope::Persistent
    } else {
        Scope::Session
    }
}

/// The gate. Every byte the engine hands out passes here.
pub fn gate(effective: &Effective, out: Outbound<'_>) -> Result<Released, Refusal> {
    let p = &effective.purposes;
    // Both measurement outputs (the JSON and the bare counts) need the same purpose.
    let measurement = || {
        permit(
            p.measurement,
            ("measurement_refused", "measurement"),
            &effective.receipt.measurement.denied_by,
        )
    };
    match out {
        Outbound::Snapshot {
            mut state,
            expires_ms,
        } => {
            let scope = scope(p);
            state.scope = scope;
            if scope == Scope::Persistent {
                state.expires_ms = None;
            } else {
                // What may be kept for the session: no id that outlives it, and an expiry.
                state.pseudonym = None;
                state.expires_ms = Some(expires_ms);
            }
            Ok(Released::Snapshot {
                bytes: snapshot::encode(&state),
                scope,
            })
        }
        Outbound::Sync(profile) => send(
            p.profile_sync,
            ("sync_refused", "profile_sync"),
            &effective.receipt.profile_sync.denied_by,
            profile,
        ),
        Outbound::Measurement(m) => {
            measurement()?;
            json(m)
        }
        Outbound::MeasurementCounts(counts) => {
            measurement()?;
            Ok(Released::Counts(counts))
        }
    }
}

/// JSON of `v` if `allowed`, else a refusal `(code, purpose)` naming who denied it.
fn send<T: Serialize>(
    allowed: bool,
    refused: (&'static str, &'static str),
    denied_by: &[Source],
    v: &T,
) -> Result<Released, Refusal> {
    permit(allowed, refused, denied_by)?;
    json(v)
}

/// `Ok` if `allowed`, else the refusal `(code, purpose)` naming who denied it.
fn permit(
    allowed: bool,
    (code, missing): (&'static str, &'static str),
    denied_by: &[Source],
) -> Result<(), Refusal> {
    if allowed {
        Ok(())
    } else {
        Err(refusal(code, missing, denied_by))
    }
}

/// [`gate`] for the JSON outputs (sync, measurement): the payload text or the refusal.
pub fn gate_json(effective: &Effective, out: Outbound<'_>) -> Result<String, Refusal> {
    match gate(effective, out)? {
        Released::Json(s) => Ok(s),
        Released::Snapshot { .. } | Released::Counts(_) => Err(internal(
            "the gate released something else for a JSON output".into(),
        )),
    }
}

/// [`gate`] for the measurement counts: the numbers or the refusal.
pub fn gate_counts(effective: &Effective, out: Outbound<'_>) -> Result<Vec<f64>, Refusal> {
    match gate(effective, out)? {
        Released::Counts(c) => Ok(c),
        Released::Snapshot { .. } | Released::Json(_) => Err(internal(
            "the gate released something else for measurement counts".into(),
        )),
    }
}

fn json<T: Serialize>(v: &T) -> Result<Released, Refusal> {
    serde_json::to_string(v)
        .map(Released::Json)
        .map_err(|e| internal(format!("could not serialize: {e}")))
}

fn internal(message: String) -> Refusal {
    Refusal {
        code: "internal",
        missing: "",
        denied_by: Vec::new(),
        message,
    }
}

fn refusal(code: &'static str, missing: &'static str, denied_by: &[Source]) -> Refusal {
    let denied_by = if denied_by.is_empty() {
        vec![Source::Default]
    } else {
        denied_by.to_vec()
    };
    let names: Vec<&str> = denied_by.iter().map(|s| s.name()).collect();
    Refusal {
        code,
        missing,
        message: format!(
            "`{missing}` is not allowed (denied by: {}); nothing was produced",
            names.join(", ")
        ),
        denied_by,
    }
}
