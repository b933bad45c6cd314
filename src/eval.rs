//! Evaluation harnesses for the policies, pure (no I/O; the CLI reads the files).
//!
//! [`bakeoff`]: the supervised-to-bandit protocol of Bietti, Agarwal & Langford, "A Contextual
//! Bandit Bake-off", JMLR 2021 (§4.1): one pass over a classification dataset in file order; at
//! each row the policy sees the features, draws one of the K classes from its distribution,
//! earns 1 if it is the label and 0 otherwise (observed for the chosen class only), and learns
//! from that alone. The score is the progressive average reward.
//!
//! [`eval_log`]: off-policy evaluation on logs of a randomized logging policy in the Open
//! Bandit Dataset format (Saito et al., "Open Bandit Dataset and Pipeline", NeurIPS 2021). At
//! each logged row the policy's distribution `π(·|x)` is computed *before* it learns from the
//! row (progressive validation); the row contributes the importance weight
//! `w = π(a|x) / p_log(a|x)` and `w·r`. Estimates: IPS `Σ w r / n` (Horvitz & Thompson, JASA
//! 1952) and self-normalized IPS `Σ w r / Σ w` (Swaminathan & Joachims, NIPS 2015), with a 95%
//! percentile bootstrap interval over rows (Efron & Tibshirani 1993, §13).

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
        let ctx = PolicyContext::new(x);
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

/// Logged bandit feedback: contexts (row-major, `dim` per row), the logged action, its reward
/// and the logging policy's probability of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    pub k: usize,
    pub dim: usize,
    pub contexts: Vec<f32>,
    pub actions: Vec<usize>,
    pub rewards: Vec<f64>,
    pub propensities: Vec<f64>,
    /// Names of the context columns (one-hot `column=value`), for reports.
    pub columns: Vec<String>,
}

/// Most distinct values kept per categorical column; later values share an `other` bucket.
pub const MAX_CATEGORIES: usize = 32;

fn split_csv(line: &str) -> Vec<&str> {
    line.split(',').map(str::trim).collect()
}

