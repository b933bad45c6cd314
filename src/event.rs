//! Session events and the bounded [`Session`] that holds them.
//!
//! Ingestion is the hot path. An [`EventInput`] borrows its strings from the caller (serde
//! borrows them straight out of JSON); it is validated completely before anything changes, then
//! stored as a small `Copy` [`Event`] in a ring buffer allocated once at session start. Strings
//! are not stored: categories and custom-event names are interned into bounded tables (a new one
//! allocates once; known ones never do), item ids and queries are kept as FNV-1a hashes. So in
//! steady state a `push` allocates nothing, and a session never grows past its limits.
//!
//! Time is injected: every call takes `now` (ms since the epoch) from the host's clock.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::EventError;
use crate::window::{Watched, Window};

/// The kinds of event a storefront emits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    PageView,
    ProductView,
    Search,
    AddToCart,
    RemoveFromCart,
    CheckoutStart,
    Purchase,
    Click,
    /// `value` = scroll depth in [0, 1].
    Scroll,
    /// `value` = seconds spent, in [0, 86400].
    Dwell,
    /// `name` + `value`.
    Custom,
}

/// Number of event kinds.
pub const KIND_COUNT: usize = 11;

impl EventKind {
    pub const ALL: [EventKind; KIND_COUNT] = [
        EventKind::PageView,
        EventKind::ProductView,
        EventKind::Search,
        EventKind::AddToCart,
        EventKind::RemoveFromCart,
        EventKind::CheckoutStart,
        EventKind::Purchase,
        EventKind::Click,
        EventKind::Scroll,
        EventKind::Dwell,
        EventKind::Custom,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::PageView => "page_view",
            EventKind::ProductView => "product_view",
            EventKind::Search => "search",
            EventKind::AddToCart => "add_to_cart",
            EventKind::RemoveFromCart => "remove_from_cart",
            EventKind::CheckoutStart => "checkout_start",
            EventKind::Purchase => "purchase",
            EventKind::Click => "click",
            EventKind::Scroll => "scroll",
            EventKind::Dwell => "dwell",
            EventKind::Custom => "custom",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The kind with code `code` (its position in [`EventKind::ALL`]): the columnar batches'
    /// encoding.
    pub fn from_code(code: u8) -> Option<EventKind> {
        EventKind::ALL.get(usize::from(code)).copied()
    }
}

/// An event as it arrives from outside, not yet validated. Strings are borrowed where the
/// deserializer allows it (JSON without escapes), so parsing allocates nothing.
///
/// JSON: `{"kind": "product_view", "ts": 1700000000000, "category": "shoes", "price": 59.9,
/// "item_id": "sku-1"}`; `ts` (ms since the epoch) defaults to the engine clock when omitted.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EventInput<'a> {
    #[serde(borrow)]
    pub kind: Cow<'a, str>,
    #[serde(default)]
    pub ts: Option<f64>,
    #[serde(borrow, default, deserialize_with = "borrowed_opt")]
    pub category: Option<Cow<'a, str>>,
    #[serde(default)]
    pub price: Option<f64>,
    #[serde(borrow, default, deserialize_with = "borrowed_opt")]
    pub item_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_opt")]
    pub query: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_opt")]
    pub name: Option<Cow<'a, str>>,
    #[serde(default)]
    pub value: Option<f64>,
}

/// serde borrows a plain `Cow<str>` field but not an `Option<Cow<str>>` (it would copy every
/// string); this keeps optional strings borrowed too.
fn borrowed_opt<'de: 'a, 'a, D>(d: D) -> Result<Option<Cow<'a, str>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    struct Borrowed<'a>(#[serde(borrow)] Cow<'a, str>);
    Ok(Option::<Borrowed<'a>>::deserialize(d)?.map(|b| b.0))
}

