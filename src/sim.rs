//! A journey simulator: a documented generative model of storefront visitors, deterministic
//! under a seed. It is the ground truth the project trains propensity models on
//! (`models/train/`) and measures bandits against (regret against the oracle that knows each
//! visitor's intent). Every formula and table here is restated in `models/README.md`.
//!
//! One visitor = one session:
//! 1. `intent` ~ `P(intent | device)`, `device` ~ [`DEVICES`] first; `hour_of_day` from the
//!    intent's hour profile; a `favourite` category uniform over [`CATEGORIES`].
//! 2. Events: a `page_view` at `start_ms`, then steps. Each step draws the next action from the
//!    intent's weights ([`IntentProfile::weights`]), adjusted by the cart: `add_to_cart` needs a
//!    product viewed before, `remove_from_cart` and `checkout_start` need a non-empty cart. After
//!    a `checkout_start` the visitor buys with the intent's `buy` probability, else leaves with
//!    probability ½ or goes on browsing. `exit` ends the session; so does reaching
//!    [`MAX_EVENTS`]. Gaps between events are exponential with the intent's mean.
//! 3. The decision point: `decision_index` k uniform in `1..=min(len, 12)`; `decision_ms` is
//!    1 s after event k−1. Models see events `[0, k)` and the context; labels look after it:
//!    `converted` = the session's first `purchase` is at index ≥ k (a visitor who
//!    already bought before the decision point does not count as converted by it); `churned` = not converted and at most 2 events
//!    after the decision point.
//! 4. Responses to content: [`response_probability`]`(intent, tag)` is the probability that a
//!    visitor of that intent responds (clicks/converts) to a variant carrying `tag`.

use serde::Serialize;

use crate::rng::{splitmix64, Rng};

/// Longest simulated session.
pub const MAX_EVENTS: usize = 60;

/// Latent intents, in the order of every table below.
pub const INTENTS: [&str; 5] = [
    "browsing",
    "researching",
    "ready_to_buy",
    "bargain_hunting",
    "about_to_churn",
];

pub const DEVICES: [(&str, f64); 3] = [("mobile", 0.55), ("desktop", 0.35), ("tablet", 0.10)];

/// `P(intent | device)`, rows in [`DEVICES`] order, columns in [`INTENTS`] order.
pub const INTENT_GIVEN_DEVICE: [[f64; 5]; 3] = [
    [0.38, 0.14, 0.12, 0.16, 0.20],
    [0.28, 0.28, 0.18, 0.16, 0.10],
    [0.36, 0.20, 0.12, 0.18, 0.14],
];

/// Categories and their base prices; the first four are the shipped feature spec's vocabulary,
/// the last two fall outside it on purpose.
pub const CATEGORIES: [(&str, f64); 6] = [
    ("shoes", 80.0),
    ("bags", 120.0),
    ("dresses", 70.0),
    ("accessories", 30.0),
    ("home", 50.0),
    ("beauty", 25.0),
];

const QUERIES: [&str; 8] = [
    "red", "sale", "leather", "summer", "gift", "black", "size 40", "new",
];

/// Actions a step can take, in the order of [`IntentProfile::weights`].
pub const ACTIONS: [&str; 9] = [
    "page_view",
    "product_view",
    "search",
    "add_to_cart",
    "remove_from_cart",
    "click",
    "scroll",
    "dwell",
    "exit",
];

/// How one intent behaves.
#[derive(Debug, Clone, Copy)]
pub struct IntentProfile {
    /// Relative weights of [`ACTIONS`].
    pub weights: [f64; 9],
    /// Weight of `checkout_start` when the cart is not empty.
    pub checkout: f64,
    /// P(purchase | checkout started).
    pub buy: f64,
    /// P(the next category event is in the favourite category); else uniform.
    pub focus: f64,
    /// Price multiplier of the items this intent looks at.
    pub price_factor: f64,
    /// Mean gap between events, seconds.
    pub gap_s: f64,
    /// Mean dwell, seconds.
    pub dwell_s: f64,
    /// Scroll depth is `u^(1/depth)`, u uniform: larger = deeper.
    pub depth: f64,
    /// P(hour is in the evening peak 18–22); else uniform over 0–23.
    pub evening: f64,
}