/// Parses an Open Bandit Dataset log (`item_id`, `position`, `click`, `propensity_score`,
/// `user_feature_*`, other columns ignored) and its item context (`item_id` per row; the number
/// of rows is the number of actions). The context is the one-hot encoding of `position` and of
/// every `user_feature_*` column (values numbered in order of first appearance). The per-item
/// `user-item_affinity_*` columns describe actions, not the visitor, and are not used by the
/// per-arm models here.
pub fn parse_obd(log: &str, items: &str) -> Result<Logged, String> {
    let mut item_lines = items.lines().filter(|l| !l.trim().is_empty());
    let header = item_lines
        .next()
        .ok_or("the item context file is empty (expected a header with item_id)")?;
    let item_col = split_csv(header)
        .iter()
        .position(|c| *c == "item_id")
        .ok_or("the item context header has no item_id column")?;
    let mut item_ids = Vec::new();
    for (i, l) in item_lines.enumerate() {
        let id: usize = split_csv(l)
            .get(item_col)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("item context line {}: item_id is not an integer", i + 2))?;
        item_ids.push(id);
    }
    let k = item_ids.iter().copied().max().map_or(0, |m| m + 1);
    if !(2..=MAX_CLASSES).contains(&k) || item_ids.len() != k {
        return Err(format!(
            "item context: expected item ids 0..K-1 (2 <= K <= {MAX_CLASSES}), got {} rows with max id {}",
            item_ids.len(),
            k.saturating_sub(1)
        ));
    }

    let mut lines = log
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or("the log is empty (expected a header)")?;
    let cols = split_csv(header);
    let find = |name: &str| {
        cols.iter()
            .position(|c| *c == name)
            .ok_or_else(|| format!("the log header has no {name} column"))
    };
    let (c_item, c_click, c_prop) = (find("item_id")?, find("click")?, find("propensity_score")?);
    let mut cat_cols: Vec<(usize, String)> = cols
        .iter()
        .enumerate()
        .filter(|(_, c)| c.starts_with("user_feature_"))
        .map(|(i, c)| (i, (*c).to_owned()))
        .collect();
    if let Ok(p) = find("position") {
        cat_cols.insert(0, (p, "position".into()));
    }
    // Pass 1: rows, and each categorical column's values in order of first appearance.
    let mut dicts: Vec<Vec<String>> = vec![Vec::new(); cat_cols.len()];
    let mut raw: Vec<Vec<usize>> = Vec::new();
    let (mut actions, mut rewards, mut props) = (Vec::new(), Vec::new(), Vec::new());
    for (i, line) in lines {
        let at = |m: String| format!("line {}: {m}", i + 1);
        let cells = split_csv(line);
        if cells.len() != cols.len() {
            return Err(at(format!(
                "{} columns, the header has {}",
                cells.len(),
                cols.len()
            )));
        }
        let cell = |c: usize| cells.get(c).copied().unwrap_or("");
        let a: usize = cell(c_item)
            .parse()
            .map_err(|_| at(format!("item_id {:?} is not an integer", cell(c_item))))?;
        if a >= k {
            return Err(at(format!(
                "item_id {a} is not in the item context (0..{k})"
            )));
        }
        let r: f64 = cell(c_click)
            .parse()
            .map_err(|_| at(format!("click {:?} is not a number", cell(c_click))))?;
        if !(0.0..=1.0).contains(&r) {
            return Err(at(format!("click must be in [0, 1], got {r}")));
        }
        let p: f64 = cell(c_prop).parse().map_err(|_| {
            at(format!(
                "propensity_score {:?} is not a number",
                cell(c_prop)
            ))
        })?;
        if !(p.is_finite() && p > 0.0 && p <= 1.0) {
            return Err(at(format!("propensity_score must be in (0, 1], got {p}")));
        }
        let mut row = Vec::with_capacity(cat_cols.len());
        for ((c, _), dict) in cat_cols.iter().zip(dicts.iter_mut()) {
            let v = cell(*c);
            let idx = match dict.iter().position(|d| d == v) {
                Some(j) => j,
                None if dict.len() < MAX_CATEGORIES => {
                    dict.push(v.to_owned());
                    dict.len() - 1
                }
                None => MAX_CATEGORIES,
            };
            row.push(idx);
        }
        raw.push(row);
        actions.push(a);
        rewards.push(r);
        props.push(p);
        if raw.len() > MAX_CELLS / 64 {
            return Err("too many rows for one pass here".into());
        }
    }
    if actions.is_empty() {
        return Err("the log has no rows after the header".into());
    }
    // Pass 2: one-hot, with an `other` bucket only for columns that overflowed.
    let widths: Vec<usize> = dicts
        .iter()
        .map(|d| d.len() + usize::from(d.len() >= MAX_CATEGORIES))
        .collect();
    let mut columns = Vec::new();
    for ((_, name), d) in cat_cols.iter().zip(&dicts) {
        columns.extend(
            d.iter()
                .map(|v| format!("{name}={}", crate::event::truncate(v, 12))),
        );
        if d.len() >= MAX_CATEGORIES {
            columns.push(format!("{name}=other"));
        }
    }
    let dim = widths.iter().sum::<usize>();
    let mut contexts = vec![0.0f32; raw.len() * dim];
    for (row, out) in raw.iter().zip(contexts.chunks_exact_mut(dim.max(1))) {
        let mut offset = 0;
        for (&idx, &w) in row.iter().zip(&widths) {
            if let Some(v) = out.get_mut(offset + idx.min(w.saturating_sub(1))) {
                *v = 1.0;
            }
            offset += w;
        }
    }
    Ok(Logged {
        k,
        dim,
        contexts,
        actions,
        rewards,
        propensities: props,
        columns,
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct EvalLogResult {
    pub n: usize,
    pub logged_ctr: f64,
    pub ips: f64,
    pub snips: f64,
    /// 95% percentile-bootstrap interval of IPS.
    pub ci95: [f64; 2],
    pub snips_ci95: [f64; 2],
    /// Effective sample size of the weights, `(Σw)² / Σw²`.
    pub ess: f64,
}

/// Progressive off-policy evaluation of `config` on `data` (see the module docs).
pub fn eval_log(
    data: &Logged,
    config: &PolicyConfig,
    seed: u64,
    min_probability: f64,
    bootstrap: usize,
) -> EvalLogResult {
    let mut policy = config.build(data.k, 1 + data.dim);
    let mut rng = Rng::from_seed(seed);
    let arms: Vec<usize> = (0..data.k).collect();
    let n = data.actions.len();
    let mut w = Vec::with_capacity(n);
    let rows = data
        .contexts
        .chunks_exact(data.dim.max(1))
        .zip(&data.actions)
        .zip(data.rewards.iter().zip(&data.propensities));
    for ((x, &a), (&r, &p)) in rows {
        let x = if data.dim == 0 { &[][..] } else { x };
        let ctx = PolicyContext::new(x);
        let mut d = policy.distribution(&arms, &ctx, &mut rng);
        floor::apply(&mut d, min_probability);
        let pi = d
            .arms
            .iter()
            .position(|&arm| arm == a)
            .and_then(|i| d.probs.get(i))
            .copied()
            .unwrap_or(0.0);
        w.push(pi / p);
        policy.update(a, &ctx, r, p);
    }
    let estimate = |idx: &mut dyn Iterator<Item = usize>| {
        let (mut swr, mut sw, mut m) = (0.0, 0.0, 0usize);
        for i in idx {
            let (wi, ri) = (
                w.get(i).copied().unwrap_or(0.0),
                data.rewards.get(i).copied().unwrap_or(0.0),
            );
            swr += wi * ri;
            sw += wi;
            m += 1;
        }
        let ips = swr / m.max(1) as f64;
        let snips = if sw > 0.0 { swr / sw } else { 0.0 };
        (ips, snips)
    };
    let (ips, snips) = estimate(&mut (0..n));
    let mut boot_ips = Vec::with_capacity(bootstrap);
    let mut boot_snips = Vec::with_capacity(bootstrap);
    let mut brng = Rng::from_seed(seed ^ 0xB007_5742);
    for _ in 0..bootstrap {
        let mut draw = (0..n).map(|_| brng.below(n));
        let (i, s) = estimate(&mut draw);
        boot_ips.push(i);
        boot_snips.push(s);
    }
    let interval = |v: &mut Vec<f64>| -> [f64; 2] {
        if v.is_empty() {
            return [f64::NAN, f64::NAN];
        }
        v.sort_by(f64::total_cmp);
        let q = |p: f64| {
            let i = ((v.len() - 1) as f64 * p).round() as usize;
            v.get(i).copied().unwrap_or(f64::NAN)
        };
        [q(0.025), q(0.975)]
    };
    let sw: f64 = w.iter().sum();
    let sw2: f64 = w.iter().map(|x| x * x).sum();
    EvalLogResult {
        n,
        logged_ctr: data.rewards.iter().sum::<f64>() / n.max(1) as f64,
        ips,
        snips,
        ci95: interval(&mut boot_ips),
        snips_ci95: interval(&mut boot_snips),
        ess: if sw2 > 0.0 { sw * sw / sw2 } else { 0.0 },
    }
}

/// What the policy sees in [`simulate_policy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observe {
    /// The feature vector of the spec at the decision point (the product's view).
    Features,
    /// The visitor's latent intent, one-hot (diagnostic: the oracle's information).
    Intent,
}

/// Result of [`simulate_policy`]: realized and expected reward, and expected regret against the
/// intent-aware oracle, for the policy and for a uniform A/B split over the same visitors.
#[derive(Debug, Clone, PartialEq)]
pub struct SimResult {
    pub visitors: usize,
    pub reward: f64,
    pub expected_reward: f64,
    pub oracle_expected_reward: f64,
    pub uniform_expected_reward: f64,
    pub regret: f64,
    pub uniform_regret: f64,
}

/// One point of a learning curve: cumulative expected reward after `visitors` visitors, of
/// the policy, of a uniform A/B split and of the intent-aware oracle.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CurvePoint {
    pub visitors: usize,
    pub policy: f64,
    pub uniform: f64,
    pub oracle: f64,
}

