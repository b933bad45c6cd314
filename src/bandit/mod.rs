//! Policies: how a slot chooses among its eligible variants, and how it learns from rewards.
//!
//! Every policy produces a full probability distribution over the eligible arms before sampling,
//! so the probability of each choice is known exactly and logged with the decision (the
//! precondition for off-policy evaluation with inverse propensity scoring). Composable pieces,
//! as in Vowpal Wabbit's exploration reductions: a policy's distribution, then the
//! [`floor`] that guarantees every eligible arm a minimum probability, then [`sample`].

pub mod epsilon_greedy;
pub mod floor;
pub mod uniform;

use serde::{Deserialize, Serialize};

use crate::rng::Rng;

pub use epsilon_greedy::EpsilonGreedy;
pub use uniform::Uniform;

/// What a policy may look at when choosing: the model features and scores of this visitor.
/// Non-contextual policies ignore it.
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicyContext<'a> {
    pub features: &'a [f32],
    pub scores: &'a [f32],
}

/// A policy's preference over the eligible arms.
#[derive(Debug, Clone, PartialEq)]
pub struct Distribution {
    /// Arm indices (into the slot's variant list), same order as `probs`.
    pub arms: Vec<usize>,
    pub probs: Vec<f64>,
    /// Which arms the policy currently believes best (for `exploit` vs `explore`).
    pub greedy: Vec<bool>,
    /// One-line explanation of the policy's current belief, for `reasons`.
    pub note: String,
}

/// A sampled choice.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub arm: usize,
    pub probability: f64,
    /// The chosen arm is one the policy believes best.
    pub exploit: bool,
}

/// The interface every policy implements.
pub trait Policy {
    /// Short name, e.g. `epsilon_greedy`.
    fn name(&self) -> &'static str;
    /// Distribution over `eligible` (non-empty, indices < the slot's arm count).
    fn distribution(&self, eligible: &[usize], ctx: &PolicyContext<'_>) -> Distribution;
    /// Learn that `arm`, chosen with `probability`, earned `reward` in [0, 1].
    fn update(&mut self, arm: usize, ctx: &PolicyContext<'_>, reward: f64, probability: f64);
}

/// Draws one arm from a distribution (falls back to the last arm on rounding).
pub fn sample(d: &Distribution, rng: &mut Rng) -> Option<Choice> {
    let u = rng.next_f64();
    let mut acc = 0.0;
    let n = d.arms.len();
    for (i, (&arm, &p)) in d.arms.iter().zip(&d.probs).enumerate() {
        acc += p;
        if u < acc || i + 1 == n {
            return Some(Choice {
                arm,
                probability: p,
                exploit: d.greedy.get(i).copied().unwrap_or(false),
            });
        }
    }
    None
}

/// Policy configuration (`policy` in the engine config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PolicyConfig {
    Uniform,
    EpsilonGreedy {
        /// Probability of exploring uniformly; default 0.1.
        #[serde(default = "default_epsilon")]
        epsilon: f64,
    },
}

fn default_epsilon() -> f64 {
    0.1
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig::EpsilonGreedy {
            epsilon: default_epsilon(),
        }
    }
}

impl PolicyConfig {
    pub fn validate(&self) -> Result<(), String> {
        match self {
            PolicyConfig::Uniform => Ok(()),
            PolicyConfig::EpsilonGreedy { epsilon }
                if epsilon.is_finite() && (0.0..=1.0).contains(epsilon) =>
            {
                Ok(())
            }
            PolicyConfig::EpsilonGreedy { epsilon } => {
                Err(format!("policy.epsilon must be in [0, 1], got {epsilon}"))
            }
        }
    }

    /// A fresh per-slot policy with `arms` arms.
    pub fn build(&self, arms: usize) -> SlotPolicy {
        match self {
            PolicyConfig::Uniform => SlotPolicy::Uniform(Uniform),
            PolicyConfig::EpsilonGreedy { epsilon } => {
                SlotPolicy::EpsilonGreedy(EpsilonGreedy::new(*epsilon, arms))
            }
        }
    }
}

/// The policy of one slot, with its learned state (serializable for snapshots).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SlotPolicy {
    Uniform(Uniform),
    EpsilonGreedy(EpsilonGreedy),
}

impl SlotPolicy {
    fn inner(&self) -> &dyn Policy {
        match self {
            SlotPolicy::Uniform(p) => p,
            SlotPolicy::EpsilonGreedy(p) => p,
        }
    }
    fn inner_mut(&mut self) -> &mut dyn Policy {
        match self {
            SlotPolicy::Uniform(p) => p,
            SlotPolicy::EpsilonGreedy(p) => p,
        }
    }
    /// Whether this state fits a slot with `arms` arms and was produced by the same kind of
    /// policy as `config` (a snapshot from an older config is otherwise discarded).
    pub fn fits(&self, config: &PolicyConfig, arms: usize) -> bool {
        match (self, config) {
            (SlotPolicy::Uniform(_), PolicyConfig::Uniform) => true,
            (SlotPolicy::EpsilonGreedy(p), PolicyConfig::EpsilonGreedy { .. }) => {
                p.arms() == arms && p.is_valid()
            }
            _ => false,
        }
    }
}

impl Policy for SlotPolicy {
    fn name(&self) -> &'static str {
        self.inner().name()
    }
    fn distribution(&self, eligible: &[usize], ctx: &PolicyContext<'_>) -> Distribution {
        self.inner().distribution(eligible, ctx)
    }
    fn update(&mut self, arm: usize, ctx: &PolicyContext<'_>, reward: f64, probability: f64) {
        self.inner_mut().update(arm, ctx, reward, probability)
    }
}

#[cfg(test)]
pub(crate) fn assert_distribution(d: &Distribution) {
    let sum: f64 = d.probs.iter().sum();
    assert!((sum - 1.0).abs() < 1e-9, "probabilities sum to {sum}");
    assert!(d.probs.iter().all(|p| (0.0..=1.0).contains(p)));
    assert_eq!(d.arms.len(), d.probs.len());
    assert_eq!(d.arms.len(), d.greedy.len());
}
