//! Exploration floor: every eligible arm keeps at least probability `min` (as in the
//! "ε-smoothing" of Langford & Zhang, "The Epoch-Greedy Algorithm for Contextual Multi-armed
//! Bandits", NIPS 2007, and Vowpal Wabbit's minimum-probability guarantees), so logged
//! decisions stay usable for inverse-propensity off-policy evaluation whatever the policy.
//!
//! `p' = (1 − K·min) · p + min`, which keeps the sum at 1 and the order of preferences. When
//! `K·min > 1` the floor is lowered to `1/K` (uniform).

use super::Distribution;

pub fn apply(d: &mut Distribution, min: f64) {
    let k = d.probs.len();
    if k == 0 || !(min.is_finite() && min > 0.0) {
        return;
    }
    let min = min.min(1.0 / k as f64);
    let scale = 1.0 - k as f64 * min;
    for p in &mut d.probs {
        *p = scale * *p + min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bandit::assert_distribution;

    #[test]
    fn floor_keeps_sum_and_minimum() {
        let mut d = Distribution {
            arms: vec![0, 1, 2],
            probs: vec![1.0, 0.0, 0.0],
            greedy: vec![true, false, false],
            estimates: Vec::new(),
            note: String::new(),
        };
        apply(&mut d, 0.05);
        assert_distribution(&d);
        assert!(d.probs.iter().all(|&p| p >= 0.05 - 1e-12));
        assert!(d.probs[0] > d.probs[1]);
        apply(&mut d, 0.9);
        assert_distribution(&d);
        assert!(d.probs.iter().all(|&p| (p - 1.0 / 3.0).abs() < 1e-12));
    }
}
