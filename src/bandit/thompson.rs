//! Beta–Bernoulli Thompson sampling, non-contextual, one posterior per arm (Thompson,
//! Biometrika 1933; Chapelle & Li, "An Empirical Evaluation of Thompson Sampling", NIPS 2011;
//! Russo et al., "A Tutorial on Thompson Sampling", 2018, §3).
//!
//! Arm `a` has the posterior `Beta(α_a, β_a)`, starting from `Beta(1, 1)` plus any prior; a
//! reward `r ∈ [0, 1]` adds `r` to `α` and `1 − r` to `β` (the fractional update of Agrawal &
//! Goyal, COLT 2012). Choosing: the probability that each eligible arm's draw is the largest is
//! estimated from `draws` joint draws ([`super::explore::sampled_argmax_into`]) and the choice is
//! sampled from that estimate, so the logged probability is exact.

use serde::{Deserialize, Serialize};

use super::{explore, Distribution, Policy, PolicyContext, Prior};
use crate::rng::Rng;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thompson {
    alpha: Vec<f64>,
    beta: Vec<f64>,
    draws: usize,
}

impl Thompson {
    pub fn new(arms: usize, draws: usize) -> Thompson {
        Thompson {
            alpha: vec![1.0; arms],
            beta: vec![1.0; arms],
            draws: draws.clamp(1, 10_000),
        }
    }

    pub fn arms(&self) -> usize {
        self.alpha.len()
    }

    pub fn is_valid(&self) -> bool {
        self.alpha.len() == self.beta.len()
            && (1..=10_000).contains(&self.draws)
            && self
                .alpha
                .iter()
                .chain(&self.beta)
                .all(|v| v.is_finite() && *v > 0.0)
    }

    /// Posterior mean of `arm`.
    pub fn mean(&self, arm: usize) -> f64 {
        match (self.alpha.get(arm), self.beta.get(arm)) {
            (Some(a), Some(b)) => a / (a + b),
            _ => 0.5,
        }
    }

    pub fn merge_prior(&mut self, prior: &[Prior]) {
        for p in prior {
            if let (Some(a), Some(b)) = (self.alpha.get_mut(p.arm), self.beta.get_mut(p.arm)) {
                if p.trials.is_finite() && p.trials > 0.0 && p.reward.is_finite() {
                    let r = p.reward.clamp(0.0, p.trials);
                    *a += r;
                    *b += p.trials - r;
                }
            }
        }
    }
}

impl Policy for Thompson {
    fn name(&self) -> &'static str {
        "thompson"
    }

    fn distribution_into(
        &mut self,
        eligible: &[usize],
        ctx: &PolicyContext<'_>,
        rng: &mut Rng,
        out: &mut Distribution,
    ) {
        out.reset(eligible);
        let (alpha, beta) = (&self.alpha, &self.beta);
        explore::sampled_argmax_into(
            eligible.len(),
            self.draws,
            rng,
            |i, r| match eligible.get(i) {
                Some(&a) => r.beta(
                    alpha.get(a).copied().unwrap_or(1.0),
                    beta.get(a).copied().unwrap_or(1.0),
                ),
                None => 0.0,
            },
            &mut out.probs,
            &mut out.greedy,
        );
        let lead = out
            .greedy
            .iter()
            .position(|&g| g)
            .and_then(|i| eligible.get(i));
        out.note = ctx.note(|| match lead {
            Some(&a) => format!(
                "Thompson sampling: leader's posterior mean {:.3} after {:.0} rewarded trials",
                self.mean(a),
                self.alpha
                    .get(a)
                    .zip(self.beta.get(a))
                    .map_or(0.0, |(x, y)| x + y - 2.0)
            ),
            None => "Thompson sampling".into(),
        });
        out.estimates.extend(eligible.iter().map(|&a| self.mean(a)));
    }

    fn update(&mut self, arm: usize, _ctx: &PolicyContext<'_>, reward: f64, _p: f64) {
        if let (Some(a), Some(b)) = (self.alpha.get_mut(arm), self.beta.get_mut(arm)) {
            let r = if reward.is_finite() {
                reward.clamp(0.0, 1.0)
            } else {
                0.0
            };
            *a += r;
            *b += 1.0 - r;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bandit::{assert_distribution, sample};

    #[test]
    fn learns_the_better_arm_and_takes_a_prior() {
        let mut p = Thompson::new(3, 64);
        let mut rng = Rng::from_seed(5);
        let ctx = PolicyContext::default();
        let mut pulls = [0u32; 3];
        for _ in 0..3000 {
            let d = p.distribution(&[0, 1, 2], &ctx, &mut rng);
            assert_distribution(&d);
            let c = sample(&d, &mut rng).unwrap();
            pulls[c.arm] += 1;
            let r = f64::from(u8::from(rng.next_f64() < [0.05, 0.10, 0.20][c.arm]));
            p.update(c.arm, &ctx, r, c.probability);
        }
        assert!(pulls[2] > 2000, "pulls {pulls:?}");
        // A confident prior makes an untried policy prefer arm 0 at once.
        let mut q = Thompson::new(3, 256);
        q.merge_prior(&[Prior {
            arm: 0,
            trials: 1000.0,
            reward: 300.0,
        }]);
        let d = q.distribution(&[0, 1, 2], &ctx, &mut rng);
        assert!(
            d.probs[0] < 0.5,
            "vs Beta(1,1) arms a 0.3 mean is often beaten"
        );
        q.merge_prior(&[
            Prior {
                arm: 1,
                trials: 1000.0,
                reward: 100.0,
            },
            Prior {
                arm: 2,
                trials: 1000.0,
                reward: 100.0,
            },
        ]);
        let d = q.distribution(&[0, 1, 2], &ctx, &mut rng);
        assert!(d.probs[0] > 0.99, "{:?}", d.probs);
        assert!(q.is_valid());
    }
}
