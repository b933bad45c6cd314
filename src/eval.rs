//! Evaluation harnesses for the policies, pure (no I/O; the CLI reads the files).
//!
//! [`bakeoff`]: the supervised-to-bandit protocol of Bietti, Agarwal & Langford, "A Contextual
//! Bandit Bake-off", JMLR 2021 (§4.1): one pass over a classification dataset in file order; at
//! each row the policy sees the features, draws one of the K classes from its distribution,
//! earns 1 if it is the label and 0 otherwise (observed for the chosen class only), and learns
//! from that alone. The score is the progressive average reward.

use crate::bandit::{floor, sample, Policy, PolicyConfig, PolicyContext};
use crate::rng::Rng;

/// A classification dataset: row-major features and labels in `0..k`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub dim: usize,
    pub k: usize,
    pub features: Vec<f32>,
    pub labels: Vec<usize>,
}

impl Dataset {
    pub fn rows(&self) -> usize {
        self.labels.len()
    }
}

/// Largest dataset the parser accepts (rows × columns), to bound memory.
pub const MAX_CELLS: usize = 200_000_000;
pub const MAX_CLASSES: usize = 1024;

/// Parses `f0,…,f{d-1},label` CSV text: a header whose last column is `label`, then numeric
/// rows with an integer label `0..K-1` (K = largest label + 1). Errors name the line.
pub fn parse_csv(text: &str) -> Result<Dataset, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err("the file is empty (expected a header f0,…,f{d-1},label)".into());
    };
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    if cols.len() < 2 || cols.last() != Some(&"label") {
        return Err(format!(
            "line 1: the header must be f0,…,f{{d-1}},label, got {:?}",
            crate::event::truncate(header, 120)
        ));
    }
    let dim = cols.len() - 1;
    let mut features = Vec::new();
    let mut labels = Vec::new();
    for (i, line) in lines {
        let at = |m: String| format!("line {}: {m}", i + 1);
        let mut n = 0;
        for (j, cell) in line.split(',').enumerate() {
            n += 1;
            let cell = cell.trim();
            if j < dim {
                let v: f32 = cell
                    .parse()
                    .map_err(|_| at(format!("column {j} is not a number: {cell:?}")))?;
                if !v.is_finite() {
                    return Err(at(format!("column {j} is not finite: {cell:?}")));
                }
                features.push(v);
            } else if j == dim {
                let l: usize = cell.parse().map_err(|_| {
                    at(format!("the label must be an integer 0..K-1, got {cell:?}"))
                })?;
                if l >= MAX_CLASSES {
                    return Err(at(format!(
                        "label {l} is over the limit of {MAX_CLASSES} classes"
                    )));
                }
                labels.push(l);
            }
        }
        if n != dim + 1 {
            return Err(at(format!("{n} columns, the header has {}", dim + 1)));
        }
        if features.len() > MAX_CELLS {
            return Err(format!(
                "more than {MAX_CELLS} cells: too large for one pass here"
            ));
        }
    }
    if labels.is_empty() {
        return Err("no data rows after the header".into());
    }
    let k = labels.iter().copied().max().unwrap_or(0) + 1;
    if k < 2 {
        return Err("the labels have a single class: nothing to choose".into());
    }
    Ok(Dataset {
        dim,
        k,
        features,
        labels,
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct BakeoffResult {
    pub n: usize,
    pub progressive_reward: f64,
    /// Mean logged probability of the chosen action (how much the policy explores).
    pub mean_probability: f64,
}

/// Runs the protocol with `config`, seeded, with exploration floor `min_probability`.
pub fn bakeoff(
    data: &Dataset,
    config: &PolicyConfig,
    seed: u64,
    min_probability: f64,
) -> BakeoffResult {
    let mut policy = config.build(data.k, 1 + data.dim);
    let mut rng = Rng::from_seed(seed);
    let arms: Vec<usize> = (0..data.k).collect();
    let (mut total, mut prob_sum) = (0.0, 0.0);
    for (x, &label) in data
        .features
        .chunks_exact(data.dim.max(1))
        .zip(&data.labels)
    {
        let ctx = PolicyContext {
            features: x,
            scores: &[],
        };
        let mut d = policy.distribution(&arms, &ctx, &mut rng);
        floor::apply(&mut d, min_probability);
        let Some(c) = sample(&d, &mut rng) else {
            continue;
        };
        let r = if c.arm == label { 1.0 } else { 0.0 };
        total += r;
        prob_sum += c.probability;
        policy.update(c.arm, &ctx, r, c.probability);
    }
    let n = data.rows();
    BakeoffResult {
        n,
        progressive_reward: total / n.max(1) as f64,
        mean_probability: prob_sum / n.max(1) as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three well-separated classes in 2-D: a contextual policy must beat 1/3 by far.
    fn blobs(n: usize, seed: u64) -> Dataset {
        let mut rng = Rng::from_seed(seed);
        let centers = [(-2.0, 0.0), (2.0, 0.0), (0.0, 2.5)];
        let mut features = Vec::new();
        let mut labels = Vec::new();
        for _ in 0..n {
            let l = rng.below(3);
            let (cx, cy) = centers[l];
            features.push((cx + 0.7 * rng.normal()) as f32);
            features.push((cy + 0.7 * rng.normal()) as f32);
            labels.push(l);
        }
        Dataset {
            dim: 2,
            k: 3,
            features,
            labels,
        }
    }

    #[test]
    fn contextual_policies_learn_and_uniform_does_not() {
        let data = blobs(3000, 1);
        let uniform = bakeoff(&data, &PolicyConfig::Uniform, 1, 0.0);
        assert!(
            (uniform.progressive_reward - 1.0 / 3.0).abs() < 0.04,
            "{uniform:?}"
        );
        for name in ["epsilon", "linucb", "lints", "squarecb", "best"] {
            let cfg = PolicyConfig::named(name).unwrap();
            let r = bakeoff(&data, &cfg, 1, 0.0);
            assert!(r.progressive_reward > 0.75, "{name}: {r:?}");
            // Same seed, same run.
            assert_eq!(r, bakeoff(&data, &cfg, 1, 0.0), "{name}");
        }
        // Thompson without context can only find the most frequent class.
        let t = bakeoff(&data, &PolicyConfig::named("thompson").unwrap(), 1, 0.0);
        assert!(t.progressive_reward < 0.45, "{t:?}");
    }

    #[test]
    fn csv_errors_name_the_line() {
        let ok = parse_csv("f0,f1,label\n1,2,0\n3,4,1\n\n").unwrap();
        assert_eq!((ok.dim, ok.k, ok.rows()), (2, 2, 2));
        for (text, needle) in [
            ("", "empty"),
            ("a,b,c\n1,2,0\n", "header"),
            ("f0,label\n1,x\n", "line 2: the label"),
            ("f0,label\nnan,1\n", "not finite"),
            ("f0,f1,label\n1,2,0\n1,0\n", "line 3: 2 columns"),
            ("f0,label\n1,0\n2,0\n", "single class"),
            ("f0,label\n", "no data rows"),
            ("f0,label\n1,5000\n", "over the limit"),
        ] {
            let e = parse_csv(text).unwrap_err();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
    }
}
