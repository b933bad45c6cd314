//! Running statistics of a [`Session`](crate::event::Session)'s window, kept up to date as
//! events enter and leave it, so that feature extraction costs O(features) instead of
//! O(window): per event kind the `count`/`sum`/`min`/`max`/`last` of `value` and of `price`,
//! per category and kind the event count, and the `recency_count` sums the engine's models ask
//! for.
//!
//! - Sliding-window minimum and maximum: monotone double-ended queues (each element enters and
//!   leaves once, so O(1) amortized per event, and exact). The technique is the classic
//!   "ascending minima" queue; see R. Harter, "The Minimum on a Sliding Window" (2001) and
//!   D. Lemire, "Streaming Maximum-Minimum Filter Using No More than Three Comparisons per
//!   Element", Nordic Journal of Computing 13(4), 2006.
//! - Sums are added to and subtracted from; the rounding this leaves is bounded by rebuilding
//!   every statistic from the window once per `capacity` evictions (O(1) amortized) and
//!   resetting a sum to exactly 0 when its stream empties.
//! - A recency sum Σ 0.5^((now − tsᵢ)/h) factors into 0.5^((now − r)/h) · Σ 0.5^((r − tsᵢ)/h)
//!   for a reference time `r`: the sum is kept incrementally and scaled at query time (one
//!   `exp2` per feature instead of one per event), and the terms of new events are added when
//!   the features are next computed ([`Window::sync_recency`]), not at ingestion. `r` is moved
//!   (and the sum rebuilt) before the terms could overflow. Where the formula clamps ages at 0
//!   (an event newer than `now`), the factored form does not hold: [`Window::recency`] answers
//!   `None` and the caller scans.
//!
//! Results agree with the direct formulas of `features.rs` to rounding (tests below compare
//! them on long random streams with evictions, out-of-order and future timestamps).

use std::collections::VecDeque;

use crate::event::{Event, EventKind, KIND_COUNT};
use crate::features::Stat;

/// Recency sums kept per (kind, half-life); a spec asking for more is answered by scanning.
pub const MAX_RECENCY: usize = 8;

/// A recency term may grow to 2^LIMIT before the reference time moves.
const RECENCY_TERM_LIMIT: f64 = 1.152_921_504_606_847e18; // 2^60

/// A running sum that values enter and leave, with Neumaier's compensation (A. Neumaier,
/// "Rundungsfehleranalyse einiger Verfahren zur Summation endlicher Summen", ZAMM 54, 1974):
/// the rounding of `(s + big) - big` is carried in `comp` instead of lost, so a huge value
/// passing through the window does not leave its rounding error behind.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Sum {
    sum: f64,
    comp: f64,
}

impl Sum {
    fn add(&mut self, x: f64) {
        let t = self.sum + x;
        self.comp += if self.sum.abs() >= x.abs() {
            (self.sum - t) + x
        } else {
            (x - t) + self.sum
        };
        self.sum = t;
    }

    fn value(&self) -> f64 {
        self.sum + self.comp
    }
}

/// `count`/`sum`/`min`/`max`/`last` of values in arrival order, and the `stat` taken of them:
/// what a feature's scan accumulates, and what the running streams answer with.
#[derive(Clone, Copy)]
pub(crate) struct Acc {
    n: u64,
    sum: f64,
    min: f64,
    max: f64,
    last: f64,
}

impl Acc {
    pub(crate) const EMPTY: Acc = Acc {
        n: 0,
        sum: 0.0,
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
        last: 0.0,
    };

    pub(crate) fn add(&mut self, v: f64) {
        self.n += 1;
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.last = v;
    }

    /// Every stat over no values is 0.
    pub(crate) fn stat(&self, stat: Stat) -> f64 {
        if self.n == 0 {
            return 0.0;
        }
        match stat {
            Stat::Count => self.n as f64,
            Stat::Sum => self.sum,
            Stat::Mean => self.sum / self.n as f64,
            Stat::Min => self.min,
            Stat::Max => self.max,
            Stat::Last => self.last,
        }
    }
}

/// Sliding-window statistics of one stream of values (one field of one event kind).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stream {
    n: u32,
    sum: Sum,
    /// Value and sequence number of the newest element.
    last: (f64, u64),
    /// Whether `min`/`max` are kept (a feature asks for them; see [`Window::watch_order`]).
    ordered: bool,
    /// Increasing values (front = minimum of the window), with sequence numbers.
    min: VecDeque<(u64, f64)>,
    /// Decreasing values (front = maximum of the window).
    max: VecDeque<(u64, f64)>,
}