impl<'a> EventInput<'a> {
    /// A bare event of `kind` at `ts`.
    pub fn new(kind: &'a str, ts: f64) -> Self {
        EventInput {
            kind: Cow::Borrowed(kind),
            ts: Some(ts),
            ..Default::default()
        }
    }
    pub fn category(mut self, c: &'a str) -> Self {
        self.category = Some(Cow::Borrowed(c));
        self
    }
    pub fn price(mut self, p: f64) -> Self {
        self.price = Some(p);
        self
    }
    pub fn value(mut self, v: f64) -> Self {
        self.value = Some(v);
        self
    }
    pub fn item(mut self, id: &'a str) -> Self {
        self.item_id = Some(Cow::Borrowed(id));
        self
    }
    pub fn query(mut self, q: &'a str) -> Self {
        self.query = Some(Cow::Borrowed(q));
        self
    }
    pub fn name(mut self, n: &'a str) -> Self {
        self.name = Some(Cow::Borrowed(n));
        self
    }
}

/// A validated, stored event: small and `Copy`. In a snapshot, absent fields are left out (a
/// state cookie at the edge carries the session: most events have one or two fields).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    /// ms since the epoch.
    pub ts: f64,
    /// Index into the session's category table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    /// FNV-1a 64 of `item_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<u64>,
    /// FNV-1a 64 of `query`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<u64>,
    /// Index into the session's custom-name table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

/// FNV-1a, 64 bit (Fowler, Noll & Vo). Documented so other languages can reproduce it.
pub fn fnv1a64(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Bounds of a session; config key `session`. Every field has the default shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionLimits {
    /// Events kept (ring buffer; the oldest is dropped). Default 512, at most 65,536.
    pub capacity: usize,
    /// Distinct categories per session. Default 64.
    pub max_categories: usize,
    /// Distinct custom event names per session. Default 32.
    pub max_custom_names: usize,
    /// Longest accepted string field, in bytes. Default 256.
    pub max_string_len: usize,
    /// How far ahead of the clock an event may be (clock skew). Default 300,000 ms.
    pub max_future_skew_ms: f64,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            capacity: 512,
            max_categories: 64,
            max_custom_names: 32,
            max_string_len: 256,
            max_future_skew_ms: 300_000.0,
        }
    }
}

impl SessionLimits {
    /// Checks the limits themselves; returns a message naming the field to fix.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=65_536).contains(&self.capacity) {
            return Err(format!(
                "session.capacity must be 1..=65536, got {}",
                self.capacity
            ));
        }
        if !(1..=4096).contains(&self.max_categories) {
            return Err(format!(
                "session.max_categories must be 1..=4096, got {}",
                self.max_categories
            ));
        }
        if !(1..=4096).contains(&self.max_custom_names) {
            return Err(format!(
                "session.max_custom_names must be 1..=4096, got {}",
                self.max_custom_names
            ));
        }
        if !(1..=65_536).contains(&self.max_string_len) {
            return Err(format!(
                "session.max_string_len must be 1..=65536, got {}",
                self.max_string_len
            ));
        }
        if !(self.max_future_skew_ms.is_finite()
            && (0.0..=86_400_000.0).contains(&self.max_future_skew_ms))
        {
            return Err(format!(
                "session.max_future_skew_ms must be 0..=86400000, got {}",
                self.max_future_skew_ms
            ));
        }
        Ok(())
    }
}

/// A bounded table of distinct strings, each given a small id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Interner {
    names: Vec<String>,
    ids: HashMap<String, u16>,
}

impl Interner {
    pub fn get(&self, s: &str) -> Option<u16> {
        self.ids.get(s).copied()
    }
    pub fn name(&self, id: u16) -> Option<&str> {
        self.names.get(id as usize).map(String::as_str)
    }
    pub fn len(&self) -> usize {
        self.names.len()
    }
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
    pub fn names(&self) -> &[String] {
        &self.names
    }
    fn insert(&mut self, s: &str) -> u16 {
        let id = self.names.len() as u16;
        self.names.push(s.to_owned());
        self.ids.insert(s.to_owned(), id);
        id
    }
    /// Rebuilds from a list (snapshot restore); `None` if there are duplicates or too many.
    pub fn from_names(names: Vec<String>, max: usize) -> Option<Interner> {
        if names.len() > max || names.len() > u16::MAX as usize {
            return None;
        }
        let mut ids = HashMap::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            if ids.insert(n.clone(), i as u16).is_some() {
                return None;
            }
        }
        Some(Interner { names, ids })
    }
}

