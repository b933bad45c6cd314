//! Linear Thompson sampling with disjoint models (Agrawal & Goyal, "Thompson Sampling for
//! Contextual Bandits with Linear Payoffs", ICML 2013; disjoint arms as in Li et al. 2010).
//!
//! Posterior per arm: `θ_a ~ N(θ̂_a, v² A_a⁻¹)` ([`super::ridge::Ridge`]). The arms' parameters
//! are independent, so for a given context the sampled rewards `θ_aᵀ x` are independent normals
//! `N(θ̂_aᵀ x, v² xᵀ A_a⁻¹ x)`: drawing those scalars is exactly LinTS's choice rule, at O(d²)
//! per arm instead of a d-dimensional draw (which needs a Cholesky factor, O(d³)). The
//! probability of each arm being the argmax is estimated from `draws` joint draws and the
//! choice sampled from that estimate, so the logged probability is exact.
//!
//! Why both LinUCB and LinTS: LinUCB is deterministic given the data (simple to audit, but its
//! logs need the exploration floor for off-policy evaluation); LinTS randomizes in proportion to
//! its uncertainty, which logs better and adapts faster when many visitors see the same context.

use serde::{Deserialize, Serialize};

use super::ridge::Ridge;
use super::{explore, Distribution, Policy, PolicyContext, Prior};
use crate::rng::Rng;
use crate::text::Fixed;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinTs {
    v: f64,
    draws: usize,
    ridge: Ridge,
}

impl LinTs {
    pub fn new(arms: usize, dim: usize, v: f64, lambda: f64, draws: usize) -> LinTs {
        LinTs {
            v: if v.is_finite() && v >= 0.0 { v } else { 0.5 },
            draws: draws.clamp(1, 10_000),
            ridge: Ridge::new(arms, dim, lambda),
        }
    }

    pub fn fits(&self, arms: usize, dim: usize) -> bool {
        self.ridge.arms() == arms
            && self.ridge.dim() == dim
            && self.ridge.is_valid()
            && (1..=10_000).contains(&self.draws)
    }

    pub fn merge_prior(&mut self, prior: &[Prior]) {
        self.ridge.merge_prior(prior);
    }
}

impl Policy for LinTs {
    fn name(&self) -> &'static str {
        "lints"
    }

    fn distribution_into(
        &mut self,
        eligible: &[usize],
        ctx: &PolicyContext<'_>,
        rng: &mut Rng,
        out: &mut Distribution,
    ) {
        out.reset(eligible);
        self.ridge.load(ctx);
        // Means in `estimates`, standard deviations after them (cut off below).
        let k = eligible.len();
        out.estimates
            .extend(eligible.iter().map(|&a| self.ridge.mean(a)));
        out.estimates.extend(
            eligible
                .iter()
                .map(|&a| self.v * self.ridge.width2(a).sqrt()),
        );
        let moments = &out.estimates;
        explore::sampled_argmax_into(
            k,
            self.draws,
            rng,
            |i, r| match (moments.get(i), moments.get(k + i)) {
                (Some(&m), Some(&s)) => m + s * r.normal(),
                _ => 0.0,
            },
            &mut out.probs,
            &mut out.greedy,
        );
        out.estimates.truncate(k);
        let best = out
            .estimates
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        out.note = ctx.note(|| {
            format!(
                "linear Thompson sampling (v = {}): best mean {}",
                Fixed(self.v, 2),
                Fixed(best, 3)
            )
        });
    }

    fn update(&mut self, arm: usize, ctx: &PolicyContext<'_>, reward: f64, _p: f64) {
        self.ridge.update(arm, ctx, reward);
    }
}