impl Stream {
    /// `capacity`: the window's; a queue never holds more, so the first value reserves it all
    /// (no allocation after a stream's first value).
    fn push(&mut self, seq: u64, v: f64, capacity: usize) {
        self.n += 1;
        self.sum.add(v);
        self.last = (v, seq);
        if !self.ordered {
            return;
        }
        if self.min.capacity() == 0 {
            self.min.reserve_exact(capacity);
            self.max.reserve_exact(capacity);
        }
        while self.min.back().is_some_and(|&(_, b)| b > v) {
            self.min.pop_back();
        }
        self.min.push_back((seq, v));
        while self.max.back().is_some_and(|&(_, b)| b < v) {
            self.max.pop_back();
        }
        self.max.push_back((seq, v));
    }

    fn evict(&mut self, seq: u64, v: f64) {
        self.n = self.n.saturating_sub(1);
        if self.n == 0 {
            self.sum = Sum::default();
        } else {
            self.sum.add(-v);
        }
        if !self.ordered {
            return;
        }
        if self.min.front().is_some_and(|&(s, _)| s == seq) {
            self.min.pop_front();
        }
        if self.max.front().is_some_and(|&(s, _)| s == seq) {
            self.max.pop_front();
        }
    }

    fn clear(&mut self) {
        self.n = 0;
        self.sum = Sum::default();
        self.last = (0.0, 0);
        self.min.clear();
        self.max.clear();
    }

    /// Every stat over no values is 0; `None` for `min`/`max` of a stream that does not keep
    /// them (the caller scans).
    pub fn stat(&self, stat: Stat) -> Option<f64> {
        Self::stat_of_union(std::iter::once(self), stat)
    }

    /// A stat over the union of several streams (`None` as for [`Stream::stat`]).
    fn stat_of_union<'a>(streams: impl Iterator<Item = &'a Stream>, stat: Stat) -> Option<f64> {
        let mut acc = Acc::EMPTY;
        let mut last_seq = None;
        for s in streams {
            if matches!(stat, Stat::Min | Stat::Max) && !s.ordered {
                return None;
            }
            if s.n == 0 {
                continue;
            }
            acc.n += u64::from(s.n);
            acc.sum += s.sum.value();
            acc.min = acc
                .min
                .min(s.min.front().map_or(f64::INFINITY, |&(_, v)| v));
            acc.max = acc
                .max
                .max(s.max.front().map_or(f64::NEG_INFINITY, |&(_, v)| v));
            if last_seq.is_none_or(|q| s.last.1 > q) {
                last_seq = Some(s.last.1);
                acc.last = s.last.0;
            }
        }
        Some(acc.stat(stat))
    }
}

/// Σ over the window's events of one kind of 0.5^((r − ts)/1000/h), for `now` scaling.
#[derive(Debug, Clone, PartialEq)]
struct Recency {
    kind: EventKind,
    half_life_s: f64,
    reference_ms: f64,
    /// Events in the sum.
    n: u32,
    sum: Sum,
}

impl Recency {
    fn term(&self, ts: f64) -> f64 {
        ((ts - self.reference_ms) / 1000.0 / self.half_life_s).exp2()
    }
}

/// What asking the window to keep a statistic did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Watched {
    /// Newly kept: the statistics must be rebuilt from the window.
    Added,
    /// Kept already.
    Already,
    /// Cannot be kept (the feature scans instead).
    Full,
}

/// The running statistics of a session window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Window {
    values: [Stream; KIND_COUNT],
    prices: [Stream; KIND_COUNT],
    /// Per category id, per kind: events in the window.
    categories: Vec<[u32; KIND_COUNT]>,
    /// Per kind: events in the window that carry a category.
    with_category: [u32; KIND_COUNT],
    /// The newest timestamp the window has held (an upper bound of its newest event's).
    ts_max: f64,
    recency: Vec<Recency>,
    /// Sequence number of the next event to enter the window.
    next_seq: u64,
    /// Recency sums hold the terms of the window's events up to (not including) this one; the
    /// rest are added by [`Window::sync_recency`] (ingestion does not pay for them).
    recency_synced: u64,
    /// Events the window holds at most.
    capacity: usize,
    /// Evictions since the last rebuild from the window.
    evictions: usize,
    /// Set when the statistics should be rebuilt from the window (see [`Window::dirty`]).
    dirty: bool,
}

