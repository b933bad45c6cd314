//! Persisted engine state: versioned and checksummed, so a host can keep it in localStorage,
//! a cookie or KV and get a clear error — never a wrong engine — when it comes back damaged.
//!
//! Layout (little-endian):
//!
//! | bytes | content |
//! |---|---|
//! | 0..8 | magic `EDGEWISE` |
//! | 8..10 | format version (`u16`, currently 2) |
//! | 10..14 | payload length (`u32`) |
//! | 14..18 | CRC-32 (IEEE) of the payload (`u32`) |
//! | 18.. | payload: the [`EngineState`] — format 2: [`crate::compact`]; format 1: JSON |
//!
//! Snapshots are written in format 2 and read in either, so state saved by an older runtime
//! (format 1, JSON) still restores. Format 2 holds the same fields in about a third of the
//! bytes and decodes without parsing numbers from text: the edge worker keeps it in a cookie
//! without compressing it. The checksum detects corruption and truncation; it is not a
//! signature (the edge worker signs what it stores in cookies).

use serde::{Deserialize, Serialize};

use crate::bandit::SlotPolicy;
use crate::error::SnapshotError;
use crate::event::SessionState;
use crate::features::Context;
use crate::rng::Rng;

pub const MAGIC: &[u8; 8] = b"EDGEWISE";
pub const FORMAT_VERSION: u16 = 2;
/// The JSON format of earlier runtimes, still read.
pub const FORMAT_JSON: u16 = 1;
const HEADER: usize = 18;

/// Format 2's preset string table ([`crate::compact`]): the field names, variant ids and
/// common values a snapshot writes, so each costs one byte. Append-only within a format:
/// changing or reordering an entry changes what old snapshots mean (that needs format 3).
pub const DICTIONARY: &[&str] = &[
    // EngineState
    "session",
    "context",
    "slots",
    "pending",
    "rng",
    "seq",
    "id_prefix",
    "holdout",
    "scope",
    "expires_ms",
    "pseudonym",
    // SessionState, SessionLimits
    "limits",
    "start_ms",
    "events",
    "categories",
    "custom_names",
    "total",
    "capacity",
    "max_categories",
    "max_custom_names",
    "max_string_len",
    "max_future_skew_ms",
    // Event and its kinds
    "kind",
    "ts",
    "category",
    "price",
    "item",
    "query",
    "name",
    "value",
    "page_view",
    "product_view",
    "search",
    "add_to_cart",
    "remove_from_cart",
    "checkout_start",
    "purchase",
    "click",
    "scroll",
    "dwell",
    "custom",
    // SlotState, PendingState, Rng, Scope
    "id",
    "variants",
    "policy",
    "shown",
    "outcomes",
    "slot",
    "arm",
    "probability",
    "learn",
    "rewarded",
    "exposed",
    "s",
    "persistent",
    // policies (bandit::SlotPolicy) and their state
    "uniform",
    "epsilon_greedy",
    "thompson",
    "lin_ucb",
    "lin_ts",
    "regression",
    "epsilon",
    "n",
    "sum",
    "alpha",
    "beta",
    "draws",
    "ridge",
    "v",
    "explore",
    "t",
    "dim",
    "lambda",
    "a_inv",
    "theta",
    "square_cb",
    "gamma_scale",
    "gamma_exponent",
    // the context the edge worker and the demo set
    "device",
    "hour_of_day",
    "referrer",
    "country",
    "mobile",
    "tablet",
    "desktop",
    "direct",
    "internal",
    "social",
    "other",
];
/// Largest snapshot accepted (a full 65,536-event session is well below).
pub const MAX_SNAPSHOT_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineState {
    pub session: SessionState,
    pub context: Context,
    pub slots: Vec<SlotState>,
    pub pending: Vec<PendingState>,
    pub rng: Rng,
    pub seq: u64,
    pub id_prefix: String,
    pub holdout: bool,
    /// Where this snapshot may be kept (set by the gate in `profile.rs`).
    #[serde(default)]
    pub scope: crate::profile::Scope,
    /// A session-scoped snapshot is refused by `restore` after this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<f64>,
    /// The pseudonymous visitor id; only in persistent snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pseudonym: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotState {
    pub id: String,
    /// Variant ids at snapshot time (state is kept only if they still match).
    pub variants: Vec<String>,
    pub policy: SlotPolicy,
    pub shown: Vec<Vec<f64>>,
    /// Per variant `[times shown, total reward]` (the profile's bandit outcomes).
    #[serde(default)]
    pub outcomes: Vec<[f64; 2]>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingState {
    pub id: String,
    pub slot: usize,
    pub arm: usize,
    pub probability: f64,
    pub ts: f64,
    pub learn: bool,
    pub rewarded: bool,
    /// Shown to the visitor (always true unless the config's `exposure` is `"explicit"`).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub exposed: bool,
    /// A contextual policy's input at decision time (absent in older snapshots).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context: Vec<f32>,
}

fn yes() -> bool {
    true
}
fn is_true(b: &bool) -> bool {
    *b
}

/// [`DICTIONARY`] with its lookup table, built on first use.
fn dictionary() -> &'static crate::compact::Dictionary {
    static D: std::sync::OnceLock<crate::compact::Dictionary> = std::sync::OnceLock::new();
    D.get_or_init(|| crate::compact::Dictionary::new(DICTIONARY))
}

pub fn encode(state: &EngineState) -> Vec<u8> {
    // Serializing plain data cannot fail (lengths are known); an empty payload would be
    // rejected by `decode` rather than silently accepted.
    let payload = crate::compact::to_vec(state, dictionary()).unwrap_or_default();
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_le_bytes)
}

pub fn decode(bytes: &[u8]) -> Result<EngineState, SnapshotError> {
    if bytes.len() < HEADER || bytes.get(..8) != Some(MAGIC.as_slice()) {
        return Err(SnapshotError::NotASnapshot);
    }
    if bytes.len() > MAX_SNAPSHOT_BYTES {
        return Err(SnapshotError::Corrupt {
            message: format!("{} bytes is larger than any snapshot", bytes.len()),
        });
    }
    let version = bytes
        .get(8..10)
        .and_then(|s| s.try_into().ok())
        .map(u16::from_le_bytes)
        .unwrap_or(0);
    if version != FORMAT_VERSION && version != FORMAT_JSON {
        return Err(SnapshotError::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let len = u32_at(bytes, 10).unwrap_or(0) as usize;
    let crc = u32_at(bytes, 14).unwrap_or(0);
    let payload = bytes.get(HEADER..).unwrap_or(&[]);
    if payload.len() != len {
        return Err(SnapshotError::Truncated {
            expected: len,
            found: payload.len(),
        });
    }
    if crc32fast::hash(payload) != crc {
        return Err(SnapshotError::Checksum);
    }
    if version == FORMAT_JSON {
        // Re-encoded, then read like format 2: the state types' decoders exist once.
        let mut json = serde_json::Deserializer::from_slice(payload);
        let bytes = crate::compact::transcode(&mut json, dictionary())
            .and_then(|b| json.end().map(|()| b))
            .map_err(|e| SnapshotError::Corrupt {
                message: crate::error::json_error(&e),
            })?;
        return crate::compact::from_slice(&bytes, dictionary()).map_err(|e| {
            SnapshotError::Corrupt {
                message: format!("format 1 (JSON) state: {}", e.without_position()),
            }
        });
    }
    crate::compact::from_slice(payload, dictionary()).map_err(|e| SnapshotError::Corrupt {
        message: e.to_string(),
    })
}