/// The journey simulator as a bandit problem (`edgewise simulate --policy`): visitor `i` is
/// `Simulator::new(seed).session(i)`; at its decision point the policy sees the feature vector
/// of `spec` (events so far, device and hour of day) and chooses one of `tags` (one variant
/// per tag); the visitor responds with the ground-truth probability
/// `sim::response_probability(intent, tag)`. The oracle knows the intent and picks the best
/// tag for it; the uniform A/B split picks each tag with probability 1/K. Regret is expected
/// regret (sums of true probabilities), which has no sampling noise from the responses.
///
/// `observe` says what the policy sees. [`Observe::Features`] is the product: what a storefront
/// knows at the decision point. [`Observe::Intent`] is a diagnostic that hands the policy the
/// latent intent (one-hot) instead, separating what a policy fails to *learn* from what the
/// features do not *reveal*.
///
/// With `points > 0` it also returns about `points` evenly spaced points of the learning curve
/// (the last visitor is always one of them); none for 0.
#[allow(clippy::too_many_arguments)]
pub fn simulate_policy(
    config: &PolicyConfig,
    spec: &crate::FeatureSpec,
    tags: &[&str],
    observe: Observe,
    visitors: usize,
    seed: u64,
    min_probability: f64,
    points: usize,
) -> Result<(SimResult, Vec<CurvePoint>), String> {
    let every = if points == 0 {
        usize::MAX
    } else {
        visitors.div_ceil(points).max(1)
    };
    let mut curve = Vec::with_capacity(points.min(visitors) + 1);
    use crate::event::{Session, SessionLimits};
    use crate::features::{Context, ContextValue};
    use crate::sim::{response_probability, Simulator};
    if tags.len() < 2 {
        return Err("at least two tags are needed to choose between".into());
    }
    for t in tags {
        if response_probability(0, t).is_none() {
            return Err(format!(
                "tag {t:?} has no ground truth in the simulator (known: {})",
                crate::sim::RESPONSES
                    .iter()
                    .map(|r| r.0)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    let sim = Simulator::new(seed);
    let width = match observe {
        Observe::Features => spec.width(),
        Observe::Intent => crate::sim::INTENTS.len(),
    };
    let mut policy = config.build(tags.len(), 1 + width);
    let mut rng = Rng::from_seed(seed ^ 0x005E_ED0F_B0A7);
    let arms: Vec<usize> = (0..tags.len()).collect();
    let mut r = SimResult {
        visitors,
        reward: 0.0,
        expected_reward: 0.0,
        oracle_expected_reward: 0.0,
        uniform_expected_reward: 0.0,
        regret: 0.0,
        uniform_regret: 0.0,
    };
    let mut x = Vec::with_capacity(spec.width());
    for id in 0..visitors as u64 {
        let s = sim.session(id);
        let mut session = Session::new(SessionLimits::default(), s.start_ms);
        for e in s.events.iter().take(s.decision_index) {
            session
                .push(&e.input(), s.decision_ms)
                .map_err(|e| format!("visitor {id}: simulated event refused: {e}"))?;
        }
        let mut ctx = Context::new();
        ctx.insert("device".into(), ContextValue::Text(s.context.device.into()));
        ctx.insert(
            "hour_of_day".into(),
            ContextValue::Number(s.context.hour_of_day),
        );
        match observe {
            Observe::Features => spec.extract_into(&session, &ctx, s.decision_ms, &mut x),
            Observe::Intent => {
                x.clear();
                x.extend((0..width).map(|i| if i == s.intent_index { 1.0 } else { 0.0 }));
            }
        }
        let truth: Vec<f64> = tags
            .iter()
            .map(|t| response_probability(s.intent_index, t).unwrap_or(0.0))
            .collect();
        let best = truth.iter().copied().fold(0.0, f64::max);
        let mean = truth.iter().sum::<f64>() / truth.len() as f64;
        let pctx = PolicyContext::new(&x);
        let mut d = policy.distribution(&arms, &pctx, &mut rng);
        floor::apply(&mut d, min_probability);
        let Some(c) = sample(&d, &mut rng) else {
            continue;
        };
        let p = truth.get(c.arm).copied().unwrap_or(0.0);
        let reward = if rng.next_f64() < p { 1.0 } else { 0.0 };
        policy.update(c.arm, &pctx, reward, c.probability);
        r.reward += reward;
        r.expected_reward += p;
        r.oracle_expected_reward += best;
        r.uniform_expected_reward += mean;
        r.regret += best - p;
        r.uniform_regret += best - mean;
        let n = id as usize + 1;
        if points > 0 && (n.is_multiple_of(every) || n == visitors) {
            curve.push(CurvePoint {
                visitors: n,
                policy: r.expected_reward,
                uniform: r.uniform_expected_reward,
                oracle: r.oracle_expected_reward,
            });
        }
    }
    Ok((r, curve))
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

#[cfg(test)]
mod eval_log_tests {
    use super::*;

    /// A synthetic uniform-random log where item 1 pays 30% for visitors with feature `a` and
    /// item 0 pays 30% for `b`; everything else pays 2%.
    fn synthetic(n: usize) -> (String, String) {
        let mut rng = Rng::from_seed(9);
        let mut log =
            String::from(",timestamp,item_id,position,click,propensity_score,user_feature_0\n");
        for i in 0..n {
            let a = rng.below(3);
            let u = if rng.next_f64() < 0.5 { "a" } else { "b" };
            let p = match (a, u) {
                (1, "a") | (0, "b") => 0.3,
                _ => 0.02,
            };
            let click = u8::from(rng.next_f64() < p);
            log.push_str(&format!("{i},t,{a},1,{click},{},{u}\n", 1.0 / 3.0));
        }
        (
            log,
            ",item_id,item_feature_0\n0,0,0.1\n1,1,0.2\n2,2,0.3\n".into(),
        )
    }

    #[test]
    fn a_learning_policy_beats_the_logged_ctr_and_uniform_matches_it() {
        let (log, items) = synthetic(6000);
        let data = parse_obd(&log, &items).unwrap();
        assert_eq!((data.k, data.dim), (3, 3), "{:?}", data.columns);
        let u = eval_log(&data, &PolicyConfig::Uniform, 1, 0.0, 200);
        assert!(
            (u.ips - u.logged_ctr).abs() < 1e-9,
            "uniform = logging policy: {u:?}"
        );
        assert!((u.snips - u.logged_ctr).abs() < 1e-9);
        let b = eval_log(&data, &PolicyConfig::named("best").unwrap(), 1, 0.0, 200);
        assert!(b.ips > 0.2 && b.ci95[0] > u.logged_ctr, "{b:?} vs {u:?}");
        assert!(b.ci95[0] <= b.ips && b.ips <= b.ci95[1]);
        assert_eq!(
            b,
            eval_log(&data, &PolicyConfig::named("best").unwrap(), 1, 0.0, 200)
        );
    }

    #[test]
    fn bad_logs_are_refused_with_the_line() {
        let (log, items) = synthetic(10);
        for (l, i, needle) in [
            (
                format!("{log}10,t,99,1,0,0.3,a\n"),
                items.clone(),
                "line 12: item_id 99 is not in the item context",
            ),
            (log.clone(), String::new(), "item context file is empty"),
            (
                log.replacen("0.3333333333333333", "0", 1),
                items.clone(),
                "propensity_score must be",
            ),
            ("a,b\n1,2\n".to_string(), items.clone(), "no item_id column"),
            (
                log.lines().next().unwrap_or("").to_string(),
                items.clone(),
                "no rows",
            ),
        ] {
            let e = parse_obd(&l, &i).unwrap_err();
            assert!(e.contains(needle), "{needle}: {e}");
        }
    }
}