impl Window {
    /// Statistics for a window of at most `capacity` events.
    pub fn new(capacity: usize) -> Window {
        Window {
            capacity,
            ts_max: f64::NEG_INFINITY,
            ..Window::default()
        }
    }

    /// Event `seq` entered the window.
    pub fn push(&mut self, seq: u64, e: &Event) {
        self.add(seq, e);
    }

    fn add(&mut self, seq: u64, e: &Event) {
        let k = e.kind.index();
        if let (Some(v), Some(s)) = (e.value, self.values.get_mut(k)) {
            s.push(seq, v, self.capacity);
        }
        if let (Some(p), Some(s)) = (e.price, self.prices.get_mut(k)) {
            s.push(seq, p, self.capacity);
        }
        if let Some(c) = e.category {
            let c = usize::from(c);
            if self.categories.len() <= c {
                self.categories.resize(c + 1, [0; KIND_COUNT]);
            }
            if let Some(n) = self.categories.get_mut(c).and_then(|row| row.get_mut(k)) {
                *n += 1;
            }
            if let Some(n) = self.with_category.get_mut(k) {
                *n += 1;
            }
        }
        self.ts_max = self.ts_max.max(e.ts);
        self.next_seq = seq + 1;
    }

    /// Adds the recency terms of event `e`.
    fn add_recency(&mut self, e: &Event) {
        for r in self.recency.iter_mut().filter(|r| r.kind == e.kind) {
            r.n += 1;
            let term = r.term(e.ts);
            r.sum.add(term);
            if !(term <= RECENCY_TERM_LIMIT && r.sum.value().is_finite()) {
                self.dirty = true;
            }
        }
    }

    /// The sequence number of the first event whose recency terms are not in the sums yet.
    pub fn recency_synced(&self) -> u64 {
        self.recency_synced
    }

