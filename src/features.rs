//! [`FeatureSpec`]: the declarative recipe, shipped in each model manifest, that turns a
//! [`Session`] (plus host context and the clock) into the model's `f32` input vector.
//!
//! The training pipeline computes the same vector from logged sessions, so every formula is
//! written down here and nothing has a hidden default. All arithmetic is in `f64`; the result is
//! rounded to `f32` once, at the end. "Window" means the events the session currently holds
//! (its last `session.capacity` events). `now` is the decision time in ms since the epoch.
//!
//! | kind | columns | value |
//! |---|---|---|
//! | `count` | 1 | number of window events of kind `event` |
//! | `recency_count` | 1 | Σ over window events of kind `event` of `0.5^(age_s / half_life_s)`, `age_s = max(0, now − ts) / 1000` |
//! | `dwell` | 1 | `stat` over the `value` of `dwell` events (seconds) |
//! | `scroll` | 1 | `stat` over the `value` of `scroll` events (depth 0..1) |
//! | `price` | 1 | `stat` over the `price` of window events whose kind is in `events` and that carry a price |
//! | `custom` | 1 | `stat` over the `value` of `custom` events named `custom` |
//! | `category` | `len(vocabulary)` | per vocabulary entry, over window events whose kind is in `events` and that carry a category: `count` = events in that category; `share` = that count / events with any category (0 when none); `top1` = 1 for the entry with the largest count (ties: the earlier entry; all 0 when every count is 0) |
//! | `session_age` | 1 | `max(0, now − session_start) / 1000` |
//! | `context_one_hot` | `len(values)` | 1 in the column whose value equals the context's string `key`, else 0 (all 0 when missing or not listed) |
//! | `context_number` | 1 | the context's number `key`, or `missing` when absent |
//!
//! `stat` is one of `count` (n), `sum`, `mean` (sum / n), `min`, `max`, `last` (the most
//! recently received); over no values every stat is 0. `transform` (default `none`) is applied
//! last to every column of the feature: `log1p` = `ln(1 + max(x, 0))`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::SpecError;
use crate::event::{EventKind, Session};
use crate::window::{kind_mask, Acc};

/// Maximum columns a spec may produce.
pub const MAX_WIDTH: usize = 4096;