/// The events of the current visit: the last `capacity` of them, plus the visit's start time.
/// Equality compares what a session holds (limits, start, events, tables, total), not the
/// running statistics derived from it.
#[derive(Debug, Clone)]
pub struct Session {
    limits: SessionLimits,
    start_ms: f64,
    buf: Vec<Event>,
    /// Index of the oldest event once the buffer is full.
    head: usize,
    categories: Interner,
    names: Interner,
    /// Events accepted over the session's life (including those the ring dropped).
    total: u64,
    /// Per-kind counts of the events currently in the window.
    counts: [u32; KIND_COUNT],
    /// Running statistics of the window (features in O(1) per column).
    window: Window,
}

impl PartialEq for Session {
    fn eq(&self, other: &Session) -> bool {
        self.limits == other.limits
            && self.start_ms.to_bits() == other.start_ms.to_bits()
            && self.total == other.total
            && self.categories.names() == other.categories.names()
            && self.names.names() == other.names.names()
            && self.iter().eq(other.iter())
    }
}

impl Session {
    /// A new session starting at `start_ms`. Limits are assumed validated (see
    /// [`SessionLimits::validate`]); out-of-range values are clamped.
    pub fn new(limits: SessionLimits, start_ms: f64) -> Session {
        let cap = limits.capacity.clamp(1, 65_536);
        Session {
            buf: Vec::with_capacity(cap),
            limits: SessionLimits {
                capacity: cap,
                ..limits
            },
            start_ms,
            head: 0,
            categories: Interner::default(),
            names: Interner::default(),
            total: 0,
            counts: [0; KIND_COUNT],
            window: Window::new(cap),
        }
    }

    pub fn limits(&self) -> &SessionLimits {
        &self.limits
    }
    pub fn start_ms(&self) -> f64 {
        self.start_ms
    }
    /// Events in the window.
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    /// Events accepted since the session started, including the ones the window dropped.
    pub fn total(&self) -> u64 {
        self.total
    }
    pub fn categories(&self) -> &Interner {
        &self.categories
    }
    pub fn custom_names(&self) -> &Interner {
        &self.names
    }
    /// Number of events of `kind` in the window.
    pub fn count(&self, kind: EventKind) -> u32 {
        self.counts.get(kind.index()).copied().unwrap_or(0)
    }

