//! Persisted engine state: versioned and checksummed, so a host can keep it in localStorage,
//! a cookie or KV and get a clear error — never a wrong engine — when it comes back damaged.
//!
//! Layout (little-endian):
//!
//! | bytes | content |
//! |---|---|
//! | 0..8 | magic `EDGEWISE` |
//! | 8..10 | format version (`u16`, currently 1) |
//! | 10..14 | payload length (`u32`) |
//! | 14..18 | CRC-32 (IEEE) of the payload (`u32`) |
//! | 18.. | payload: the [`EngineState`] as JSON |
//!
//! The checksum detects corruption and truncation; it is not a signature (the edge worker signs
//! what it stores in cookies).

use serde::{Deserialize, Serialize};

use crate::bandit::SlotPolicy;
use crate::error::SnapshotError;
use crate::event::SessionState;
use crate::features::Context;
use crate::rng::Rng;

pub const MAGIC: &[u8; 8] = b"EDGEWISE";
pub const FORMAT_VERSION: u16 = 1;
const HEADER: usize = 18;
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

pub fn encode(state: &EngineState) -> Vec<u8> {
    // Serializing plain data with string keys cannot fail; an empty payload would be rejected
    // by `decode` rather than silently accepted.
    let payload = serde_json::to_vec(state).unwrap_or_default();
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
    if version != FORMAT_VERSION {
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
    serde_json::from_slice(payload).map_err(|e| SnapshotError::Corrupt {
        message: crate::error::json_error(&e),
    })
}