    /// Adds the recency terms of the events that entered since the last sync (`events`: the
    /// window's, oldest first, with their sequence numbers). Then [`Window::recency`] answers.
    pub fn sync_recency<'a>(&mut self, events: impl Iterator<Item = (u64, &'a Event)> + Clone) {
        if self.recency_synced == self.next_seq {
            return;
        }
        let from = self.recency_synced;
        let new = events.filter(move |&(seq, _)| seq >= from);
        // An empty sum takes the newest of its new events as reference: every term ≤ 1.
        for r in self.recency.iter_mut().filter(|r| r.n == 0) {
            r.sum = Sum::default();
            r.reference_ms = new
                .clone()
                .filter(|(_, e)| e.kind == r.kind)
                .map(|(_, e)| e.ts)
                .fold(f64::NEG_INFINITY, f64::max);
        }
        for (_, e) in new {
            self.add_recency(e);
        }
        self.recency_synced = self.next_seq;
    }

    /// Event `seq` left the window.
    pub fn evict(&mut self, seq: u64, e: &Event) {
        let k = e.kind.index();
        if let (Some(v), Some(s)) = (e.value, self.values.get_mut(k)) {
            s.evict(seq, v);
        }
        if let (Some(p), Some(s)) = (e.price, self.prices.get_mut(k)) {
            s.evict(seq, p);
        }
        if let Some(c) = e.category {
            if let Some(n) = self
                .categories
                .get_mut(usize::from(c))
                .and_then(|row| row.get_mut(k))
            {
                *n = n.saturating_sub(1);
            }
            if let Some(n) = self.with_category.get_mut(k) {
                *n = n.saturating_sub(1);
            }
        }
        // Only an event whose terms were added leaves the sums.
        let added = seq < self.recency_synced;
        for r in self
            .recency
            .iter_mut()
            .filter(|r| added && r.kind == e.kind)
        {
            r.n = r.n.saturating_sub(1);
            if r.n == 0 {
                r.sum = Sum::default();
            } else {
                r.sum.add(-r.term(e.ts));
            }
        }
        self.evictions += 1;
        if self.evictions >= self.capacity {
            self.dirty = true;
        }
    }

    /// Whether the statistics should be rebuilt from the window now: a recency term grew past
    /// its limit (the reference time must move), or `capacity` evictions have accumulated
    /// rounding since the last rebuild.
    pub fn dirty(&self) -> bool {
        self.dirty
    }

    /// Recomputes everything from the window's events (oldest first, with their sequence
    /// numbers); the recency sums are left for the next [`Window::sync_recency`].
    pub fn rebuild<'a>(&mut self, events: impl Iterator<Item = (u64, &'a Event)>) {
        self.values.iter_mut().for_each(Stream::clear);
        self.prices.iter_mut().for_each(Stream::clear);
        self.categories
            .iter_mut()
            .for_each(|row| *row = [0; KIND_COUNT]);
        self.with_category = [0; KIND_COUNT];
        self.ts_max = f64::NEG_INFINITY;
        // Recency sums start over from the window's first event at the next sync.
        for r in &mut self.recency {
            r.sum = Sum::default();
            r.n = 0;
        }
        let mut first = None;
        for (seq, e) in events {
            first.get_or_insert(seq);
            self.add(seq, e);
        }
        self.recency_synced = first.unwrap_or(self.next_seq);
        self.evictions = 0;
        self.dirty = false;
    }

    /// Registers a recency sum for `(kind, half_life_s)`; `Full` when [`MAX_RECENCY`] are
    /// kept already (that feature is then computed by scanning). The caller rebuilds after
    /// `Added`.
    pub fn watch_recency(&mut self, kind: EventKind, half_life_s: f64) -> Watched {
        if self.recency_index(kind, half_life_s).is_some() {
            return Watched::Already;
        }
        if self.recency.len() >= MAX_RECENCY || !(half_life_s.is_finite() && half_life_s > 0.0) {
            return Watched::Full;
        }
        self.recency.push(Recency {
            kind,
            half_life_s,
            reference_ms: 0.0,
            n: 0,
            sum: Sum::default(),
        });
        Watched::Added
    }

    fn recency_index(&self, kind: EventKind, half_life_s: f64) -> Option<usize> {
        self.recency
            .iter()
            .position(|r| r.kind == kind && r.half_life_s.to_bits() == half_life_s.to_bits())
    }

    /// Σ over window events of `kind` of 0.5^(max(0, now − ts)/1000/h), when kept, synced
    /// ([`Window::sync_recency`]) and valid for this `now` (no event the window has held is
    /// newer than `now`); else `None` and the caller scans.
    pub fn recency(&self, kind: EventKind, half_life_s: f64, now_ms: f64) -> Option<f64> {
        let r = self.recency.get(self.recency_index(kind, half_life_s)?)?;
        if self.recency_synced != self.next_seq || self.ts_max > now_ms {
            return None;
        }
        if r.n == 0 {
            return Some(0.0);
        }
        Some(r.sum.value().max(0.0) * (-(now_ms - r.reference_ms) / 1000.0 / half_life_s).exp2())
    }

    pub fn value(&self, kind: EventKind) -> Option<&Stream> {
        self.values.get(kind.index())
    }

    pub fn price(&self, kind: EventKind) -> Option<&Stream> {
        self.prices.get(kind.index())
    }

    /// Keeps the sliding minimum and maximum of `kind`'s values (`price: false`) or prices;
    /// the caller rebuilds after `Added`. Without it those two stats are answered `None`
    /// (ingestion does not pay for order statistics no feature asks for).
    pub fn watch_order(&mut self, kind: EventKind, price: bool) -> Watched {
        let streams = if price {
            &mut self.prices
        } else {
            &mut self.values
        };
        match streams.get_mut(kind.index()) {
            Some(s) if !s.ordered => {
                s.ordered = true;
                Watched::Added
            }
            _ => Watched::Already,
        }
    }

    /// A stat over the prices of the events whose kind is in `mask` (see [`kind_mask`]).
    pub fn price_of_kinds(&self, mask: u16, stat: Stat) -> Option<f64> {
        Stream::stat_of_union(
            self.prices
                .iter()
                .enumerate()
                .filter(|(k, _)| mask & (1 << k) != 0)
                .map(|(_, s)| s),
            stat,
        )
    }

    /// Events of the kinds in `mask` (see [`kind_mask`]) in category `id`.
    pub fn category_count(&self, id: u16, mask: u16) -> u32 {
        self.categories
            .get(usize::from(id))
            .map_or(0, |row| masked_sum(row, mask))
    }

    /// Events of the kinds in `mask` that carry a category.
    pub fn with_category(&self, mask: u16) -> u32 {
        masked_sum(&self.with_category, mask)
    }
}

