//! Epsilon-greedy over per-arm mean rewards (Sutton & Barto, "Reinforcement Learning: An
//! Introduction", 2nd ed. 2018, §2.2–2.4; the ε-greedy exploration of Vowpal Wabbit's
//! `--cb_explore --epsilon`).
//!
//! Each arm keeps `n` (rewarded trials) and `sum` (total reward). Its estimate is the
//! Laplace-smoothed mean `(sum + 0.5) / (n + 1)`, so an untried arm starts at 0.5 instead of
//! being locked out by the first arm that earns anything. With `G` the set of eligible arms
//! whose estimate is the maximum and `K` the number of eligible arms:
//! `P(a) = ε / K + (1 − ε) · [a ∈ G] / |G|`.

use serde::{Deserialize, Serialize};

use super::{Distribution, Policy, PolicyContext, Prior};
use crate::rng::Rng;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpsilonGreedy {
    epsilon: f64,
    /// Rewarded trials per arm.
    n: Vec<f64>,
    /// Total reward per arm.
    sum: Vec<f64>,
}

impl EpsilonGreedy {
    pub fn new(epsilon: f64, arms: usize) -> Self {
        EpsilonGreedy {
            epsilon: epsilon.clamp(0.0, 1.0),
            n: vec![0.0; arms],
            sum: vec![0.0; arms],
        }
    }

    pub fn arms(&self) -> usize {
        self.n.len()
    }

    /// The smoothed mean of `arm` (0.5 when untried or unknown).
    pub fn estimate(&self, arm: usize) -> f64 {
        match (self.n.get(arm), self.sum.get(arm)) {
            (Some(n), Some(s)) => (s + 0.5) / (n + 1.0),
            _ => 0.5,
        }
    }

    /// Prior pseudo-observations added to the counts.
    pub fn merge_prior(&mut self, prior: &[Prior]) {
        for p in prior {
            if let (Some(n), Some(s)) = (self.n.get_mut(p.arm), self.sum.get_mut(p.arm)) {
                if p.trials.is_finite() && p.trials > 0.0 && p.reward.is_finite() {
                    *n += p.trials;
                    *s += p.reward.clamp(0.0, p.trials);
                }
            }
        }
    }

    pub fn trials(&self, arm: usize) -> f64 {
        self.n.get(arm).copied().unwrap_or(0.0)
    }

    /// Restored state sanity: matching lengths, finite non-negative counts, sum ≤ n.
    pub fn is_valid(&self) -> bool {
        self.n.len() == self.sum.len()
            && self.epsilon.is_finite()
            && (0.0..=1.0).contains(&self.epsilon)
            && self
                .n
                .iter()
                .zip(&self.sum)
                .all(|(n, s)| n.is_finite() && s.is_finite() && *n >= 0.0 && *s >= 0.0 && s <= n)
    }
}

impl Policy for EpsilonGreedy {
    fn name(&self) -> &'static str {
        "epsilon_greedy"
    }

    fn distribution_into(
        &mut self,
        eligible: &[usize],
        ctx: &PolicyContext<'_>,
        _rng: &mut Rng,
        out: &mut Distribution,
    ) {
        out.reset(eligible);
        let k = eligible.len().max(1) as f64;
        out.estimates
            .extend(eligible.iter().map(|&a| self.estimate(a)));
        let best = out
            .estimates
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        out.greedy.extend(out.estimates.iter().map(|&e| e == best));
        let g = out.greedy.iter().filter(|&&x| x).count().max(1) as f64;
        let eps = self.epsilon;
        out.probs.extend(
            out.greedy
                .iter()
                .map(|&is_best| eps / k + if is_best { (1.0 - eps) / g } else { 0.0 }),
        );
        out.note = ctx.note(|| {
            let best_n: f64 = eligible
                .iter()
                .zip(&out.greedy)
                .filter(|(_, &b)| b)
                .map(|(&a, _)| self.trials(a))
                .sum();
            let leader = if g > 1.0 {
                format!("{g} variants tie for the best estimate {best:.3}")
            } else {
                format!("best estimate {best:.3}")
            };
            format!("epsilon-greedy (ε = {eps:.2}): {leader} after {best_n} rewarded trials")
        });
    }

    fn update(&mut self, arm: usize, _ctx: &PolicyContext<'_>, reward: f64, _p: f64) {
        if let (Some(n), Some(s)) = (self.n.get_mut(arm), self.sum.get_mut(arm)) {
            *n += 1.0;
            *s += reward.clamp(0.0, 1.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bandit::{assert_distribution, sample};

    #[test]
    fn probabilities_follow_the_formula() {
        let mut p = EpsilonGreedy::new(0.2, 4);
        let ctx = PolicyContext::default();
        let d = p.distribution(&[0, 1, 3], &ctx, &mut Rng::from_seed(1));
        assert_distribution(&d);
        assert!(d.greedy.iter().all(|&g| g), "all untried arms tie");
        for _ in 0..5 {
            p.update(1, &ctx, 1.0, 0.5);
        }
        let d = p.distribution(&[0, 1, 3], &ctx, &mut Rng::from_seed(1));
        assert_distribution(&d);
        assert!((d.probs[1] - (0.2 / 3.0 + 0.8)).abs() < 1e-12);
        assert!((d.probs[0] - 0.2 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn learns_the_better_arm() {
        // Two Bernoulli arms, 0.2 and 0.6: after 2,000 rounds most pulls go to arm 1.
        let mut p = EpsilonGreedy::new(0.1, 2);
        let mut rng = Rng::from_seed(3);
        let ctx = PolicyContext::default();
        let mut pulls = [0u32; 2];
        for _ in 0..2000 {
            let c = sample(
                &p.distribution(&[0, 1], &ctx, &mut Rng::from_seed(0)),
                &mut rng,
            )
            .unwrap();
            pulls[c.arm] += 1;
            let r = if rng.next_f64() < [0.2, 0.6][c.arm] {
                1.0
            } else {
                0.0
            };
            p.update(c.arm, &ctx, r, c.probability);
        }
        assert!(pulls[1] > 1600, "pulls {pulls:?}");
    }
}