/// Current spec format version.
pub const SPEC_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSpec {
    /// Must be 1.
    pub version: u32,
    pub features: Vec<FeatureDef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    #[default]
    None,
    Log1p,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stat {
    Count,
    Sum,
    Mean,
    Min,
    Max,
    Last,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CategoryMode {
    Count,
    Share,
    Top1,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FeatureDef {
    Count {
        name: String,
        event: EventKind,
        #[serde(default)]
        transform: Transform,
    },
    RecencyCount {
        name: String,
        event: EventKind,
        half_life_s: f64,
        #[serde(default)]
        transform: Transform,
    },
    Dwell {
        name: String,
        stat: Stat,
        #[serde(default)]
        transform: Transform,
    },
    Scroll {
        name: String,
        stat: Stat,
        #[serde(default)]
        transform: Transform,
    },
    Price {
        name: String,
        stat: Stat,
        events: Vec<EventKind>,
        #[serde(default)]
        transform: Transform,
    },
    Custom {
        name: String,
        custom: String,
        stat: Stat,
        #[serde(default)]
        transform: Transform,
    },
    Category {
        name: String,
        mode: CategoryMode,
        vocabulary: Vec<String>,
        events: Vec<EventKind>,
        #[serde(default)]
        transform: Transform,
    },
    SessionAge {
        name: String,
        #[serde(default)]
        transform: Transform,
    },
    ContextOneHot {
        name: String,
        key: String,
        values: Vec<String>,
    },
    ContextNumber {
        name: String,
        key: String,
        missing: f64,
        #[serde(default)]
        transform: Transform,
    },
}

impl FeatureDef {
    pub fn name(&self) -> &str {
        match self {
            FeatureDef::Count { name, .. }
            | FeatureDef::RecencyCount { name, .. }
            | FeatureDef::Dwell { name, .. }
            | FeatureDef::Scroll { name, .. }
            | FeatureDef::Price { name, .. }
            | FeatureDef::Custom { name, .. }
            | FeatureDef::Category { name, .. }
            | FeatureDef::SessionAge { name, .. }
            | FeatureDef::ContextOneHot { name, .. }
            | FeatureDef::ContextNumber { name, .. } => name,
        }
    }

    /// Columns this feature produces.
    pub fn width(&self) -> usize {
        match self {
            FeatureDef::Category { vocabulary, .. } => vocabulary.len(),
            FeatureDef::ContextOneHot { values, .. } => values.len(),
            _ => 1,
        }
    }

    fn transform(&self) -> Transform {
        match self {
            FeatureDef::Count { transform, .. }
            | FeatureDef::RecencyCount { transform, .. }
            | FeatureDef::Dwell { transform, .. }
            | FeatureDef::Scroll { transform, .. }
            | FeatureDef::Price { transform, .. }
            | FeatureDef::Custom { transform, .. }
            | FeatureDef::Category { transform, .. }
            | FeatureDef::SessionAge { transform, .. }
            | FeatureDef::ContextNumber { transform, .. } => *transform,
            FeatureDef::ContextOneHot { .. } => Transform::None,
        }
    }
}

/// A value the host passes about the visit (device class, hour of day, country, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ContextValue {
    Number(f64),
    Text(String),
}

/// Host-provided context: `{"device": "mobile", "hour_of_day": 14}`.
pub type Context = BTreeMap<String, ContextValue>;

/// Bounds on a context map so a host bug cannot blow up memory.
pub const MAX_CONTEXT_KEYS: usize = 64;

/// Context numbers are at most this large in magnitude: a model fed 1e308 overflows to NaN and
/// every decision would fall back to the default.
pub const MAX_CONTEXT_NUMBER: f64 = 1e12;

/// Checks a context map: bounded size, finite numbers, short strings.
pub fn validate_context(ctx: &Context) -> Result<(), String> {
    if ctx.len() > MAX_CONTEXT_KEYS {
        return Err(format!("{} keys; at most {MAX_CONTEXT_KEYS}", ctx.len()));
    }
    for (k, v) in ctx {
        if k.is_empty() || k.len() > 64 {
            return Err(format!(
                "key {:?} must be 1..=64 bytes",
                crate::event::truncate(k, 80)
            ));
        }
        match v {
            ContextValue::Number(x) if !(x.is_finite() && x.abs() <= MAX_CONTEXT_NUMBER) => {
                return Err(format!(
                    "{k} = {x} must be a finite number with |x| <= {MAX_CONTEXT_NUMBER:e}"
                ))
            }
            ContextValue::Text(s) if s.len() > 256 => {
                return Err(format!("{k} is {} bytes long; at most 256", s.len()))
            }
            _ => {}
        }
    }
    Ok(())
}

fn invalid(message: String) -> SpecError {
    SpecError::Invalid { message }
}

impl FeatureSpec {
    /// Parses and validates a spec from JSON.
    pub fn from_json(json: &str) -> Result<FeatureSpec, SpecError> {
        let spec: FeatureSpec =
            serde_json::from_str(json).map_err(|e| invalid(crate::error::json_error(&e)))?;
        spec.validate()?;
        Ok(spec)
    }

    /// Checks every rule a spec must satisfy; the message names the feature to fix.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.version != SPEC_VERSION {
            return Err(invalid(format!(
                "version {} is not supported; this runtime reads version {SPEC_VERSION}",
                self.version
            )));
        }
        if self.features.is_empty() {
            return Err(invalid("`features` is empty".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for f in &self.features {
            let name = f.name();
            if name.is_empty() || name.len() > 128 {
                return Err(invalid(format!(
                    "feature name {name:?} must be 1..=128 bytes"
                )));
            }
            if !seen.insert(name) {
                return Err(invalid(format!("feature name {name:?} is used twice")));
            }
            let fail = |what: &str| Err(invalid(format!("feature {name:?}: {what}")));
            match f {
                FeatureDef::RecencyCount { half_life_s, .. }
                    if !(half_life_s.is_finite() && *half_life_s > 0.0) =>
                {
                    return fail("half_life_s must be a positive number of seconds");
                }
                FeatureDef::Price { events, .. } | FeatureDef::Category { events, .. }
                    if events.is_empty() =>
                {
                    return fail("`events` must list at least one event kind");
                }
                FeatureDef::Category { vocabulary: v, .. }
                | FeatureDef::ContextOneHot { values: v, .. } => {
                    if v.is_empty() {
                        return fail("the vocabulary / values list is empty");
                    }
                    let distinct: std::collections::HashSet<_> = v.iter().collect();
                    if distinct.len() != v.len() {
                        return fail("the vocabulary / values list has duplicates");
                    }
                }
                FeatureDef::Custom { custom, .. } if custom.is_empty() => {
                    return fail("`custom` (the custom event name) is empty");
                }
                FeatureDef::ContextNumber { missing, .. } if !missing.is_finite() => {
                    return fail("`missing` must be a finite number");
                }
                _ => {}
            }
        }
        if self.width() > MAX_WIDTH {
            return Err(invalid(format!(
                "the spec produces {} columns; at most {MAX_WIDTH}",
                self.width()
            )));
        }
        Ok(())
    }

    /// Length of the vector the spec produces.
    pub fn width(&self) -> usize {
        self.features.iter().map(FeatureDef::width).sum()
    }

    /// Column names: the feature name, or `name[entry]` for multi-column features.
    pub fn column_names(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.width());
        for f in &self.features {
            match f {
                FeatureDef::Category {
                    name,
                    vocabulary: v,
                    ..
                }
                | FeatureDef::ContextOneHot {
                    name, values: v, ..
                } => out.extend(v.iter().map(|x| format!("{name}[{x}]"))),
                _ => out.push(f.name().to_owned()),
            }
        }
        out
    }

    /// Computes the vector into `out` (cleared first; reuse it to avoid allocating).
    ///
    /// Counts, value/price statistics, category counts and the recency sums the session keeps
    /// (see [`Session::watch_recency`]) come from the window's running statistics
    /// ([`crate::window`]): O(1) per column. A custom-event statistic, and a recency sum the
    /// session does not keep or cannot answer for this `now` (an event newer than `now`), scan
    /// the window.
    pub fn extract_into(&self, session: &Session, ctx: &Context, now_ms: f64, out: &mut Vec<f32>) {
        out.clear();
        let window = session.window();
        for f in &self.features {
            let t = f.transform();
            // Everything stays f64 through the transform; one rounding to f32 per column.
            let mut emit = |x: f64| {
                let y = match t {
                    Transform::None => x,
                    Transform::Log1p => x.max(0.0).ln_1p(),
                };
                // Saturating: a finite f64 beyond f32's range (a context number or `missing`
                // of 1e300) is ±f32::MAX, not infinity (found by fuzzing).
                out.push((y as f32).clamp(f32::MIN, f32::MAX))
            };
            // Running statistics, or a scan for an order statistic the session does not keep.
            let of = |mask: u16, price: bool, s: Stat, kept: Option<f64>| {
                kept.unwrap_or_else(|| scan_stat(session, mask, price, s))
            };
            let value = |k: EventKind, s: Stat| {
                of(
                    kind_mask(&[k]),
                    false,
                    s,
                    window.value(k).and_then(|v| v.stat(s)),
                )
            };
            match f {
                FeatureDef::Count { event, .. } => emit(f64::from(session.count(*event))),
                FeatureDef::RecencyCount {
                    event, half_life_s, ..
                } => emit(
                    window
                        .recency(*event, *half_life_s, now_ms)
                        .unwrap_or_else(|| recency_scan(session, *event, *half_life_s, now_ms)),
                ),
                FeatureDef::Dwell { stat, .. } => emit(value(EventKind::Dwell, *stat)),
                FeatureDef::Scroll { stat, .. } => emit(value(EventKind::Scroll, *stat)),
                FeatureDef::Price { stat, events, .. } => {
                    let mask = kind_mask(events);
                    emit(of(mask, true, *stat, window.price_of_kinds(mask, *stat)))
                }
                FeatureDef::Custom { custom, stat, .. } => {
                    let mut acc = Acc::EMPTY;
                    if let Some(id) = session.custom_names().get(custom) {
                        session
                            .iter()
                            .filter(|e| e.kind == EventKind::Custom && e.name == Some(id))
                            .filter_map(|e| e.value)
                            .for_each(|v| acc.add(v));
                    }
                    emit(acc.stat(*stat))
                }
                FeatureDef::Category {
                    mode,
                    vocabulary,
                    events,
                    ..
                } => category_columns(session, *mode, vocabulary, kind_mask(events), &mut emit),
                FeatureDef::SessionAge { .. } => emit(session.age_s(now_ms)),
                FeatureDef::ContextOneHot { key, values, .. } => {
                    let v = match ctx.get(key) {
                        Some(ContextValue::Text(s)) => Some(s.as_str()),
                        _ => None,
                    };
                    for val in values {
                        emit(if v == Some(val.as_str()) { 1.0 } else { 0.0 });
                    }
                }
                FeatureDef::ContextNumber { key, missing, .. } => emit(match ctx.get(key) {
                    Some(ContextValue::Number(x)) => *x,
                    _ => *missing,
                }),
            }
        }
    }

    /// The `(kind, price?)` streams whose minimum or maximum a feature asks for: what a session
    /// should keep order statistics of ([`Session::watch_order`]).
    pub fn ordered_streams(&self) -> impl Iterator<Item = (EventKind, bool)> + '_ {
        self.features.iter().flat_map(|f| {
            let order = |s: &Stat| matches!(s, Stat::Min | Stat::Max);
            let kinds: Vec<(EventKind, bool)> = match f {
                FeatureDef::Dwell { stat, .. } if order(stat) => vec![(EventKind::Dwell, false)],
                FeatureDef::Scroll { stat, .. } if order(stat) => vec![(EventKind::Scroll, false)],
                FeatureDef::Price { stat, events, .. } if order(stat) => {
                    events.iter().map(|k| (*k, true)).collect()
                }
                _ => Vec::new(),
            };
            kinds
        })
    }

    /// The `(event, half_life_s)` of every `recency_count` feature: what a session should keep
    /// running sums of ([`Session::watch_recency`]).
    pub fn recency_sums(&self) -> impl Iterator<Item = (EventKind, f64)> + '_ {
        self.features.iter().filter_map(|f| match f {
            FeatureDef::RecencyCount {
                event, half_life_s, ..
            } => Some((*event, *half_life_s)),
            _ => None,
        })
    }

    /// Convenience: a fresh vector.
    pub fn extract(&self, session: &Session, ctx: &Context, now_ms: f64) -> Vec<f32> {
        let mut v = Vec::with_capacity(self.width());
        self.extract_into(session, ctx, now_ms, &mut v);
        v
    }
}