pub const PROFILES: [IntentProfile; 5] = [
    // browsing
    IntentProfile {
        weights: [3.0, 4.0, 1.0, 0.4, 0.1, 1.5, 2.0, 2.0, 1.2],
        checkout: 0.15,
        buy: 0.35,
        focus: 0.4,
        price_factor: 1.0,
        gap_s: 12.0,
        dwell_s: 15.0,
        depth: 1.0,
        evening: 0.3,
    },
    // researching
    IntentProfile {
        weights: [1.5, 5.0, 2.5, 0.5, 0.2, 1.0, 2.5, 3.0, 0.7],
        checkout: 0.3,
        buy: 0.5,
        focus: 0.8,
        price_factor: 1.2,
        gap_s: 25.0,
        dwell_s: 45.0,
        depth: 2.5,
        evening: 0.3,
    },
    // ready_to_buy
    IntentProfile {
        weights: [1.0, 3.0, 0.8, 2.0, 0.2, 1.0, 1.0, 1.5, 0.5],
        checkout: 1.5,
        buy: 0.75,
        focus: 0.85,
        price_factor: 1.0,
        gap_s: 15.0,
        dwell_s: 20.0,
        depth: 1.5,
        evening: 0.6,
    },
    // bargain_hunting
    IntentProfile {
        weights: [2.0, 4.0, 2.0, 0.8, 0.4, 1.5, 1.5, 1.0, 1.0],
        checkout: 0.4,
        buy: 0.45,
        focus: 0.5,
        price_factor: 0.7,
        gap_s: 14.0,
        dwell_s: 15.0,
        depth: 1.2,
        evening: 0.4,
    },
    // about_to_churn
    IntentProfile {
        weights: [2.0, 1.0, 0.3, 0.1, 0.05, 0.5, 1.0, 0.5, 3.0],
        checkout: 0.05,
        buy: 0.15,
        focus: 0.3,
        price_factor: 1.0,
        gap_s: 6.0,
        dwell_s: 4.0,
        depth: 0.5,
        evening: 0.2,
    },
];

/// Content tags the simulator knows, and `P(response | intent, tag)` in [`INTENTS`] order.
/// Copy: neutral, urgent, detailed, retention. Layout: grid, list. Offer: none, discount,
/// free_shipping.
pub const RESPONSES: [(&str, [f64; 5]); 9] = [
    ("neutral", [0.05, 0.04, 0.08, 0.04, 0.02]),
    ("urgent", [0.04, 0.03, 0.14, 0.06, 0.015]),
    ("detailed", [0.05, 0.09, 0.07, 0.04, 0.02]),
    ("retention", [0.03, 0.03, 0.05, 0.05, 0.06]),
    ("grid", [0.06, 0.05, 0.07, 0.07, 0.03]),
    ("list", [0.04, 0.08, 0.07, 0.05, 0.03]),
    ("none", [0.03, 0.04, 0.09, 0.03, 0.01]),
    ("discount", [0.04, 0.05, 0.08, 0.11, 0.05]),
    ("free_shipping", [0.035, 0.06, 0.12, 0.06, 0.02]),
];

/// `P(response | intent, tag)`; `None` for an unknown intent index or tag.
pub fn response_probability(intent: usize, tag: &str) -> Option<f64> {
    RESPONSES
        .iter()
        .find(|(t, _)| *t == tag)
        .and_then(|(_, p)| p.get(intent).copied())
}

/// A simulated event, in the wire format of [`crate::EventInput`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimEvent {
    pub kind: &'static str,
    pub ts: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

impl SimEvent {
    /// This event as engine input (what `Session::push` and `Engine::track` take).
    pub fn input(&self) -> crate::EventInput<'_> {
        let mut ev = crate::EventInput::new(self.kind, self.ts);
        ev.category = self.category.map(Into::into);
        ev.price = self.price;
        ev.item_id = self.item_id.as_deref().map(Into::into);
        ev.query = self.query.map(Into::into);
        ev.value = self.value;
        ev
    }
}

/// The host context of a visit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimContext {
    pub device: &'static str,
    pub hour_of_day: f64,
}

