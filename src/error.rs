//! Errors: one enum per concern, each variant with a stable machine-readable `code()` and a
//! message that says what to fix. The top-level [`Error`] wraps them; the wasm binding turns it
//! into a JS `Error` whose `code` property is [`Error::code`].
//!
//! Codes are part of the public API: hosts branch on them. Never rename one.

use std::fmt;

/// Bad session event (from `track`).
#[derive(Debug, Clone, PartialEq)]
pub enum EventError {
    UnknownKind {
        kind: String,
    },
    InvalidTimestamp {
        ts: f64,
    },
    BeforeSessionStart {
        ts: f64,
        start: f64,
    },
    InFuture {
        ts: f64,
        now: f64,
        max_skew_ms: f64,
    },
    InvalidPrice {
        price: f64,
    },
    MissingValue {
        kind: &'static str,
        what: &'static str,
    },
    InvalidValue {
        kind: &'static str,
        value: f64,
        expected: &'static str,
    },
    UnexpectedField {
        kind: &'static str,
        field: &'static str,
    },
    StringTooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    EmptyString {
        field: &'static str,
    },
    TooManyCategories {
        max: usize,
    },
    TooManyNames {
        max: usize,
    },
    Malformed {
        message: String,
    },
}

impl EventError {
    pub fn code(&self) -> &'static str {
        match self {
            EventError::UnknownKind { .. } => "event_unknown_kind",
            EventError::InvalidTimestamp { .. } => "event_invalid_timestamp",
            EventError::BeforeSessionStart { .. } => "event_before_session_start",
            EventError::InFuture { .. } => "event_in_future",
            EventError::InvalidPrice { .. } => "event_invalid_price",
            EventError::MissingValue { .. } => "event_missing_field",
            EventError::InvalidValue { .. } => "event_invalid_value",
            EventError::UnexpectedField { .. } => "event_unexpected_field",
            EventError::StringTooLong { .. } => "event_string_too_long",
            EventError::EmptyString { .. } => "event_empty_string",
            EventError::TooManyCategories { .. } => "event_too_many_categories",
            EventError::TooManyNames { .. } => "event_too_many_names",
            EventError::Malformed { .. } => "event_malformed",
        }
    }
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventError::UnknownKind { kind } => write!(
                f,
                "unknown event kind {kind:?}; use one of page_view, product_view, search, add_to_cart, \
                 remove_from_cart, checkout_start, purchase, click, scroll, dwell, custom"
            ),
            EventError::InvalidTimestamp { ts } => write!(
                f,
                "event timestamp {ts} is not a finite, positive number of milliseconds since the epoch"
            ),
            EventError::BeforeSessionStart { ts, start } => write!(
                f,
                "event timestamp {ts} is before the session start {start}; send events with ts in ms since the epoch (Date.now())"
            ),
            EventError::InFuture { ts, now, max_skew_ms } => write!(
                f,
                "event timestamp {ts} is more than {max_skew_ms} ms ahead of the clock ({now}); check the host clock or the ts unit (ms, not µs)"
            ),
            EventError::InvalidPrice { price } => write!(
                f,
                "price {price} is invalid; it must be a finite number between 0 and 1e9"
            ),
            EventError::MissingValue { kind, what } => write!(f, "a {kind} event needs {what}"),
            EventError::InvalidValue { kind, value, expected } => {
                write!(f, "{kind} event value {value} is invalid; expected {expected}")
            }
            EventError::UnexpectedField { kind, field } => write!(
                f,
                "a {kind} event does not take `{field}` (value is for scroll, dwell and custom events; use price for money)"
            ),
            EventError::StringTooLong { field, len, max } => write!(
                f,
                "event field `{field}` is {len} bytes long; the limit is {max} (session.max_string_len)"
            ),
            EventError::EmptyString { field } => {
                write!(f, "event field `{field}` is empty; omit it instead")
            }
            EventError::TooManyCategories { max } => write!(
                f,
                "this session already saw {max} distinct categories (session.max_categories); send category ids from a bounded set"
            ),
            EventError::TooManyNames { max } => write!(
                f,
                "this session already saw {max} distinct custom event names (session.max_custom_names)"
            ),
            EventError::Malformed { message } => write!(f, "malformed event: {message}"),
        }
    }
}

/// Bad feature spec (in a model manifest).
#[derive(Debug, Clone, PartialEq)]
pub enum SpecError {
    Invalid { message: String },
}

impl SpecError {
    pub fn code(&self) -> &'static str {
        "feature_spec_invalid"
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecError::Invalid { message } => write!(f, "invalid feature spec: {message}"),
        }
    }
}

