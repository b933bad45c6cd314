//! Exploration strategies as small pieces, as in Vowpal Wabbit's `cb_explore_adf` reductions:
//! each turns per-arm estimates (higher = better) into a probability distribution, so the
//! probability of every choice is known exactly. Each writes into the caller's `probs` and
//! `greedy` (cleared first), so a policy that keeps them allocates nothing per decision.
//!
//! * [`greedy_into`]: all mass on the best estimate, ties shared.
//! * [`epsilon_greedy_into`]: `ε/K` everywhere plus `1 − ε` on the best (Sutton & Barto,
//!   "Reinforcement Learning: An Introduction", 2nd ed. 2018, §2.2; VW `--epsilon`).
//! * [`squarecb_into`]: inverse gap weighting, `p_a = 1 / (K + γ (ŷ* − ŷ_a))` for every arm but the
//!   best, which takes the rest (Abe & Long, ICML 1999; Foster & Rakhlin, "Beyond UCB: Optimal
//!   and Efficient Contextual Bandits with Regression Oracles", ICML 2020; VW `--squarecb`).
//! * [`sampled_argmax_into`]: the distribution of the argmax of random scores, estimated with `m`
//!   draws — probability matching for Thompson sampling. The policy then *samples from this
//!   estimate*, so the logged probability is exactly the probability of the choice made.

use crate::rng::Rng;

/// Marks the maximal entries of `est` in `set` (never none for a non-empty input; NaN counts
/// as −∞). Returns how many are marked.
fn argmax_set_into(est: &[f64], set: &mut Vec<bool>) -> usize {
    let best = est
        .iter()
        .copied()
        .filter(|v| !v.is_nan())
        .fold(f64::NEG_INFINITY, f64::max);
    set.clear();
    set.extend(est.iter().map(|&v| v == best));
    let mut g = set.iter().filter(|&&b| b).count();
    if g == 0 {
        set.iter_mut().for_each(|b| *b = true);
        g = set.len();
    }
    g
}

/// The greedy policy (ε-greedy with ε = 0).
pub fn greedy_into(est: &[f64], probs: &mut Vec<f64>, greedy: &mut Vec<bool>) {
    epsilon_greedy_into(est, 0.0, probs, greedy)
}

/// ε-greedy over `est`.
pub fn epsilon_greedy_into(
    est: &[f64],
    epsilon: f64,
    probs: &mut Vec<f64>,
    greedy: &mut Vec<bool>,
) {
    let k = est.len().max(1) as f64;
    let eps = if epsilon.is_finite() {
        epsilon.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let g = argmax_set_into(est, greedy).max(1) as f64;
    probs.clear();
    probs.extend(
        greedy
            .iter()
            .map(|&b| eps / k + if b { (1.0 - eps) / g } else { 0.0 }),
    );
}

/// SquareCB over `est` with scale `gamma`.
pub fn squarecb_into(est: &[f64], gamma: f64, probs: &mut Vec<f64>, greedy: &mut Vec<bool>) {
    let k = est.len();
    probs.clear();
    argmax_set_into(est, greedy);
    let Some(star) = greedy.iter().position(|&b| b) else {
        return;
    };
    let best = est.get(star).copied().unwrap_or(0.0);
    let gamma = if gamma.is_finite() && gamma >= 0.0 {
        gamma
    } else {
        0.0
    };
    probs.extend(est.iter().enumerate().map(|(i, &v)| {
        if i == star {
            0.0
        } else {
            let gap = if v.is_nan() { 1.0 } else { (best - v).max(0.0) };
            1.0 / (k as f64 + gamma * gap)
        }
    }));
    let rest: f64 = probs.iter().sum();
    if let Some(p) = probs.get_mut(star) {
        *p = (1.0 - rest).max(0.0);
    }
    greedy
        .iter_mut()
        .enumerate()
        .for_each(|(i, g)| *g = i == star);
}

/// Distribution of `argmax_a draw(a)` over `k` arms from `m` joint draws (ties to the first);
/// the win counts are kept in `probs` until the end.
pub fn sampled_argmax_into(
    k: usize,
    m: usize,
    rng: &mut Rng,
    mut draw: impl FnMut(usize, &mut Rng) -> f64,
    probs: &mut Vec<f64>,
    greedy: &mut Vec<bool>,
) {
    probs.clear();
    probs.resize(k, 0.0);
    let m = m.max(1);
    for _ in 0..m {
        let mut best = (0usize, f64::NEG_INFINITY);
        for a in 0..k {
            let v = draw(a, rng);
            if v > best.1 {
                best = (a, v);
            }
        }
        if let Some(w) = probs.get_mut(best.0) {
            *w += 1.0;
        }
    }
    let top = probs.iter().copied().fold(0.0, f64::max);
    greedy.clear();
    greedy.extend(probs.iter().map(|&w| w == top));
    probs.iter_mut().for_each(|w| *w /= m as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sums_to_one(p: &[f64]) {
        let s: f64 = p.iter().sum();
        assert!((s - 1.0).abs() < 1e-9, "{p:?}");
        assert!(p.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    /// A piece's `(probs, greedy)` in new vectors.
    fn run(piece: impl FnOnce(&mut Vec<f64>, &mut Vec<bool>)) -> (Vec<f64>, Vec<bool>) {
        let (mut p, mut g) = (Vec::new(), Vec::new());
        piece(&mut p, &mut g);
        (p, g)
    }

    #[test]
    fn pieces_give_distributions() {
        let est = [0.1, 0.5, 0.3, 0.5];
        let (p, g) = run(|p, g| greedy_into(&est, p, g));
        sums_to_one(&p);
        assert_eq!(p, vec![0.0, 0.5, 0.0, 0.5]);
        assert_eq!(g, vec![false, true, false, true]);
        let (p, _) = run(|p, g| epsilon_greedy_into(&est, 0.2, p, g));
        sums_to_one(&p);
        assert!((p[0] - 0.05).abs() < 1e-12 && (p[1] - 0.45).abs() < 1e-12);
        let (p, g) = run(|p, g| squarecb_into(&est, 10.0, p, g));
        sums_to_one(&p);
        assert!((p[0] - 1.0 / (4.0 + 4.0)).abs() < 1e-12);
        assert!((p[2] - 1.0 / (4.0 + 2.0)).abs() < 1e-12);
        assert!(
            (p[3] - 0.25).abs() < 1e-12,
            "a tie with the leader gets 1/K"
        );
        assert!(g[1] && !g[3]);
        // γ = 0 is uniform; a huge γ is nearly greedy.
        let (p, _) = run(|p, g| squarecb_into(&est, 0.0, p, g));
        assert!(p.iter().all(|v| (v - 0.25).abs() < 1e-12));
        let (p, _) = run(|p, g| squarecb_into(&[0.0, 1.0], 1e9, p, g));
        assert!(p[1] > 0.999);
        let (p, _) = run(|p, g| squarecb_into(&[f64::NAN, 0.2], 5.0, p, g));
        sums_to_one(&p);
        let mut rng = Rng::from_seed(1);
        let (p, g) = run(|p, g| {
            sampled_argmax_into(
                3,
                1000,
                &mut rng,
                |a, r| a as f64 * 0.1 + r.next_f64(),
                p,
                g,
            )
        });
        sums_to_one(&p);
        assert!(p[2] > p[1] && p[1] > p[0] && g[2]);
    }
}