/// A `stat` by its formula over the values (or prices) of the window events whose kind is in
/// `mask`.
fn scan_stat(session: &Session, mask: u16, price: bool, stat: Stat) -> f64 {
    let mut acc = Acc::EMPTY;
    session
        .iter()
        .filter(|e| mask & (1 << e.kind.index()) != 0)
        .filter_map(|e| if price { e.price } else { e.value })
        .for_each(|v| acc.add(v));
    acc.stat(stat)
}

/// A `recency_count` by its formula: Σ over window events of `kind` of
/// `0.5^(max(0, now − ts)/1000/half_life_s)`.
fn recency_scan(session: &Session, kind: EventKind, half_life_s: f64, now_ms: f64) -> f64 {
    session
        .iter()
        .filter(|e| e.kind == kind)
        .map(|e| 0.5f64.powf((now_ms - e.ts).max(0.0) / 1000.0 / half_life_s))
        .sum()
}

fn category_columns(
    session: &Session,
    mode: CategoryMode,
    vocabulary: &[String],
    kinds: u16,
    emit: &mut impl FnMut(f64),
) {
    let window = session.window();
    let count = |c: &String| {
        session
            .categories()
            .get(c)
            .map_or(0, |id| window.category_count(id, kinds))
    };
    let total = window.with_category(kinds);
    match mode {
        CategoryMode::Count => vocabulary.iter().for_each(|c| emit(f64::from(count(c)))),
        CategoryMode::Share => vocabulary.iter().for_each(|c| {
            emit(if total == 0 {
                0.0
            } else {
                f64::from(count(c)) / f64::from(total)
            })
        }),
        CategoryMode::Top1 => {
            let mut best: Option<(usize, u32)> = None;
            for (i, n) in vocabulary.iter().map(count).enumerate() {
                if n > 0 && best.is_none_or(|(_, b)| n > b) {
                    best = Some((i, n));
                }
            }
            for i in 0..vocabulary.len() {
                emit(if best.map(|(b, _)| b) == Some(i) {
                    1.0
                } else {
                    0.0
                });
            }
        }
    }
}