/// Model loading or inference failure.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelError {
    Manifest {
        message: String,
    },
    TooLarge {
        len: usize,
        max: usize,
    },
    Parse {
        model: String,
        message: String,
    },
    Inputs {
        model: String,
        message: String,
    },
    WidthMismatch {
        model: String,
        declared: usize,
        spec: usize,
    },
    Outputs {
        model: String,
        message: String,
    },
    Incompatible {
        model: String,
        message: String,
    },
    Inference {
        model: String,
        message: String,
    },
    BadOutput {
        model: String,
        value: f32,
    },
    DuplicateScore {
        score: String,
    },
    /// An operator neither the edgewise compiler nor tract can run.
    UnsupportedOperator {
        model: String,
        op: String,
        node: String,
        message: String,
    },
    /// ONNX bytes given to the lite build, or a compiled file that is not one.
    Format {
        model: String,
        message: String,
    },
}

impl ModelError {
    pub fn code(&self) -> &'static str {
        match self {
            ModelError::Manifest { .. } => "model_manifest_invalid",
            ModelError::TooLarge { .. } => "model_too_large",
            ModelError::Parse { .. } => "model_parse_failed",
            ModelError::Inputs { .. } => "model_inputs_unsupported",
            ModelError::WidthMismatch { .. } => "model_width_mismatch",
            ModelError::Outputs { .. } => "model_outputs_unsupported",
            ModelError::Incompatible { .. } => "model_incompatible",
            ModelError::Inference { .. } => "model_inference_failed",
            ModelError::BadOutput { .. } => "model_bad_output",
            ModelError::DuplicateScore { .. } => "model_duplicate_score",
            ModelError::UnsupportedOperator { .. } => "model_unsupported_operator",
            ModelError::Format { .. } => "model_format_unsupported",
        }
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::Manifest { message } => write!(f, "invalid model manifest: {message}"),
            ModelError::TooLarge { len, max } => write!(
                f,
                "model is {len} bytes; the limit is {max}. Propensity models should be small (prune or quantize it)"
            ),
            ModelError::Parse { model, message } => write!(
                f,
                "model {model:?}: the bytes are not a readable ONNX model ({message}); check the file is the .onnx, not the manifest or an HTML error page"
            ),
            ModelError::Inputs { model, message } => write!(f, "model {model:?}: {message}"),
            ModelError::WidthMismatch { model, declared, spec } => write!(
                f,
                "model {model:?} declares {declared} inputs but its manifest's feature spec produces {spec}; re-export the model with the spec it was trained on"
            ),
            ModelError::Outputs { model, message } => write!(f, "model {model:?}: {message}"),
            ModelError::Incompatible { model, message } => write!(
                f,
                "model {model:?} could not be prepared for inference: {message}"
            ),
            ModelError::Inference { model, message } => {
                write!(f, "model {model:?} failed at inference: {message}")
            }
            ModelError::BadOutput { model, value } => write!(
                f,
                "model {model:?} produced {value}, which is not a probability; set output_kind to \"logit\" if the model outputs raw scores"
            ),
            ModelError::DuplicateScore { score } => write!(
                f,
                "two models report the score {score:?}; give each model manifest a distinct `score`"
            ),
            ModelError::UnsupportedOperator {
                model,
                op,
                node,
                message,
            } => write!(
                f,
                "model {model:?}: operator {op} (node {node:?}) cannot be run: {message}"
            ),
            ModelError::Format { model, message } => write!(f, "model {model:?}: {message}"),
        }
    }
}

/// Bad engine configuration.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigError {
    Json {
        message: String,
    },
    Invalid {
        message: String,
    },
    Rule {
        slot: String,
        variant: String,
        message: String,
    },
}

impl ConfigError {
    pub fn code(&self) -> &'static str {
        match self {
            ConfigError::Json { .. } => "config_malformed",
            ConfigError::Invalid { .. } => "config_invalid",
            ConfigError::Rule { .. } => "config_rule_invalid",
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Json { message } => write!(f, "engine config is not valid: {message}"),
            ConfigError::Invalid { message } => write!(f, "engine config: {message}"),
            ConfigError::Rule {
                slot,
                variant,
                message,
            } => write!(
                f,
                "engine config: eligibility rule of variant {variant:?} in slot {slot:?}: {message}"
            ),
        }
    }
}

/// A call that does not fit the engine's state.
#[derive(Debug, Clone, PartialEq)]
pub enum DecisionError {
    UnknownSlot { slot: String },
    UnknownDecision { id: String },
    AlreadyRewarded { id: String },
    RewardWindowClosed { id: String, window_s: f64 },
    InvalidReward { value: f64 },
    InvalidContext { message: String },
    InvalidClock { now: f64 },
}

impl DecisionError {
    pub fn code(&self) -> &'static str {
        match self {
            DecisionError::UnknownSlot { .. } => "unknown_slot",
            DecisionError::UnknownDecision { .. } => "unknown_decision",
            DecisionError::AlreadyRewarded { .. } => "already_rewarded",
            DecisionError::RewardWindowClosed { .. } => "reward_window_closed",
            DecisionError::InvalidReward { .. } => "invalid_reward",
            DecisionError::InvalidContext { .. } => "invalid_context",
            DecisionError::InvalidClock { .. } => "invalid_clock",
        }
    }
}

