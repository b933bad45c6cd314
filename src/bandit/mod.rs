//! Policies: how a slot chooses among its eligible variants, and how it learns from rewards.
//!
//! Every policy produces a full probability distribution over the eligible arms before sampling,
//! so the probability of each choice is known exactly and logged with the decision (the
//! precondition for off-policy evaluation with inverse propensity scoring). Composable pieces,
//! as in Vowpal Wabbit's exploration reductions: a policy's distribution, then the
//! [`floor`] that guarantees every eligible arm a minimum probability, then [`sample`].

pub mod epsilon_greedy;
pub mod explore;
pub mod floor;
pub mod lints;
pub mod linucb;
pub mod regression;
pub mod ridge;
pub mod thompson;
pub mod uniform;

use serde::{Deserialize, Serialize};

use crate::rng::Rng;

pub use epsilon_greedy::EpsilonGreedy;
pub use lints::LinTs;
pub use linucb::LinUcb;
pub use regression::{Exploration, Regression};
pub use thompson::Thompson;
pub use uniform::Uniform;

/// Prior knowledge about one arm, e.g. aggregated at the edge from many visitors: `trials`
/// (pseudo-)observations with total reward `reward` (`0 ≤ reward ≤ trials`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Prior {
    pub arm: usize,
    pub trials: f64,
    pub reward: f64,
}

/// What a policy may look at when choosing: the visitor's context vector (in the engine, the
/// first model's features then every score; in the evaluation harnesses, the row's features).
/// Non-contextual policies ignore it.
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicyContext<'a> {
    pub values: &'a [f32],
    /// The caller shows [`Distribution::note`] (an explained decision): only then is it
    /// written; the rendering path skips the formatting.
    pub explain: bool,
}

impl<'a> PolicyContext<'a> {
    /// A context whose distribution's note is not wanted.
    pub fn new(values: &'a [f32]) -> PolicyContext<'a> {
        PolicyContext {
            values,
            explain: false,
        }
    }

    /// A distribution's note: `write()` when the caller shows it, else empty (not formatted).
    pub fn note(&self, write: impl FnOnce() -> String) -> String {
        if self.explain {
            write()
        } else {
            String::new()
        }
    }
}

/// A policy's preference over the eligible arms. Policies fill one in place
/// ([`Policy::distribution_into`]), so a caller that keeps one allocates nothing per decision.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Distribution {
    /// Arm indices (into the slot's variant list), same order as `probs`.
    pub arms: Vec<usize>,
    pub probs: Vec<f64>,
    /// Which arms the policy currently believes best (for `exploit` vs `explore`).
    pub greedy: Vec<bool>,
    /// The policy's point estimate of each arm's reward (same order as `arms`): the posterior
    /// mean, or the regressor's prediction for this context. Empty for `uniform`.
    pub estimates: Vec<f64>,
    /// One-line explanation of the policy's current belief, for `reasons`.
    pub note: String,
}

impl Distribution {
    /// Empties every field and sets `arms` to `eligible` (keeping the buffers).
    pub fn reset(&mut self, eligible: &[usize]) {
        self.arms.clear();
        self.arms.extend_from_slice(eligible);
        self.probs.clear();
        self.greedy.clear();
        self.estimates.clear();
        self.note.clear();
    }
}

/// A sampled choice.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub arm: usize,
    pub probability: f64,
    /// The chosen arm is one the policy believes best.
    pub exploit: bool,
}

/// The interface every policy implements. State is serialized with serde ([`SlotPolicy`]);
/// priors are merged with `merge_prior` on the concrete types.
pub trait Policy {
    /// Short name, e.g. `epsilon_greedy`.
    fn name(&self) -> &'static str;
    /// Distribution over `eligible` (non-empty, indices < the slot's arm count), written into
    /// `out` (reset first, its buffers reused). `rng` is for policies that estimate their
    /// distribution by sampling (Thompson); the choice itself is drawn by the caller with
    /// [`sample`].
    fn distribution_into(
        &mut self,
        eligible: &[usize],
        ctx: &PolicyContext<'_>,
        rng: &mut Rng,
        out: &mut Distribution,
    );
    /// [`Policy::distribution_into`] into a new [`Distribution`].
    fn distribution(
        &mut self,
        eligible: &[usize],
        ctx: &PolicyContext<'_>,
        rng: &mut Rng,
    ) -> Distribution {
        let mut d = Distribution::default();
        self.distribution_into(eligible, ctx, rng, &mut d);
        d
    }
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

/// Policy configuration (`policy` in the engine config). Every field has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PolicyConfig {
    Uniform,
    /// Non-contextual ε-greedy on per-arm means.
    EpsilonGreedy {
        #[serde(default = "default_epsilon")]
        epsilon: f64,
    },
    /// Non-contextual Beta–Bernoulli Thompson sampling.
    Thompson {
        #[serde(default = "default_draws")]
        draws: usize,
    },
    #[serde(rename = "linucb")]
    LinUcb {
        #[serde(default = "one")]
        alpha: f64,
        #[serde(default = "one")]
        lambda: f64,
    },
    #[serde(rename = "lints")]
    LinTs {
        #[serde(default = "half")]
        v: f64,
        #[serde(default = "one")]
        lambda: f64,
        #[serde(default = "default_draws")]
        draws: usize,
    },
    #[serde(rename = "squarecb")]
    SquareCb {
        #[serde(default = "default_gamma_scale")]
        gamma_scale: f64,
        #[serde(default = "half")]
        gamma_exponent: f64,
        #[serde(default = "one")]
        lambda: f64,
    },
    /// ε-greedy on a contextual reward regressor (VW `--cb_explore_adf --epsilon`).
    RegressionEpsilon {
        #[serde(default = "default_regression_epsilon")]
        epsilon: f64,
        #[serde(default = "one")]
        lambda: f64,
    },
}