    /// Events in the window, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Event> + Clone + '_ {
        ring(&self.buf, self.head)
    }

    /// Validates `input` and appends it; on error nothing changes.
    pub fn push(&mut self, input: &EventInput<'_>, now_ms: f64) -> Result<(), EventError> {
        let ev = self.validate(input, now_ms)?;
        self.store(ev);
        Ok(())
    }

    fn store(&mut self, ev: Event) {
        let cap = self.limits.capacity;
        let seq = self.total;
        if self.buf.len() < cap {
            self.buf.push(ev);
        } else if let Some(slot) = self.buf.get_mut(self.head) {
            let old = std::mem::replace(slot, ev);
            if let Some(c) = self.counts.get_mut(old.kind.index()) {
                *c = c.saturating_sub(1);
            }
            self.window.evict(seq.saturating_sub(cap as u64), &old);
            self.head = (self.head + 1) % cap;
        }
        if let Some(c) = self.counts.get_mut(ev.kind.index()) {
            *c = c.saturating_add(1);
        }
        self.window.push(seq, &ev);
        self.total = self.total.saturating_add(1);
        if self.window.dirty() {
            self.rebuild_window();
        }
    }

    /// Recomputes the running statistics from the events in the window.
    fn rebuild_window(&mut self) {
        self.window
            .rebuild(numbered(&self.buf, self.head, self.total));
    }

    /// The running statistics of the window.
    pub fn window(&self) -> &Window {
        &self.window
    }

    /// Brings the statistics that ingestion defers (the recency sums) up to date: call before
    /// extracting features (until then they are computed by scanning).
    pub fn sync_stats(&mut self) {
        let from = self.window.recency_synced();
        self.window
            .sync_recency(numbered_since(&self.buf, self.head, self.total, from));
        if self.window.dirty() {
            // A recency term grew too large for its reference: start the sums over.
            self.rebuild_window();
            let from = self.window.recency_synced();
            self.window
                .sync_recency(numbered_since(&self.buf, self.head, self.total, from));
        }
    }

    /// Keeps running `recency_count` sums for `recency` (`(kind, half_life_s)`, see
    /// [`Window::recency`]) and sliding minima and maxima for `order` (`(kind, price?)`, see
    /// [`Window::watch_order`]); the statistics are rebuilt once, when anything is new. False
    /// when a recency sum could not be kept (the window keeps the most it can already; that
    /// feature then scans).
    pub fn watch_stats(
        &mut self,
        recency: impl IntoIterator<Item = (EventKind, f64)>,
        order: impl IntoIterator<Item = (EventKind, bool)>,
    ) -> bool {
        let mut kept = true;
        let mut new = false;
        for (kind, half_life_s) in recency {
            match self.window.watch_recency(kind, half_life_s) {
                Watched::Added => new = true,
                Watched::Already => {}
                Watched::Full => kept = false,
            }
        }
        for (kind, price) in order {
            new |= self.window.watch_order(kind, price) == Watched::Added;
        }
        if new {
            self.rebuild_window();
        }
        kept
    }

    /// [`Session::watch_stats`] for one stream's order statistics.
    pub fn watch_order(&mut self, kind: EventKind, price: bool) {
        self.watch_stats([], [(kind, price)]);
    }

    /// [`Session::watch_stats`] for one recency sum.
    pub fn watch_recency(&mut self, kind: EventKind, half_life_s: f64) -> bool {
        self.watch_stats([(kind, half_life_s)], [])
    }

    fn check_str(&self, field: &'static str, s: &Option<Cow<'_, str>>) -> Result<(), EventError> {
        if let Some(s) = s {
            if s.is_empty() {
                return Err(EventError::EmptyString { field });
            }
            if s.len() > self.limits.max_string_len {
                return Err(EventError::StringTooLong {
                    field,
                    len: s.len(),
                    max: self.limits.max_string_len,
                });
            }
        }
        Ok(())
    }

    /// Like [`Session::push`] with the kind already known (`input.kind` is not read): the
    /// columnar ingestion path, which carries kinds as codes.
    pub fn push_kind(
        &mut self,
        kind: EventKind,
        input: &EventInput<'_>,
        now_ms: f64,
    ) -> Result<(), EventError> {
        let ev = self.validate_kind(kind, input, now_ms)?;
        self.store(ev);
        Ok(())
    }

    fn validate(&mut self, input: &EventInput<'_>, now_ms: f64) -> Result<Event, EventError> {
        let kind = EventKind::parse(&input.kind).ok_or_else(|| EventError::UnknownKind {
            kind: truncate(&input.kind, 64),
        })?;
        self.validate_kind(kind, input, now_ms)
    }

    fn validate_kind(
        &mut self,
        kind: EventKind,
        input: &EventInput<'_>,
        now_ms: f64,
    ) -> Result<Event, EventError> {
        let ts = input.ts.unwrap_or(now_ms);
        if !ts.is_finite() || ts <= 0.0 {
            return Err(EventError::InvalidTimestamp { ts });
        }
        if ts < self.start_ms {
            return Err(EventError::BeforeSessionStart {
                ts,
                start: self.start_ms,
            });
        }
        if ts > now_ms + self.limits.max_future_skew_ms {
            return Err(EventError::InFuture {
                ts,
                now: now_ms,
                max_skew_ms: self.limits.max_future_skew_ms,
            });
        }
        if let Some(p) = input.price {
            if !p.is_finite() || !(0.0..=1e9).contains(&p) {
                return Err(EventError::InvalidPrice { price: p });
            }
        }
        let k = kind.as_str();
        match (kind, input.value) {
            (EventKind::Scroll, None) => {
                return Err(EventError::MissingValue {
                    kind: k,
                    what: "a `value` (scroll depth 0..1)",
                })
            }
            (EventKind::Scroll, Some(v)) if !(v.is_finite() && (0.0..=1.0).contains(&v)) => {
                return Err(EventError::InvalidValue {
                    kind: k,
                    value: v,
                    expected: "a depth in [0, 1]",
                })
            }
            (EventKind::Dwell, None) => {
                return Err(EventError::MissingValue {
                    kind: k,
                    what: "a `value` (seconds)",
                })
            }
            (EventKind::Dwell, Some(v)) if !(v.is_finite() && (0.0..=86_400.0).contains(&v)) => {
                return Err(EventError::InvalidValue {
                    kind: k,
                    value: v,
                    expected: "seconds in [0, 86400]",
                })
            }
            (EventKind::Custom, None) => {
                return Err(EventError::MissingValue {
                    kind: k,
                    what: "a numeric `value`",
                })
            }
            (EventKind::Custom, Some(v)) if !(v.is_finite() && v.abs() <= 1e12) => {
                return Err(EventError::InvalidValue {
                    kind: k,
                    value: v,
                    expected: "a finite number with |value| <= 1e12",
                })
            }
            (EventKind::Scroll | EventKind::Dwell | EventKind::Custom, Some(_)) => {}
            (_, Some(_)) => {
                return Err(EventError::UnexpectedField {
                    kind: k,
                    field: "value",
                })
            }
            (_, None) => {}
        }
        match (kind, &input.name) {
            (EventKind::Custom, None) => {
                return Err(EventError::MissingValue {
                    kind: k,
                    what: "a `name`",
                })
            }
            (EventKind::Custom, Some(_)) | (_, None) => {}
            (_, Some(_)) => {
                return Err(EventError::UnexpectedField {
                    kind: k,
                    field: "name",
                })
            }
        }
        self.check_str("category", &input.category)?;
        self.check_str("item_id", &input.item_id)?;
        self.check_str("query", &input.query)?;
        self.check_str("name", &input.name)?;

        // Interning is the only mutation; check both tables' room before inserting into either.
        let cat = input
            .category
            .as_deref()
            .map(|c| (c, self.categories.get(c)));
        let name = input.name.as_deref().map(|n| (n, self.names.get(n)));
        if let Some((_, None)) = cat {
            if self.categories.len() >= self.limits.max_categories {
                return Err(EventError::TooManyCategories {
                    max: self.limits.max_categories,
                });
            }
        }
        if let Some((_, None)) = name {
            if self.names.len() >= self.limits.max_custom_names {
                return Err(EventError::TooManyNames {
                    max: self.limits.max_custom_names,
                });
            }
        }
        let category = cat.map(|(c, id)| id.unwrap_or_else(|| self.categories.insert(c)));
        let name = name.map(|(n, id)| id.unwrap_or_else(|| self.names.insert(n)));
        Ok(Event {
            kind,
            ts,
            category,
            price: input.price,
            item: input.item_id.as_deref().map(fnv1a64),
            query: input.query.as_deref().map(fnv1a64),
            name,
            value: input.value,
        })
    }

    /// Sum of add-to-cart prices minus remove-from-cart prices in the window, never below 0.
    pub fn cart_value(&self) -> f64 {
        let sum = |k| {
            self.window
                .price(k)
                .and_then(|s| s.stat(crate::features::Stat::Sum))
                .unwrap_or(0.0)
        };
        (sum(EventKind::AddToCart) - sum(EventKind::RemoveFromCart)).max(0.0)
    }

    /// add_to_cart count minus remove_from_cart count in the window, never below 0.
    pub fn cart_items(&self) -> f64 {
        (self.count(EventKind::AddToCart) as f64 - self.count(EventKind::RemoveFromCart) as f64)
            .max(0.0)
    }

    /// Seconds from the session start to `now`, never below 0.
    pub fn age_s(&self, now_ms: f64) -> f64 {
        ((now_ms - self.start_ms) / 1000.0).max(0.0)
    }

    /// The serializable state (snapshot).
    pub fn to_state(&self) -> SessionState {
        SessionState {
            limits: self.limits.clone(),
            start_ms: self.start_ms,
            events: self.iter().copied().collect(),
            categories: self.categories.names().to_vec(),
            custom_names: self.names.names().to_vec(),
            total: self.total,
        }
    }

    /// Rebuilds a session from a snapshot, re-checking everything a snapshot could get wrong.
    /// `limits` are the current config's: if the capacity shrank, the oldest events are dropped.
    pub fn from_state(st: SessionState, limits: SessionLimits) -> Result<Session, String> {
        if !st.start_ms.is_finite() || st.start_ms <= 0.0 {
            return Err("session start is not a valid time".into());
        }
        let max_cats = limits.max_categories.max(st.categories.len());
        let max_names = limits.max_custom_names.max(st.custom_names.len());
        let categories = Interner::from_names(st.categories, max_cats.min(4096))
            .ok_or("category table has duplicates or is too large")?;
        let names = Interner::from_names(st.custom_names, max_names.min(4096))
            .ok_or("custom-name table has duplicates or is too large")?;
        let mut s = Session::new(limits, st.start_ms);
        s.categories = categories;
        s.names = names;
        let skip = st.events.len().saturating_sub(s.limits.capacity);
        // Sequence numbers continue from the snapshot's: the kept events end at `total`.
        s.total = st.total.saturating_sub((st.events.len() - skip) as u64);
        for e in st.events.into_iter().skip(skip) {
            let ok_ts = e.ts.is_finite() && e.ts >= st.start_ms;
            let ok_cat = e.category.is_none_or(|c| (c as usize) < s.categories.len());
            let ok_name = e.name.is_none_or(|n| (n as usize) < s.names.len());
            let ok_num = e
                .price
                .is_none_or(|p| p.is_finite() && (0.0..=1e9).contains(&p))
                && e.value.is_none_or(f64::is_finite);
            if !(ok_ts && ok_cat && ok_name && ok_num) {
                return Err(format!("event at {} is invalid", e.ts));
            }
            s.store(e);
        }
        Ok(s)
    }
}

