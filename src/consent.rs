//! Consent purposes. This is the minimal form the decision engine needs today: which purposes
//! the visitor allowed. TCF v2.2 decoding, GPC and Consent Mode, and the gate every store and
//! sync goes through, build on it.
//!
//! Without `personalization` the engine shows every slot's default (`source: "no_consent"`)
//! and learns nothing from that visitor.

use serde::{Deserialize, Serialize};

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