fn default_epsilon() -> f64 {
    0.1
}
fn default_regression_epsilon() -> f64 {
    0.05
}
fn default_draws() -> usize {
    64
}
fn default_gamma_scale() -> f64 {
    10.0
}
fn one() -> f64 {
    1.0
}
fn half() -> f64 {
    0.5
}

/// The recommended policy, `best` on the command line and the engine's default: SquareCB over
/// a per-arm ridge regressor (γ = 10·√t). Chosen on the evidence in the README ("Policies"):
/// the bake-off sets, five datasets nobody tuned on, and the journey simulator.
impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig::SquareCb {
            gamma_scale: default_gamma_scale(),
            gamma_exponent: 0.5,
            lambda: 1.0,
        }
    }
}

fn check(name: &str, v: f64, ok: bool, want: &str) -> Result<(), String> {
    if v.is_finite() && ok {
        Ok(())
    } else {
        Err(format!("policy.{name} must be {want}, got {v}"))
    }
}

impl PolicyConfig {
    /// The configurations the CLI names: `uniform`, `epsilon` (contextual, on the regressor),
    /// `thompson`, `linucb`, `lints`, `squarecb`, and `best`.
    pub fn named(name: &str) -> Option<PolicyConfig> {
        Some(match name {
            "uniform" => PolicyConfig::Uniform,
            "epsilon" => PolicyConfig::RegressionEpsilon {
                epsilon: default_regression_epsilon(),
                lambda: 1.0,
            },
            "thompson" => PolicyConfig::Thompson {
                draws: default_draws(),
            },
            "linucb" => PolicyConfig::LinUcb {
                alpha: 1.0,
                lambda: 1.0,
            },
            "lints" => PolicyConfig::LinTs {
                v: 0.5,
                lambda: 1.0,
                draws: default_draws(),
            },
            "squarecb" | "best" => PolicyConfig::default(),
            _ => return None,
        })
    }

    pub const NAMES: [&'static str; 7] = [
        "uniform", "epsilon", "thompson", "linucb", "lints", "squarecb", "best",
    ];

    /// Whether the policy reads the context (features and scores).
    pub fn is_contextual(&self) -> bool {
        matches!(
            self,
            PolicyConfig::LinUcb { .. }
                | PolicyConfig::LinTs { .. }
                | PolicyConfig::SquareCb { .. }
                | PolicyConfig::RegressionEpsilon { .. }
        )
    }

    pub fn validate(&self) -> Result<(), String> {
        match *self {
            PolicyConfig::Uniform => Ok(()),
            PolicyConfig::EpsilonGreedy { epsilon }
            | PolicyConfig::RegressionEpsilon { epsilon, .. } => {
                check(
                    "epsilon",
                    epsilon,
                    (0.0..=1.0).contains(&epsilon),
                    "in [0, 1]",
                )?;
                if let PolicyConfig::RegressionEpsilon { lambda, .. } = *self {
                    check("lambda", lambda, lambda > 0.0, "> 0")?;
                }
                Ok(())
            }
            PolicyConfig::Thompson { draws } | PolicyConfig::LinTs { draws, .. }
                if !(1..=10_000).contains(&draws) =>
            {
                Err(format!("policy.draws must be in 1..=10000, got {draws}"))
            }
            PolicyConfig::Thompson { .. } => Ok(()),
            PolicyConfig::LinUcb { alpha, lambda } => {
                check("alpha", alpha, alpha >= 0.0, ">= 0")?;
                check("lambda", lambda, lambda > 0.0, "> 0")
            }
            PolicyConfig::LinTs { v, lambda, .. } => {
                check("v", v, v >= 0.0, ">= 0")?;
                check("lambda", lambda, lambda > 0.0, "> 0")
            }
            PolicyConfig::SquareCb {
                gamma_scale,
                gamma_exponent,
                lambda,
            } => {
                check("gamma_scale", gamma_scale, gamma_scale >= 0.0, ">= 0")?;
                check(
                    "gamma_exponent",
                    gamma_exponent,
                    (0.0..=1.0).contains(&gamma_exponent),
                    "in [0, 1]",
                )?;
                check("lambda", lambda, lambda > 0.0, "> 0")
            }
        }
    }

