//! Uniform random choice: every eligible arm with probability 1/K. The logging policy of
//! randomized experiments (A/B/n tests) and of the Open Bandit Dataset's "random" campaign
//! (Saito et al., "Open Bandit Dataset and Pipeline", NeurIPS 2021 Datasets track).

use serde::{Deserialize, Serialize};

use super::{Distribution, Policy, PolicyContext};
use crate::rng::Rng;

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Uniform;

impl Policy for Uniform {
    fn name(&self) -> &'static str {
        "uniform"
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
        out.probs.resize(eligible.len(), 1.0 / k);
        out.greedy.resize(eligible.len(), false);
        out.note = ctx.note(|| format!("uniform random over {} eligible variants", eligible.len()));
    }

    fn update(&mut self, _arm: usize, _ctx: &PolicyContext<'_>, _reward: f64, _p: f64) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_over_eligible() {
        let d = Uniform.distribution(
            &[0, 2, 5],
            &PolicyContext::default(),
            &mut Rng::from_seed(1),
        );
        crate::bandit::assert_distribution(&d);
        assert_eq!(d.arms, vec![0, 2, 5]);
        assert!(d.probs.iter().all(|&p| (p - 1.0 / 3.0).abs() < 1e-12));
    }
}