impl fmt::Display for DecisionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecisionError::UnknownSlot { slot } => {
                write!(f, "no slot {slot:?} in the engine config; add it under `slots`")
            }
            DecisionError::UnknownDecision { id } => write!(
                f,
                "no decision {id:?} is waiting for a reward; pass the decision_id returned by decide()"
            ),
            DecisionError::AlreadyRewarded { id } => write!(
                f,
                "decision {id:?} was already rewarded; each decision takes one reward"
            ),
            DecisionError::RewardWindowClosed { id, window_s } => write!(
                f,
                "decision {id:?} is older than the reward window ({window_s} s) and was counted as reward 0"
            ),
            DecisionError::InvalidReward { value } => {
                write!(f, "reward {value} is invalid; it must be a finite number in [0, 1]")
            }
            DecisionError::InvalidContext { message } => write!(f, "invalid context: {message}"),
            DecisionError::InvalidClock { now } => write!(
                f,
                "clock value {now} is not a finite, positive number of ms since the epoch"
            ),
        }
    }
}

/// Snapshot (persisted state) that cannot be restored.
#[derive(Debug, Clone, PartialEq)]
pub enum SnapshotError {
    NotASnapshot,
    UnsupportedVersion { found: u16, supported: u16 },
    Truncated { expected: usize, found: usize },
    Checksum,
    Corrupt { message: String },
}

impl SnapshotError {
    pub fn code(&self) -> &'static str {
        match self {
            SnapshotError::NotASnapshot => "snapshot_not_recognized",
            SnapshotError::UnsupportedVersion { .. } => "snapshot_unsupported_version",
            SnapshotError::Truncated { .. } => "snapshot_truncated",
            SnapshotError::Checksum => "snapshot_checksum_mismatch",
            SnapshotError::Corrupt { .. } => "snapshot_corrupt",
        }
    }
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::NotASnapshot => write!(
                f,
                "these bytes are not an edgewise snapshot (bad magic); pass what snapshot() returned"
            ),
            SnapshotError::UnsupportedVersion { found, supported } => write!(
                f,
                "snapshot format {found} is not supported by this runtime (it reads formats 1 to {supported}); start fresh"
            ),
            SnapshotError::Truncated { expected, found } => write!(
                f,
                "snapshot is truncated: header says {expected} bytes of state, {found} present"
            ),
            SnapshotError::Checksum => write!(
                f,
                "snapshot checksum mismatch: the stored state was corrupted or modified; start fresh"
            ),
            SnapshotError::Corrupt { message } => write!(f, "snapshot is corrupt: {message}"),
        }
    }
}

/// Any edgewise error.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    Event(EventError),
    Spec(SpecError),
    Model(ModelError),
    Config(ConfigError),
    Decision(DecisionError),
    Snapshot(SnapshotError),
    /// A consent signal or the consent config was rejected (`consent_*`).
    Consent(crate::consent::ConsentError),
}

impl Error {
    /// Stable machine-readable code (the JS `Error.code`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Event(e) => e.code(),
            Error::Spec(e) => e.code(),
            Error::Model(e) => e.code(),
            Error::Config(e) => e.code(),
            Error::Decision(e) => e.code(),
            Error::Snapshot(e) => e.code(),
            Error::Consent(e) => e.code(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Event(e) => e.fmt(f),
            Error::Spec(e) => e.fmt(f),
            Error::Model(e) => e.fmt(f),
            Error::Config(e) => e.fmt(f),
            Error::Decision(e) => e.fmt(f),
            Error::Snapshot(e) => e.fmt(f),
            Error::Consent(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

macro_rules! wrap {
    ($($variant:ident($t:ident)),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::$variant(e)
            }
        }
    )*};
}

wrap!(
    Event(EventError),
    Spec(SpecError),
    Model(ModelError),
    Config(ConfigError),
    Decision(DecisionError),
    Snapshot(SnapshotError)
);

impl From<crate::consent::ConsentError> for Error {
    fn from(e: crate::consent::ConsentError) -> Self {
        Error::Consent(e)
    }
}

impl From<SpecError> for ModelError {
    fn from(e: SpecError) -> Self {
        ModelError::Manifest {
            message: e.to_string(),
        }
    }
}

/// A serde_json error as text for a message that goes back to the caller. serde quotes an
/// unknown key or variant whole, which from hostile input is a megabyte: long messages are cut,
/// their position kept.
pub(crate) fn json_error(e: &serde_json::Error) -> String {
    let m = e.to_string();
    if m.len() <= 400 {
        return m;
    }
    format!(
        "{} at line {} column {}",
        crate::event::truncate(&m, 300),
        e.line(),
        e.column()
    )
}