    /// A fresh per-slot policy with `arms` arms over contexts of `dim` numbers
    /// (`1 + features + scores`; ignored by non-contextual policies).
    pub fn build(&self, arms: usize, dim: usize) -> SlotPolicy {
        match *self {
            PolicyConfig::Uniform => SlotPolicy::Uniform(Uniform),
            PolicyConfig::EpsilonGreedy { epsilon } => {
                SlotPolicy::EpsilonGreedy(EpsilonGreedy::new(epsilon, arms))
            }
            PolicyConfig::Thompson { draws } => SlotPolicy::Thompson(Thompson::new(arms, draws)),
            PolicyConfig::LinUcb { alpha, lambda } => {
                SlotPolicy::LinUcb(LinUcb::new(arms, dim, alpha, lambda))
            }
            PolicyConfig::LinTs { v, lambda, draws } => {
                SlotPolicy::LinTs(LinTs::new(arms, dim, v, lambda, draws))
            }
            PolicyConfig::SquareCb {
                gamma_scale,
                gamma_exponent,
                lambda,
            } => SlotPolicy::Regression(Regression::new(
                arms,
                dim,
                lambda,
                Exploration::SquareCb {
                    gamma_scale,
                    gamma_exponent,
                },
            )),
            PolicyConfig::RegressionEpsilon { epsilon, lambda } => SlotPolicy::Regression(
                Regression::new(arms, dim, lambda, Exploration::Epsilon { epsilon }),
            ),
        }
    }
}

/// The policy of one slot, with its learned state (serializable for snapshots).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SlotPolicy {
    Uniform(Uniform),
    EpsilonGreedy(EpsilonGreedy),
    Thompson(Thompson),
    LinUcb(LinUcb),
    LinTs(LinTs),
    Regression(Regression),
}

impl SlotPolicy {
    fn inner(&self) -> &dyn Policy {
        match self {
            SlotPolicy::Uniform(p) => p,
            SlotPolicy::EpsilonGreedy(p) => p,
            SlotPolicy::Thompson(p) => p,
            SlotPolicy::LinUcb(p) => p,
            SlotPolicy::LinTs(p) => p,
            SlotPolicy::Regression(p) => p,
        }
    }
    fn inner_mut(&mut self) -> &mut dyn Policy {
        match self {
            SlotPolicy::Uniform(p) => p,
            SlotPolicy::EpsilonGreedy(p) => p,
            SlotPolicy::Thompson(p) => p,
            SlotPolicy::LinUcb(p) => p,
            SlotPolicy::LinTs(p) => p,
            SlotPolicy::Regression(p) => p,
        }
    }

    /// Starts from prior knowledge (see [`Prior`]); arms out of range are ignored.
    pub fn merge_prior(&mut self, prior: &[Prior]) {
        match self {
            SlotPolicy::Uniform(_) => {}
            SlotPolicy::EpsilonGreedy(p) => p.merge_prior(prior),
            SlotPolicy::Thompson(p) => p.merge_prior(prior),
            SlotPolicy::LinUcb(p) => p.merge_prior(prior),
            SlotPolicy::LinTs(p) => p.merge_prior(prior),
            SlotPolicy::Regression(p) => p.merge_prior(prior),
        }
    }

    /// Whether this state fits a slot with `arms` arms and `dim`-long contexts and was produced
    /// by the same kind of policy as `config` (a snapshot from an older config is otherwise
    /// discarded).
    pub fn fits(&self, config: &PolicyConfig, arms: usize, dim: usize) -> bool {
        match (self, config) {
            (SlotPolicy::Uniform(_), PolicyConfig::Uniform) => true,
            (SlotPolicy::EpsilonGreedy(p), PolicyConfig::EpsilonGreedy { .. }) => {
                p.arms() == arms && p.is_valid()
            }
            (SlotPolicy::Thompson(p), PolicyConfig::Thompson { .. }) => {
                p.arms() == arms && p.is_valid()
            }
            (SlotPolicy::LinUcb(p), PolicyConfig::LinUcb { .. }) => p.fits(arms, dim),
            (SlotPolicy::LinTs(p), PolicyConfig::LinTs { .. }) => p.fits(arms, dim),
            (SlotPolicy::Regression(p), PolicyConfig::SquareCb { .. })
                if p.name() == "squarecb" =>
            {
                p.fits(arms, dim)
            }
            (SlotPolicy::Regression(p), PolicyConfig::RegressionEpsilon { .. })
                if p.name() == "regression_epsilon" =>
            {
                p.fits(arms, dim)
            }
            _ => false,
        }
    }
}

impl Policy for SlotPolicy {
    fn name(&self) -> &'static str {
        self.inner().name()
    }
    fn distribution_into(
        &mut self,
        eligible: &[usize],
        ctx: &PolicyContext<'_>,
        rng: &mut Rng,
        out: &mut Distribution,
    ) {
        self.inner_mut().distribution_into(eligible, ctx, rng, out)
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