/// One simulated visitor: the JSONL line `edgewise simulate` writes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimSession {
    pub id: u64,
    pub intent: &'static str,
    #[serde(skip)]
    pub intent_index: usize,
    pub favourite: &'static str,
    pub context: SimContext,
    pub start_ms: f64,
    pub decision_index: usize,
    pub decision_ms: f64,
    pub events: Vec<SimEvent>,
    pub converted: bool,
    pub churned: bool,
}

/// Sessions start on 2026-01-01T00:00:00Z plus one minute per session id.
pub const EPOCH_MS: f64 = 1_767_225_600_000.0;

fn pick(rng: &mut Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.next_f64() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len().saturating_sub(1)
}

fn exponential(rng: &mut Rng, mean: f64) -> f64 {
    -mean * (1.0 - rng.next_f64()).ln()
}

/// Standard normal (Box–Muller).
fn normal(rng: &mut Rng) -> f64 {
    let u1 = 1.0 - rng.next_f64();
    let u2 = rng.next_f64();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// The simulator: `session(id)` depends only on `(seed, id)`, so any slice of a run can be
/// regenerated alone.
#[derive(Debug, Clone, Copy)]
pub struct Simulator {
    pub seed: u64,
}

impl Simulator {
    pub fn new(seed: u64) -> Self {
        Simulator { seed }
    }

    fn rng_for(&self, id: u64) -> Rng {
        let mut s = self.seed ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Rng::from_seed(splitmix64(&mut s))
    }

    /// Draws the visitor's intent, device and hour without the events (cheap; for bandit
    /// simulations that need only who the visitor is).
    pub fn visitor(&self, id: u64) -> (usize, SimContext) {
        let mut rng = self.rng_for(id);
        draw_visitor(&mut rng)
    }

    pub fn session(&self, id: u64) -> SimSession {
        let mut rng = self.rng_for(id);
        let (intent, context) = draw_visitor(&mut rng);
        let p = PROFILES.get(intent).copied().unwrap_or(PROFILES[0]);
        let favourite = rng.below(CATEGORIES.len());
        let start_ms = EPOCH_MS + id as f64 * 60_000.0;
        let mut t = start_ms;
        let mut events = vec![SimEvent {
            kind: "page_view",
            ts: t,
            category: None,
            price: None,
            item_id: None,
            query: None,
            value: None,
        }];
        let mut cart: Vec<(usize, f64, u32)> = Vec::new();
        let mut viewed: Option<(usize, f64, u32)> = None;
        let mut checkout_started = false;
        let mut converted_at = None;
        while events.len() < MAX_EVENTS {
            t += (exponential(&mut rng, p.gap_s) * 1000.0).round().max(1.0);
            if checkout_started {
                checkout_started = false;
                if rng.next_f64() < p.buy {
                    converted_at.get_or_insert(events.len());
                    let value: f64 = cart.iter().map(|c| c.1).sum();
                    events.push(SimEvent {
                        price: Some(round2(value)),
                        ..bare("purchase", t, None)
                    });
                    cart.clear();
                    // After buying: a short tail, then gone.
                    if rng.next_f64() < 0.7 {
                        break;
                    }
                    continue;
                }
                if rng.next_f64() < 0.5 {
                    break;
                }
            }
            let mut w = p.weights;
            if viewed.is_none() {
                w[3] = 0.0;
            }
            if cart.is_empty() {
                w[4] = 0.0;
            }
            let checkout_w = if cart.is_empty() { 0.0 } else { p.checkout };
            let mut all = w.to_vec();
            all.push(checkout_w);
            let a = pick(&mut rng, &all);
            let ev = match a {
                0 => bare("page_view", t, None),
                1 => {
                    let c = if rng.next_f64() < p.focus {
                        favourite
                    } else {
                        rng.below(CATEGORIES.len())
                    };
                    let base = CATEGORIES.get(c).map_or(50.0, |x| x.1);
                    let price = round2(base * p.price_factor * (0.35 * normal(&mut rng)).exp());
                    let item = rng.below(400) as u32;
                    viewed = Some((c, price, item));
                    item_event("product_view", t, c, price, item)
                }
                2 => SimEvent {
                    query: QUERIES.get(rng.below(QUERIES.len())).copied(),
                    ..bare("search", t, None)
                },
                3 => {
                    let (c, price, item) = viewed.unwrap_or((favourite, 50.0, 0));
                    cart.push((c, price, item));
                    item_event("add_to_cart", t, c, price, item)
                }
                4 => {
                    let i = rng.below(cart.len());
                    if i < cart.len() {
                        let (c, price, item) = cart.remove(i);
                        item_event("remove_from_cart", t, c, price, item)
                    } else {
                        bare("click", t, None)
                    }
                }
                5 => bare("click", t, None),
                6 => {
                    let u = rng.next_f64();
                    bare("scroll", t, Some(round2(u.powf(1.0 / p.depth))))
                }
                7 => bare("dwell", t, Some(round2(exponential(&mut rng, p.dwell_s)))),
                8 => break,
                _ => {
                    checkout_started = true;
                    bare("checkout_start", t, None)
                }
            };
            events.push(ev);
        }
        let k = 1 + rng.below(events.len().min(12));
        let decision_ms = events.get(k - 1).map_or(start_ms, |e| e.ts) + 1000.0;
        let converted = converted_at.is_some_and(|i| i >= k);
        let churned = !converted && events.len() - k <= 2;
        SimSession {
            id,
            intent: INTENTS.get(intent).copied().unwrap_or("browsing"),
            intent_index: intent,
            favourite: CATEGORIES.get(favourite).map_or("shoes", |c| c.0),
            context,
            start_ms,
            decision_index: k,
            decision_ms,
            events,
            converted,
            churned,
        }
    }
}

fn draw_visitor(rng: &mut Rng) -> (usize, SimContext) {
    let dw: Vec<f64> = DEVICES.iter().map(|d| d.1).collect();
    let d = pick(rng, &dw);
    let intent = pick(
        rng,
        INTENT_GIVEN_DEVICE
            .get(d)
            .unwrap_or(&INTENT_GIVEN_DEVICE[0]),
    );
    let evening = PROFILES.get(intent).map_or(0.3, |p| p.evening);
    let hour = if rng.next_f64() < evening {
        18 + rng.below(5)
    } else {
        rng.below(24)
    };
    (
        intent,
        SimContext {
            device: DEVICES.get(d).map_or("mobile", |x| x.0),
            hour_of_day: hour as f64,
        },
    )
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn bare(kind: &'static str, ts: f64, value: Option<f64>) -> SimEvent {
    SimEvent {
        kind,
        ts,
        category: None,
        price: None,
        item_id: None,
        query: None,
        value,
    }
}

fn item_event(kind: &'static str, ts: f64, c: usize, price: f64, item: u32) -> SimEvent {
    SimEvent {
        category: CATEGORIES.get(c).map(|x| x.0),
        price: Some(price),
        item_id: Some(format!("sku-{item}")),
        ..bare(kind, ts, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_valid() {
        let s = Simulator::new(7);
        assert_eq!(s.session(3), s.session(3));
        assert_ne!(s.session(3), s.session(4));
        assert_ne!(Simulator::new(8).session(3), s.session(3));
        for id in 0..500 {
            let v = s.session(id);
            assert!(!v.events.is_empty() && v.events.len() <= MAX_EVENTS);
            assert!(v.decision_index >= 1 && v.decision_index <= v.events.len());
            assert!(v.events.windows(2).all(|w| w[0].ts < w[1].ts));
            assert_eq!(s.visitor(id).0, v.intent_index);
        }
    }

    #[test]
    fn intents_behave_differently() {
        let s = Simulator::new(1);
        let mut conv = [0u32; 5];
        let mut churn = [0u32; 5];
        let mut n = [0u32; 5];
        for id in 0..20_000 {
            let v = s.session(id);
            n[v.intent_index] += 1;
            conv[v.intent_index] += v.converted as u32;
            churn[v.intent_index] += v.churned as u32;
        }
        let rate = |x: [u32; 5], i: usize| x[i] as f64 / n[i].max(1) as f64;
        // ready_to_buy converts far more than about_to_churn, which churns far more.
        assert!(rate(conv, 2) > 3.0 * rate(conv, 4), "{conv:?} {n:?}");
        assert!(rate(churn, 4) > 1.5 * rate(churn, 1), "{churn:?} {n:?}");
        assert!(n.iter().all(|&x| x > 1000));
    }
}