/// The ring buffer's events oldest first (`head`: the oldest once the ring is full).
fn ring(buf: &[Event], head: usize) -> impl DoubleEndedIterator<Item = &Event> + Clone {
    let (newer, older) = buf.split_at(head.min(buf.len()));
    older.iter().chain(newer.iter())
}

/// [`ring`] with each event's sequence number (`total`: the next event's).
fn numbered(buf: &[Event], head: usize, total: u64) -> impl Iterator<Item = (u64, &Event)> + Clone {
    (total.saturating_sub(buf.len() as u64)..).zip(ring(buf, head))
}

/// [`numbered`] from sequence number `from` on, without walking the older events (a decision
/// syncs the one or two events that came since the last: not the whole window).
fn numbered_since(
    buf: &[Event],
    head: usize,
    total: u64,
    from: u64,
) -> impl Iterator<Item = (u64, &Event)> + Clone {
    let first = total.saturating_sub(buf.len() as u64);
    let start = from.clamp(first, total);
    let skip = usize::try_from(start - first).unwrap_or(usize::MAX);
    (start..).zip(ring(buf, head).skip(skip))
}

/// The persisted form of a [`Session`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionState {
    pub limits: SessionLimits,
    pub start_ms: f64,
    pub events: Vec<Event>,
    pub categories: Vec<String>,
    pub custom_names: Vec<String>,
    pub total: u64,
}