/// A set of event kinds as bits (a kind listed twice counts once).
pub fn kind_mask(kinds: &[EventKind]) -> u16 {
    kinds.iter().fold(0, |m, k| m | (1 << k.index()))
}

fn masked_sum(row: &[u32; KIND_COUNT], mask: u16) -> u32 {
    row.iter()
        .enumerate()
        .filter(|(k, _)| mask & (1 << k) != 0)
        .map(|(_, n)| n)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::kind_mask;
    use crate::event::{EventInput, EventKind, Session, SessionLimits};
    use crate::features::Stat;
    use crate::rng::Rng;

    const T0: f64 = 1_700_000_000_000.0;
    const STATS: [Stat; 6] = [
        Stat::Count,
        Stat::Sum,
        Stat::Mean,
        Stat::Min,
        Stat::Max,
        Stat::Last,
    ];

    fn close(got: f64, want: f64) -> bool {
        (got - want).abs() <= 1e-9 * want.abs().max(1.0)
    }

    /// Direct formula: a stat over the values of the window events whose kind is in `mask`.
    fn scan(s: &Session, mask: u16, price: bool, stat: Stat) -> f64 {
        let vals: Vec<f64> = s
            .iter()
            .filter(|e| mask & (1 << e.kind.index()) != 0)
            .filter_map(|e| if price { e.price } else { e.value })
            .collect();
        let Some(&last) = vals.last() else {
            return 0.0;
        };
        let sum: f64 = vals.iter().sum();
        match stat {
            Stat::Count => vals.len() as f64,
            Stat::Sum => sum,
            Stat::Mean => sum / vals.len() as f64,
            Stat::Min => vals.iter().copied().fold(f64::INFINITY, f64::min),
            Stat::Max => vals.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            Stat::Last => last,
        }
    }

    /// `max_seen`: the newest timestamp the session was ever given.
    fn check(s: &Session, now: f64, watched: &[(EventKind, f64)], max_seen: f64) {
        let w = s.window();
        for k in EventKind::ALL {
            for stat in STATS {
                let m = kind_mask(&[k]);
                let got = w.value(k).and_then(|v| v.stat(stat)).expect("kept");
                assert!(close(got, scan(s, m, false, stat)), "{k:?} value {stat:?}");
                let got = w.price_of_kinds(m, stat).expect("kept");
                assert!(close(got, scan(s, m, true, stat)), "{k:?} price {stat:?}");
            }
        }
        let mask = kind_mask(&[
            EventKind::ProductView,
            EventKind::AddToCart,
            EventKind::ProductView,
        ]);
        for stat in STATS {
            let got = w.price_of_kinds(mask, stat).expect("kept");
            assert!(close(got, scan(s, mask, true, stat)));
        }
        let with_cat = s
            .iter()
            .filter(|e| e.category.is_some() && mask & (1 << e.kind.index()) != 0);
        assert_eq!(w.with_category(mask) as usize, with_cat.count());
        for id in 0..s.categories().len() as u16 {
            let n = s
                .iter()
                .filter(|e| e.category == Some(id) && mask & (1 << e.kind.index()) != 0)
                .count();
            assert_eq!(w.category_count(id, mask) as usize, n);
        }
        let future = s.iter().any(|e| e.ts > now);
        for &(k, h) in watched {
            let want: f64 = s
                .iter()
                .filter(|e| e.kind == k)
                .map(|e| 0.5f64.powf((now - e.ts).max(0.0) / 1000.0 / h))
                .sum();
            match w.recency(k, h, now) {
                Some(got) => {
                    assert!(!future);
                    assert!(
                        (got - want).abs() <= 1e-9 * want + 1e-40,
                        "recency {k:?} h={h}: {got} vs {want}"
                    );
                }
                None => assert!(max_seen > now, "recency {k:?} h={h} not answered"),
            }
        }
        let cart = scan(s, kind_mask(&[EventKind::AddToCart]), true, Stat::Sum)
            - scan(s, kind_mask(&[EventKind::RemoveFromCart]), true, Stat::Sum);
        assert!(close(s.cart_value(), cart.max(0.0)));
    }

    /// Long random streams through small windows: every running statistic agrees with its
    /// direct formula after every event (out-of-order and future timestamps, huge and tiny
    /// values, half-lives short enough that the recency reference has to move).
    #[test]
    fn running_statistics_match_the_formulas() {
        let cats = ["a", "b", "c", "d", "e"];
        for (seed, capacity) in [(1u64, 1usize), (2, 7), (3, 64), (4, 300)] {
            let mut rng = Rng::from_seed(seed);
            let limits = SessionLimits {
                capacity,
                ..SessionLimits::default()
            };
            let mut s = Session::new(limits, T0);
            let watched = [
                (EventKind::ProductView, 120.0),
                (EventKind::AddToCart, 0.05),
                (EventKind::Click, 3600.0),
            ];
            for &(k, h) in &watched {
                assert!(s.watch_recency(k, h));
            }
            for k in EventKind::ALL {
                s.watch_order(k, false);
                s.watch_order(k, true);
            }
            let mut now = T0 + 1.0;
            let mut max_seen = f64::NEG_INFINITY;
            for i in 0..3_000 {
                now += (rng.next_f64() * 5_000.0).floor();
                // Mostly now; sometimes in the past (out of order) or slightly in the future.
                let ts = match rng.below(10) {
                    0 => T0 + (now - T0) * rng.next_f64(),
                    1 => now + 10_000.0,
                    _ => now,
                };
                let kind = EventKind::ALL[rng.below(EventKind::ALL.len())];
                let mut ev = EventInput::new(kind.as_str(), ts);
                let big = if rng.below(50) == 0 { 1e8 } else { 1.0 };
                match kind {
                    EventKind::Scroll => ev = ev.value(rng.next_f64()),
                    EventKind::Dwell => ev = ev.value((rng.next_f64() * 600.0).floor()),
                    EventKind::Custom => ev = ev.name("n").value(rng.normal() * big),
                    EventKind::ProductView | EventKind::AddToCart | EventKind::RemoveFromCart => {
                        ev = ev
                            .category(cats[rng.below(cats.len())])
                            .price((rng.next_f64() * 200.0 * big).round() / 100.0);
                    }
                    EventKind::Purchase if rng.below(2) == 0 => {
                        ev = ev.price(rng.next_f64() * 50.0)
                    }
                    _ => {}
                }
                s.push(&ev, now).unwrap();
                max_seen = max_seen.max(ts);
                if capacity < 100 || i % 7 == 0 {
                    let at = if i % 3 == 0 { now + 20_000.0 } else { now };
                    // Until synced, recency sums are not answered (the caller scans).
                    if let Some(&(k, h)) = watched.first() {
                        assert!(s.window().recency(k, h, at).is_none() || i == 0);
                    }
                    s.sync_stats();
                    check(&s, at, &watched, max_seen);
                }
            }
        }
    }

    /// A restored session continues the sequence numbers of the one it was taken from.
    #[test]
    fn restored_sessions_keep_running() {
        let mut s = Session::new(
            SessionLimits {
                capacity: 16,
                ..SessionLimits::default()
            },
            T0,
        );
        s.watch_recency(EventKind::Dwell, 60.0);
        for k in EventKind::ALL {
            s.watch_order(k, false);
            s.watch_order(k, true);
        }
        let mut now = T0;
        for i in 0..40 {
            now += 1_000.0;
            s.push(&EventInput::new("dwell", now).value(f64::from(i)), now)
                .unwrap();
        }
        let mut r = Session::from_state(s.to_state(), s.limits().clone()).unwrap();
        r.watch_recency(EventKind::Dwell, 60.0);
        for k in EventKind::ALL {
            r.watch_order(k, false);
            r.watch_order(k, true);
        }
        assert_eq!(r, s);
        for i in 0..40 {
            now += 1_000.0;
            let ev = EventInput::new("dwell", now).value(f64::from(100 + i));
            s.push(&ev, now).unwrap();
            r.push(&ev, now).unwrap();
            r.sync_stats();
            check(&r, now, &[(EventKind::Dwell, 60.0)], now);
            for stat in STATS {
                let a = r
                    .window()
                    .value(EventKind::Dwell)
                    .and_then(|v| v.stat(stat));
                let b = s
                    .window()
                    .value(EventKind::Dwell)
                    .and_then(|v| v.stat(stat));
                assert_eq!(a, b);
            }
        }
    }
}
