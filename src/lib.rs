//! # edgewise
//!
//! An on-device personalization runtime. From the events of the current session it scores the
//! visitor with small ONNX propensity models, lets a local bandit policy choose which copy,
//! layout or offer to show, learns from the outcome, and persists its state only as bytes the
//! host stores. The core does no I/O: the host passes the clock, the models and the config, and
//! stores what [`Engine::snapshot`] returns.
//!
//! ```text
//! EventInput ─► Session ─► FeatureSpec ─► PropensityModel ─► scores
//!                                                  │
//!              slot ─► eligibility rules + caps ─► Policy ─► Decision {variant, probability, source, reasons}
//!                                                  ▲
//!                       reward(decision_id, value) ┘
//! ```
//!
//! | module | owns |
//! |---|---|
//! | [`event`] | event kinds, validation, the bounded [`Session`] |
//! | [`features`] | [`FeatureSpec`]: session → model input vector, documented formulas |
//! | [`model`] | [`PropensityModel`]: ONNX + manifest → tract plan → probability |
//! | [`rules`] | eligibility rule language |
//! | [`bandit`] | the [`bandit::Policy`] trait, uniform, epsilon-greedy, exploration floor |
//! | [`decision`] | [`Engine`]: slots, variants, caps, holdout, `decide`, `reward` |
//! | [`consent`] | consent purposes |
//! | [`snapshot`] | versioned, checksummed persisted state |
//! | [`error`] | one error type per concern, each with a stable code |
//! | `wasm` | the wasm-bindgen binding (wasm32 only) |
//!
//! ```
//! use edgewise::{Engine, EngineOptions, EventInput};
//! let config = r#"{"version": 1, "consent_default": {"personalization": true},
//!   "slots": [{"id": "hero", "default": "a", "variants": [
//!     {"id": "a", "kind": "copy", "content": "Welcome"},
//!     {"id": "b", "kind": "copy", "content": "Only today: free shipping"}]}]}"#;
//! let now = 1_700_000_000_000.0;
//! let mut engine = Engine::from_json(config, &[], EngineOptions { seed: Some(1), ..Default::default() }, now)?;
//! engine.track(&EventInput::new("page_view", now), now)?;
//! let d = engine.decide("hero", now)?;
//! assert!(d.variant_id == "a" || d.variant_id == "b");
//! engine.reward(&d.decision_id, 1.0, now + 5_000.0)?;
//! # Ok::<(), edgewise::Error>(())
//! ```

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod bandit;
pub mod compact;
pub mod consent;
pub mod decision;
pub mod error;
pub mod eval;
pub mod event;
pub mod features;
pub mod model;
#[cfg(feature = "onnx")]
pub mod onnx_import;
#[cfg(feature = "onnx")]
pub mod onnx_pb;
pub mod profile;
pub mod program;
pub mod rng;
pub mod rules;
pub mod sim;
pub mod snapshot;
pub mod tcf;
pub(crate) mod text;
pub mod window;

#[cfg(target_arch = "wasm32")]
mod wasm;

pub use consent::Purposes;
pub use decision::{
    Choice, Decision, Engine, EngineConfig, EngineOptions, Prepared, Source, TrackReport,
};
pub use error::Error;
pub use event::{Event, EventInput, EventKind, Session, SessionLimits};
pub use features::{Context, ContextValue, FeatureSpec};
pub use model::{ModelManifest, OutputKind, PropensityModel};