/// At most `max` bytes of `s`, cut on a char boundary (for error messages).
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: f64 = 1_700_000_000_000.0;

    fn session(cap: usize) -> Session {
        Session::new(
            SessionLimits {
                capacity: cap,
                ..Default::default()
            },
            T0,
        )
    }

    #[test]
    fn ring_keeps_the_last_n_and_counts_follow() {
        let mut s = session(4);
        for i in 0..10 {
            let kind = if i % 2 == 0 { "page_view" } else { "click" };
            s.push(&EventInput::new(kind, T0 + i as f64), T0 + 100.0)
                .unwrap();
        }
        assert_eq!(s.len(), 4);
        assert_eq!(s.total(), 10);
        let ts: Vec<f64> = s.iter().map(|e| e.ts - T0).collect();
        assert_eq!(ts, vec![6.0, 7.0, 8.0, 9.0]);
        assert_eq!(s.count(EventKind::PageView), 2);
        assert_eq!(s.count(EventKind::Click), 2);
    }

    #[test]
    fn rejects_bad_events_without_changing_anything() {
        let mut s = session(8);
        let now = T0 + 1000.0;
        let before = s.clone();
        let cases: Vec<(EventInput, &str)> = vec![
            (EventInput::new("teleport", now), "event_unknown_kind"),
            (
                EventInput::new("add_to_cart", now).price(f64::NAN),
                "event_invalid_price",
            ),
            (
                EventInput::new("add_to_cart", now).price(-1.0),
                "event_invalid_price",
            ),
            (
                EventInput::new("page_view", T0 - 1.0),
                "event_before_session_start",
            ),
            (
                EventInput::new("page_view", now + 3_600_000.0),
                "event_in_future",
            ),
            (
                EventInput::new("page_view", f64::INFINITY),
                "event_invalid_timestamp",
            ),
            (EventInput::new("scroll", now), "event_missing_field"),
            (
                EventInput::new("scroll", now).value(1.5),
                "event_invalid_value",
            ),
            (
                EventInput::new("dwell", now).value(-2.0),
                "event_invalid_value",
            ),
            (
                EventInput::new("custom", now).value(1.0),
                "event_missing_field",
            ),
            (
                EventInput::new("click", now).value(1.0),
                "event_unexpected_field",
            ),
            (
                EventInput::new("click", now).name("x"),
                "event_unexpected_field",
            ),
            (
                EventInput::new("search", now).query(""),
                "event_empty_string",
            ),
        ];
        for (ev, code) in cases {
            let err = s.push(&ev, now).unwrap_err();
            assert_eq!(err.code(), code, "{ev:?}: {err}");
            assert!(!err.to_string().is_empty());
        }
        let long = "x".repeat(300);
        let err = s
            .push(&EventInput::new("search", now).query(&long), now)
            .unwrap_err();
        assert_eq!(err.code(), "event_string_too_long");
        assert_eq!(s, before);
    }

    #[test]
    fn distinct_categories_are_bounded() {
        let mut s = Session::new(
            SessionLimits {
                max_categories: 3,
                ..Default::default()
            },
            T0,
        );
        let names: Vec<String> = (0..5).map(|i| format!("c{i}")).collect();
        for n in &names[..3] {
            s.push(&EventInput::new("product_view", T0).category(n), T0)
                .unwrap();
        }
        let err = s
            .push(&EventInput::new("product_view", T0).category(&names[3]), T0)
            .unwrap_err();
        assert_eq!(err.code(), "event_too_many_categories");
        // a known category is still accepted
        s.push(&EventInput::new("product_view", T0).category(&names[0]), T0)
            .unwrap();
        assert_eq!(s.categories().len(), 3);
    }

    #[test]
    fn state_round_trips_and_rejects_bad_refs() {
        let mut s = session(3);
        for (i, c) in ["a", "b", "a", "c"].iter().enumerate() {
            s.push(
                &EventInput::new("add_to_cart", T0 + i as f64)
                    .category(c)
                    .price(10.0),
                T0 + 9.0,
            )
            .unwrap();
        }
        let st = s.to_state();
        let back = Session::from_state(st.clone(), s.limits().clone()).unwrap();
        assert_eq!(back.to_state(), st);
        assert_eq!(back.cart_value(), 30.0);
        let mut bad = st;
        bad.events[0].category = Some(99);
        assert!(Session::from_state(bad, SessionLimits::default()).is_err());
    }

    #[test]
    fn borrowed_json_parsing() {
        let json = r#"{"kind":"product_view","ts":1700000000500,"category":"shoes","price":59.9,"item_id":"sku-1"}"#;
        let ev: EventInput = serde_json::from_str(json).unwrap();
        assert!(matches!(ev.kind, Cow::Borrowed(_)));
        let mut s = session(4);
        s.push(&ev, T0 + 1000.0).unwrap();
        assert!(serde_json::from_str::<EventInput>(r#"{"kind":"click","colour":"red"}"#).is_err());
    }
}
