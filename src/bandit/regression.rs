//! Exploration over a learned reward regressor, as Vowpal Wabbit's `--cb_explore_adf` does:
//! the regressor ([`super::ridge::Ridge`], online least squares per arm, importance weight 1
//! because only the chosen arm's reward is observed and regressed on) predicts each eligible
//! arm's reward and an exploration piece turns the predictions into probabilities:
//!
//! * `squarecb`: inverse gap weighting with `γ_t = γ₀ · t^p` (Foster & Rakhlin, "Beyond UCB:
//!   Optimal and Efficient Contextual Bandits with Regression Oracles", ICML 2020; VW's defaults
//!   `--gamma_scale 10 --gamma_exponent 0.5`), `t` = rewards learned so far + 1;
//! * `epsilon`: ε-greedy on the predictions (Langford & Zhang, "The Epoch-Greedy Algorithm for
//!   Contextual Multi-armed Bandits", NIPS 2007; VW `--epsilon`).

use serde::{Deserialize, Serialize};

use super::ridge::Ridge;
use super::{explore, Distribution, Policy, PolicyContext, Prior};
use crate::rng::Rng;
use crate::text::Fixed;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Exploration {
    SquareCb {
        gamma_scale: f64,
        gamma_exponent: f64,
    },
    Epsilon {
        epsilon: f64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Regression {
    explore: Exploration,
    /// Rewards learned so far.
    t: f64,
    ridge: Ridge,
}

impl Regression {
    pub fn new(arms: usize, dim: usize, lambda: f64, explore: Exploration) -> Regression {
        Regression {
            explore,
            t: 0.0,
            ridge: Ridge::new(arms, dim, lambda),
        }
    }

    pub fn fits(&self, arms: usize, dim: usize) -> bool {
        self.ridge.arms() == arms
            && self.ridge.dim() == dim
            && self.ridge.is_valid()
            && self.t.is_finite()
            && self.t >= 0.0
    }

    pub fn merge_prior(&mut self, prior: &[Prior]) {
        self.ridge.merge_prior(prior);
    }

    pub fn gamma(&self) -> f64 {
        match self.explore {
            Exploration::SquareCb {
                gamma_scale,
                gamma_exponent,
            } => gamma_scale * (self.t + 1.0).powf(gamma_exponent),
            Exploration::Epsilon { .. } => 0.0,
        }
    }
}

impl Policy for Regression {
    fn name(&self) -> &'static str {
        match self.explore {
            Exploration::SquareCb { .. } => "squarecb",
            Exploration::Epsilon { .. } => "regression_epsilon",
        }
    }

    fn distribution_into(
        &mut self,
        eligible: &[usize],
        ctx: &PolicyContext<'_>,
        _rng: &mut Rng,
        out: &mut Distribution,
    ) {
        out.reset(eligible);
        self.ridge.load(ctx);
        out.estimates
            .extend(eligible.iter().map(|&a| self.ridge.mean(a)));
        let best = out
            .estimates
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        out.note = match self.explore {
            Exploration::SquareCb { .. } => {
                let g = self.gamma();
                explore::squarecb_into(&out.estimates, g, &mut out.probs, &mut out.greedy);
                ctx.note(|| {
                    format!(
                        "SquareCB (γ = {}): best predicted reward {}",
                        Fixed(g, 1),
                        Fixed(best, 3)
                    )
                })
            }
            Exploration::Epsilon { epsilon } => {
                explore::epsilon_greedy_into(
                    &out.estimates,
                    epsilon,
                    &mut out.probs,
                    &mut out.greedy,
                );
                ctx.note(|| {
                    format!(
                        "ε-greedy on a reward regressor (ε = {}): best predicted reward {}",
                        Fixed(epsilon, 2),
                        Fixed(best, 3)
                    )
                })
            }
        };
    }

    fn update(&mut self, arm: usize, ctx: &PolicyContext<'_>, reward: f64, _p: f64) {
        self.ridge.update(arm, ctx, reward);
        self.t += 1.0;
    }
}
