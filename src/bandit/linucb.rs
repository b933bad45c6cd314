//! LinUCB with disjoint linear models (Li, Chu, Langford & Schapire, "A Contextual-Bandit
//! Approach to Personalized News Article Recommendation", WWW 2010, Algorithm 1).
//!
//! Each arm's reward is modelled as `θ_aᵀ x` over the context `x = [1, features, scores]`
//! ([`super::ridge::Ridge`]); the arm with the highest upper confidence bound
//! `θ_aᵀ x + α √(xᵀ A_a⁻¹ x)` is chosen (ties shared). Incremental: O(K d²) per decision,
//! O(d²) per reward. LinUCB itself is deterministic; the engine's exploration floor
//! (`min_probability`) keeps every eligible arm's probability positive for off-policy evaluation.

use serde::{Deserialize, Serialize};

use super::ridge::Ridge;
use super::{explore, Distribution, Policy, PolicyContext, Prior};
use crate::rng::Rng;
use crate::text::Fixed;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinUcb {
    alpha: f64,
    ridge: Ridge,
}

impl LinUcb {
    pub fn new(arms: usize, dim: usize, alpha: f64, lambda: f64) -> LinUcb {
        LinUcb {
            alpha: if alpha.is_finite() && alpha >= 0.0 {
                alpha
            } else {
                1.0
            },
            ridge: Ridge::new(arms, dim, lambda),
        }
    }

    pub fn fits(&self, arms: usize, dim: usize) -> bool {
        self.ridge.arms() == arms && self.ridge.dim() == dim && self.ridge.is_valid()
    }

    pub fn merge_prior(&mut self, prior: &[Prior]) {
        self.ridge.merge_prior(prior);
    }
}

impl Policy for LinUcb {
    fn name(&self) -> &'static str {
        "linucb"
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
        // The upper bounds go through `estimates` to the greedy piece, then the means replace
        // them.
        out.estimates.extend(
            eligible
                .iter()
                .map(|&a| self.ridge.mean(a) + self.alpha * self.ridge.width2(a).sqrt()),
        );
        explore::greedy_into(&out.estimates, &mut out.probs, &mut out.greedy);
        let best = out
            .estimates
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        out.estimates.clear();
        out.estimates
            .extend(eligible.iter().map(|&a| self.ridge.mean(a)));
        out.note = ctx.note(|| {
            format!(
                "LinUCB (α = {}): highest upper bound {}",
                Fixed(self.alpha, 2),
                Fixed(best, 3)
            )
        });
    }

    fn update(&mut self, arm: usize, ctx: &PolicyContext<'_>, reward: f64, _p: f64) {
        self.ridge.update(arm, ctx, reward);
    }
}
