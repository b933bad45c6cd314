//! A compiled propensity model: a small straight-line program over `f32` tensors, evaluated in
//! plain Rust for one feature vector at a time.
//!
//! Why it exists. tract runs any ONNX graph, but for the graphs propensity models are made of
//! (a linear layer, an MLP, a tree ensemble, sklearn's classifier heads) most of its cost per
//! call is overhead, tree ensembles are slow for single rows, and the full tract module is
//! megabytes of wasm. A [`Program`] is what `src/onnx_import.rs` (full build) makes of such a
//! graph at load time, and what `edgewise compile-model` writes ahead of time for the `lite`
//! build, which has no ONNX parser and no tract at all. Both builds then run the very same code
//! on the very same numbers, which is why their scores agree exactly.
//!
//! Semantics follow the ONNX operator specifications (opset 13–21, ai.onnx.ml 1–3); where the
//! spec leaves the binary-classifier heads open, they follow onnxruntime (the reference every
//! shipped model is checked against, within 1e-5):
//! * `TreeEnsembleClassifier` with two labels and leaf weights on a single class (what skl2onnx
//!   writes for gradient boosting): one score `s` (+ its base value); outputs `[σ(−s), σ(s)]`
//!   under `LOGISTIC`, `[1 − s, s]` when every weight is non-negative and there is no
//!   transform, else `[−s, s]`.
//! * otherwise one score per class, base values added, then the post-transform per row.
//!
//! Value ids: 0 is the input `[1, width]`, then one per step (constants are steps too).

use serde::{Deserialize, Serialize};

/// Limits that keep a hostile compiled file from exhausting memory.
pub const MAX_ELEMENTS: usize = 4 << 20;
pub const MAX_STEPS: usize = 4096;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Const {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PostTransform {
    None,
    Logistic,
    Softmax,
    SoftmaxZero,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Unary {
    Relu,
    Sigmoid,
    Tanh,
    Exp,
    Log,
    Neg,
    Abs,
    Sqrt,
    Softplus,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Binary {
    Add,
    Sub,
    Mul,
    Div,
}

/// One node of a tree ensemble, flattened.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct TreeNode {
    /// `leq`, `lt`, `gte`, `gt`, `eq`, `neq` compare `x[feature]` with `value`; `leaf` ends.
    pub mode: NodeMode,
    pub feature: u32,
    pub value: f32,
    /// Indices into [`TreeEnsemble::nodes`].
    pub yes: u32,
    pub no: u32,
    /// A NaN input goes to `yes`.
    pub missing_yes: bool,
    /// For leaves: `weights[start..start + len]`.
    pub start: u32,
    pub len: u32,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum NodeMode {
    Leq,
    Lt,
    Gte,
    Gt,
    Eq,
    Neq,
    Leaf,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TreeEnsemble {
    pub nodes: Vec<TreeNode>,
    pub roots: Vec<u32>,
    /// `(target/class, weight)` of each leaf, see [`TreeNode::start`].
    pub weights: Vec<(u32, f32)>,
    /// Scores computed (classes for a classifier, targets for a regressor).
    pub n_scores: usize,
    pub base_values: Vec<f32>,
    pub post: PostTransform,
    /// The two-label, one-scored-class classifier head (see the module docs).
    pub binary_single: bool,
    /// Regressor `AVERAGE` aggregation: divide by the number of trees.
    pub average: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Op {
    /// A constant tensor (weights, biases); filled once when the runner is built.
    Const(Const),
    /// `a [m, k] · b [k, n]` (b may be `[k]`).
    MatMul,
    /// `alpha · A' · B' + beta · C` with optional transposes.
    Gemm {
        alpha: f32,
        beta: f32,
        trans_a: bool,
        trans_b: bool,
    },
    /// Elementwise with numpy broadcasting.
    Binary {
        f: Binary,
    },
    Unary {
        f: Unary,
    },
    LeakyRelu {
        alpha: f32,
    },
    /// Over the last axis.
    Softmax,
    /// Same data, new shape (Reshape, Flatten, Squeeze, Unsqueeze, Identity, float Cast).
    Reshape {
        shape: Vec<usize>,
    },
    Concat {
        axis: usize,
    },
    /// Picks `indices` along the last axis (ArrayFeatureExtractor, Gather, Slice).
    Take {
        indices: Vec<usize>,
    },
    /// ONNX-ML OneHotEncoder over integer categories: output shape = input shape + [len].
    OneHot {
        cats: Vec<i64>,
        zeros: bool,
    },
    /// ONNX-ML LinearClassifier / LinearRegressor: `x · Wᵀ + b`, then the post-transform.
    Linear {
        n_scores: usize,
        coefficients: Vec<f32>,
        intercepts: Vec<f32>,
        post: PostTransform,
        /// One score but two labels: emit `[1 − p, p]` (LOGISTIC) or `[−s, s]`.
        add_second: bool,
    },
    TreeEnsemble(Box<TreeEnsemble>),
}

/// The first non-finite number among `xs`, with its position.
fn first_non_finite(xs: impl IntoIterator<Item = f32>) -> Option<(usize, f32)> {
    xs.into_iter().enumerate().find(|(_, x)| !x.is_finite())
}

impl Op {
    /// A parameter that is NaN or infinite, named: such a program cannot be written as a
    /// compiled model (JSON has no NaN or infinity), so no program may hold one.
    fn non_finite(&self) -> Option<String> {
        let at =
            |what: &str, hit: Option<(usize, f32)>| hit.map(|(i, x)| format!("{what}[{i}] = {x}"));
        match self {
            Op::Const(c) => at("value", first_non_finite(c.data.iter().copied())),
            Op::Gemm { alpha, beta, .. } => at("alpha/beta", first_non_finite([*alpha, *beta])),
            Op::LeakyRelu { alpha } => at("alpha", first_non_finite([*alpha])),
            Op::Linear {
                coefficients,
                intercepts,
                ..
            } => at(
                "coefficient",
                first_non_finite(coefficients.iter().copied()),
            )
            .or_else(|| at("intercept", first_non_finite(intercepts.iter().copied()))),
            Op::TreeEnsemble(t) => t
                .nodes
                .iter()
                .enumerate()
                .find(|(_, n)| !n.value.is_finite())
                .map(|(i, n)| format!("the threshold of node {i} ({})", n.value))
                .or_else(|| {
                    at(
                        "leaf weight",
                        first_non_finite(t.weights.iter().map(|w| w.1)),
                    )
                })
                .or_else(|| {
                    at(
                        "base value",
                        first_non_finite(t.base_values.iter().copied()),
                    )
                }),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Op::Const(_) => "Const",
            Op::MatMul => "MatMul",
            Op::Gemm { .. } => "Gemm",
            Op::Binary { .. } => "Binary",
            Op::Unary { .. } => "Unary",
            Op::LeakyRelu { .. } => "LeakyRelu",
            Op::Softmax => "Softmax",
            Op::Reshape { .. } => "Reshape",
            Op::Concat { .. } => "Concat",
            Op::Take { .. } => "Take",
            Op::OneHot { .. } => "OneHot",
            Op::Linear { .. } => "Linear",
            Op::TreeEnsemble(_) => "TreeEnsemble",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub op: Op,
    pub inputs: Vec<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Program {
    pub width: usize,
    pub steps: Vec<Step>,
    /// Value id of the output and the element of it that is the score.
    pub output: usize,
    pub element: usize,
}

/// A [`Program`] with its shapes checked and its buffers allocated: `run` allocates nothing.
#[derive(Debug, Clone)]
pub struct Runner {
    /// Shared by the runners cloned from one (an edge isolate's engines): read-only.
    program: std::sync::Arc<Program>,
    shapes: std::sync::Arc<[Vec<usize>]>,
    values: Vec<Vec<f32>>,
    scratch: Vec<f32>,
}

static NO_SHAPE: Vec<usize> = Vec::new();

fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n {
            a.get(i + a.len() - n).copied()?
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b.get(i + b.len() - n).copied()?
        } else {
            1
        };
        let d = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return None;
        };
        *out.get_mut(i)? = d;
    }
    Some(out)
}

/// Flat index into a (possibly broadcast) operand of shape `s` for output index `idx` of shape
/// `out`.
fn bindex(idx: usize, out: &[usize], s: &[usize]) -> usize {
    let mut rem = idx;
    let mut flat = 0;
    let mut stride = 1;
    let off = out.len() - s.len();
    for axis in (0..out.len()).rev() {
        let d = out.get(axis).copied().unwrap_or(1).max(1);
        let coord = rem % d;
        rem /= d;
        if axis >= off {
            let sd = s.get(axis - off).copied().unwrap_or(1);
            if sd != 1 {
                flat += coord * stride;
            }
            stride *= sd;
        }
    }
    flat
}

fn sigmoid(x: f32) -> f32 {
    // onnxruntime's form: exact for large |x|, symmetric.
    let v = 1.0 / (1.0 + (-x.abs()).exp());
    if x < 0.0 {
        1.0 - v
    } else {
        v
    }
}

fn post_transform(post: PostTransform, s: &mut [f32]) {
    match post {
        PostTransform::None => {}
        PostTransform::Logistic => s.iter_mut().for_each(|x| *x = sigmoid(*x)),
        PostTransform::Softmax | PostTransform::SoftmaxZero => softmax(s, post),
    }
}

fn softmax(s: &mut [f32], post: PostTransform) {
    let zero = post == PostTransform::SoftmaxZero;
    let max = s
        .iter()
        .copied()
        .filter(|&x| !zero || x != 0.0)
        .fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f32;
    for x in s.iter_mut() {
        if zero && *x == 0.0 {
            continue;
        }
        *x = (*x - max).exp();
        sum += *x;
    }
    if sum > 0.0 {
        for x in s.iter_mut() {
            if !(zero && *x == 0.0) {
                *x /= sum;
            }
        }
    }
}

impl Program {
    /// Checks ids, shapes and sizes; returns the shape of every value.
    pub fn shapes(&self) -> Result<Vec<Vec<usize>>, String> {
        if self.steps.len() > MAX_STEPS {
            return Err(format!("{} steps; at most {MAX_STEPS}", self.steps.len()));
        }
        let mut shapes: Vec<Vec<usize>> = vec![vec![1, self.width]];
        let mut total = self.width;
        for (si, step) in self.steps.iter().enumerate() {
            let id = shapes.len();
            let err = |m: String| format!("step {si} ({}): {m}", step.op.name());
            if let Some(what) = step.op.non_finite() {
                return Err(err(format!(
                    "{what} is not a finite number; every weight must be finite (re-export the model)"
                )));
            }
            let ins: Vec<&Vec<usize>> = step
                .inputs
                .iter()
                .map(|&v| {
                    shapes
                        .get(v)
                        .ok_or_else(|| err(format!("input {v} is not defined before value {id}")))
                })
                .collect::<Result<_, _>>()?;
            let in0: &Vec<usize> = ins.first().copied().unwrap_or(&NO_SHAPE);
            let in1: &Vec<usize> = ins.get(1).copied().unwrap_or(&NO_SHAPE);
            let arity = |n: usize| {
                if ins.len() == n {
                    Ok(())
                } else {
                    Err(err(format!("takes {n} inputs, has {}", ins.len())))
                }
            };
            let shape = match &step.op {
                Op::Const(c) => {
                    arity(0)?;
                    if numel(&c.shape) != c.data.len() {
                        return Err(err(format!(
                            "shape {:?} but {} values",
                            c.shape,
                            c.data.len()
                        )));
                    }
                    c.shape.clone()
                }
                Op::MatMul => {
                    arity(2)?;
                    match (in0.as_slice(), in1.as_slice()) {
                        ([m, k], [k2, n]) if k == k2 => vec![*m, *n],
                        ([m, k], [k2]) if k == k2 => vec![*m],
                        (a, b) => return Err(err(format!("shapes {a:?} · {b:?}"))),
                    }
                }
                Op::Gemm {
                    trans_a, trans_b, ..
                } => {
                    if !(2..=3).contains(&ins.len()) {
                        return Err(err("takes 2 or 3 inputs".into()));
                    }
                    let (a, b) = match (in0.as_slice(), in1.as_slice()) {
                        ([a0, a1], [b0, b1]) => {
                            let a = if *trans_a { (*a1, *a0) } else { (*a0, *a1) };
                            let b = if *trans_b { (*b1, *b0) } else { (*b0, *b1) };
                            (a, b)
                        }
                        (a, b) => return Err(err(format!("needs 2-D inputs, got {a:?}, {b:?}"))),
                    };
                    if a.1 != b.0 {
                        return Err(err(format!("inner sizes {} and {} differ", a.1, b.0)));
                    }
                    let out = vec![a.0, b.1];
                    if let Some(c) = ins.get(2) {
                        if broadcast(&out, c).as_deref() != Some(out.as_slice()) {
                            return Err(err(format!("C {c:?} does not broadcast to {out:?}")));
                        }
                    }
                    out
                }
                Op::Binary { .. } => {
                    arity(2)?;
                    broadcast(in0, in1)
                        .ok_or_else(|| err(format!("{:?} and {:?} do not broadcast", in0, in1)))?
                }
                Op::Unary { .. } | Op::LeakyRelu { .. } | Op::Softmax => {
                    arity(1)?;
                    in0.clone()
                }
                Op::Reshape { shape } => {
                    arity(1)?;
                    if numel(shape) != numel(in0) {
                        return Err(err(format!("{:?} cannot become {shape:?}", in0)));
                    }
                    shape.clone()
                }
                Op::Concat { axis } => {
                    let first = ins.first().ok_or_else(|| err("no inputs".into()))?;
                    if *axis >= first.len() {
                        return Err(err(format!("axis {axis} out of range for {first:?}")));
                    }
                    let mut out = (*first).clone();
                    let mut sum = 0;
                    for s in &ins {
                        let same = s.len() == first.len()
                            && s.iter()
                                .zip(first.iter())
                                .enumerate()
                                .all(|(i, (a, b))| i == *axis || a == b);
                        if !same {
                            return Err(err(format!("{s:?} does not concat with {first:?}")));
                        }
                        sum += s.get(*axis).copied().unwrap_or(0);
                    }
                    if let Some(d) = out.get_mut(*axis) {
                        *d = sum;
                    }
                    out
                }
                Op::Take { indices } => {
                    arity(1)?;
                    let last = in0.last().copied().unwrap_or(0);
                    if let Some(i) = indices.iter().find(|&&i| i >= last) {
                        return Err(err(format!("index {i} out of range (last axis {last})")));
                    }
                    let mut out = in0.clone();
                    match out.last_mut() {
                        Some(d) => *d = indices.len(),
                        None => return Err(err("input is a scalar".into())),
                    }
                    out
                }
                Op::OneHot { cats, .. } => {
                    arity(1)?;
                    let mut out = in0.clone();
                    out.push(cats.len());
                    out
                }
                Op::Linear {
                    n_scores,
                    coefficients,
                    intercepts,
                    add_second,
                    ..
                } => {
                    arity(1)?;
                    let (rows, k) = match in0.as_slice() {
                        [r, k] => (*r, *k),
                        [k] => (1, *k),
                        s => return Err(err(format!("input {s:?} must be [N, features]"))),
                    };
                    if coefficients.len() != n_scores * k {
                        return Err(err(format!(
                            "{} coefficients for {n_scores} scores × {k} features",
                            coefficients.len()
                        )));
                    }
                    if !(intercepts.is_empty() || intercepts.len() == *n_scores) {
                        return Err(err(format!(
                            "{} intercepts for {n_scores} scores",
                            intercepts.len()
                        )));
                    }
                    if *add_second && *n_scores != 1 {
                        return Err(err("add_second needs exactly one score".into()));
                    }
                    vec![rows, n_scores + usize::from(*add_second)]
                }
                Op::TreeEnsemble(t) => {
                    arity(1)?;
                    let k = match in0.as_slice() {
                        [1, k] | [k] => *k,
                        s => return Err(err(format!("input {s:?} must be [1, features]"))),
                    };
                    t.check(k).map_err(err)?;
                    vec![1, if t.binary_single { 2 } else { t.n_scores }]
                }
            };
            total = total.saturating_add(numel(&shape));
            if total > MAX_ELEMENTS {
                return Err(err(format!(
                    "the program needs more than {MAX_ELEMENTS} values"
                )));
            }
            shapes.push(shape);
        }
        let out = shapes
            .get(self.output)
            .ok_or_else(|| format!("output value {} does not exist", self.output))?;
        if self.element >= numel(out) {
            return Err(format!(
                "element {} is outside the output of shape {out:?}",
                self.element
            ));
        }
        Ok(shapes)
    }

    /// Validates and allocates.
    pub fn into_runner(self) -> Result<Runner, String> {
        let shapes = self.shapes()?;
        let mut values: Vec<Vec<f32>> = Vec::with_capacity(shapes.len());
        values.push(vec![0.0; self.width]);
        for (step, shape) in self.steps.iter().zip(shapes.iter().skip(1)) {
            values.push(match &step.op {
                // Read from the program (shared by clones), not copied per runner.
                Op::Const(_) => Vec::new(),
                _ => vec![0.0; numel(shape)],
            });
        }
        Ok(Runner {
            program: std::sync::Arc::new(self),
            shapes: shapes.into(),
            values,
            scratch: Vec::new(),
        })
    }
}

impl TreeEnsemble {
    fn check(&self, width: usize) -> Result<(), String> {
        let n = self.nodes.len();
        if self.roots.is_empty() {
            return Err("no trees".into());
        }
        if let Some(r) = self.roots.iter().find(|&&r| r as usize >= n) {
            return Err(format!("root {r} out of range"));
        }
        let scores = if self.binary_single { 1 } else { self.n_scores };
        if !(self.base_values.is_empty() || self.base_values.len() == scores) {
            return Err(format!(
                "{} base values for {scores} scores",
                self.base_values.len()
            ));
        }
        for (i, node) in self.nodes.iter().enumerate() {
            if node.mode == NodeMode::Leaf {
                let end = node.start as usize + node.len as usize;
                if end > self.weights.len() {
                    return Err(format!("leaf {i} weights out of range"));
                }
            } else {
                if node.feature as usize >= width {
                    return Err(format!(
                        "node {i} reads feature {} of {width}",
                        node.feature
                    ));
                }
                // Children must come later: no cycles, every walk ends.
                if node.yes as usize <= i
                    || node.no as usize <= i
                    || node.yes as usize >= n
                    || node.no as usize >= n
                {
                    return Err(format!("node {i} has children out of order"));
                }
            }
        }
        if let Some((c, _)) = self.weights.iter().find(|(c, _)| *c as usize >= scores) {
            return Err(format!("a leaf adds to score {c} of {scores}"));
        }
        Ok(())
    }

    fn eval(&self, x: &[f32], out: &mut [f32]) {
        out.iter_mut().for_each(|v| *v = 0.0);
        let scores = if self.binary_single { 1 } else { self.n_scores };
        let acc = out.get_mut(..scores).unwrap_or_default();
        for &root in &self.roots {
            let mut i = root as usize;
            // Validated at load: every walk reaches a leaf.
            while let Some(node) = self.nodes.get(i) {
                let t = node.value;
                let yes = match node.mode {
                    NodeMode::Leaf => {
                        let (s, l) = (node.start as usize, node.len as usize);
                        for (c, w) in self.weights.get(s..s + l).unwrap_or_default() {
                            if let Some(a) = acc.get_mut(*c as usize) {
                                *a += *w;
                            }
                        }
                        break;
                    }
                    mode => {
                        let v = x.get(node.feature as usize).copied().unwrap_or(f32::NAN);
                        // A comparison with NaN is false (`neq` made so too): only then is the
                        // missing-value rule asked.
                        let hit = match mode {
                            NodeMode::Leq => v <= t,
                            NodeMode::Lt => v < t,
                            NodeMode::Gte => v >= t,
                            NodeMode::Gt => v > t,
                            NodeMode::Eq => v == t,
                            NodeMode::Neq => v != t && !v.is_nan(),
                            NodeMode::Leaf => false,
                        };
                        hit || (v.is_nan() && node.missing_yes)
                    }
                };
                i = if yes { node.yes } else { node.no } as usize;
            }
        }
        if self.average && !self.roots.is_empty() {
            let n = self.roots.len() as f32;
            acc.iter_mut().for_each(|a| *a /= n);
        }
        for (a, b) in acc.iter_mut().zip(&self.base_values) {
            *a += *b;
        }
        if self.binary_single {
            let s = out.first().copied().unwrap_or(0.0);
            let all_positive = || self.weights.iter().all(|(_, w)| *w >= 0.0);
            let pair = match self.post {
                PostTransform::Logistic => [sigmoid(-s), sigmoid(s)],
                _ if all_positive() => [1.0 - s, s],
                _ => [-s, s],
            };
            out.iter_mut().zip(pair).for_each(|(o, p)| *o = p);
        } else {
            post_transform(self.post, out);
        }
    }
}

impl Runner {
    pub fn program(&self) -> &Program {
        &self.program
    }
    pub fn width(&self) -> usize {
        self.program.width
    }

    /// Value `id`: the input, a constant (read from the shared program), or a step's output.
    fn value(&self, id: usize) -> &[f32] {
        let step = id.checked_sub(1).and_then(|si| self.program.steps.get(si));
        if let Some(Step {
            op: Op::Const(c), ..
        }) = step
        {
            return &c.data;
        }
        self.values.get(id).map(Vec::as_slice).unwrap_or_default()
    }

    /// Runs on one feature vector; returns the score element. `x.len()` must be `width`.
    pub fn run(&mut self, x: &[f32]) -> Result<f32, String> {
        if x.len() != self.program.width {
            return Err(format!(
                "got {} features, the model takes {}",
                x.len(),
                self.program.width
            ));
        }
        if let Some(v) = self.values.get_mut(0) {
            v.copy_from_slice(x);
        }
        for si in 0..self.program.steps.len() {
            if matches!(
                self.program.steps.get(si).map(|s| &s.op),
                Some(Op::Const(_))
            ) {
                continue;
            }
            let id = 1 + si;
            // Take the output buffer out so inputs can be borrowed alongside it.
            let mut out = std::mem::take(self.values.get_mut(id).ok_or("bad value id")?);
            self.step(si, &mut out);
            if let Some(v) = self.values.get_mut(id) {
                *v = out;
            }
        }
        self.value(self.program.output)
            .get(self.program.element)
            .copied()
            .ok_or_else(|| "no output".to_owned())
    }

    fn step(&mut self, si: usize, out: &mut [f32]) {
        let Some(step) = self.program.steps.get(si) else {
            return;
        };
        let id = 1 + si;
        let shape_of = |v: usize| self.shapes.get(v).map(Vec::as_slice).unwrap_or_default();
        let input = |k: usize| step.inputs.get(k).copied().unwrap_or(0);
        let out_shape = shape_of(id);
        match &step.op {
            Op::Const(_) => {}
            Op::MatMul => {
                let (a, b) = (self.value(input(0)), self.value(input(1)));
                let sa = shape_of(input(0));
                let sb = shape_of(input(1));
                let (m, k) = (
                    sa.first().copied().unwrap_or(1),
                    sa.get(1).copied().unwrap_or(1),
                );
                let n = if sb.len() == 2 {
                    sb.get(1).copied().unwrap_or(1)
                } else {
                    1
                };
                matmul(a, b, out, m, k, n, false, false);
            }
            Op::Gemm {
                alpha,
                beta,
                trans_a,
                trans_b,
            } => {
                let (a, b) = (self.value(input(0)), self.value(input(1)));
                let sa = shape_of(input(0));
                let sb = shape_of(input(1));
                let (m, k) = if *trans_a {
                    (
                        sa.get(1).copied().unwrap_or(1),
                        sa.first().copied().unwrap_or(1),
                    )
                } else {
                    (
                        sa.first().copied().unwrap_or(1),
                        sa.get(1).copied().unwrap_or(1),
                    )
                };
                let n = if *trans_b {
                    sb.first().copied().unwrap_or(1)
                } else {
                    sb.get(1).copied().unwrap_or(1)
                };
                matmul(a, b, out, m, k, n, *trans_a, *trans_b);
                if *alpha != 1.0 {
                    out.iter_mut().for_each(|v| *v *= alpha);
                }
                if step.inputs.len() == 3 {
                    let c = self.value(input(2));
                    let sc = shape_of(input(2));
                    for (i, o) in out.iter_mut().enumerate() {
                        *o += beta * c.get(bindex(i, out_shape, sc)).copied().unwrap_or(0.0);
                    }
                }
            }
            Op::Binary { f } => {
                let (a, b) = (self.value(input(0)), self.value(input(1)));
                let (sa, sb) = (shape_of(input(0)), shape_of(input(1)));
                let op = |x: f32, y: f32| match f {
                    Binary::Add => x + y,
                    Binary::Sub => x - y,
                    Binary::Mul => x * y,
                    Binary::Div => x / y,
                };
                let n = out.len();
                // An operand of the output's size (a bias row on a batch of one) or a scalar
                // needs no broadcast index arithmetic per element.
                let at = |v: &[f32], s: &[usize], i: usize| {
                    match v.len() {
                        l if l == n => v.get(i),
                        1 => v.first(),
                        _ => v.get(bindex(i, out_shape, s)),
                    }
                    .copied()
                    .unwrap_or(0.0)
                };
                for (i, o) in out.iter_mut().enumerate() {
                    *o = op(at(a, sa, i), at(b, sb, i));
                }
            }
            Op::Unary { f } => {
                let a = self.value(input(0));
                for (o, &x) in out.iter_mut().zip(a) {
                    *o = match f {
                        Unary::Relu => x.max(0.0),
                        Unary::Sigmoid => sigmoid(x),
                        Unary::Tanh => x.tanh(),
                        Unary::Exp => x.exp(),
                        Unary::Log => x.ln(),
                        Unary::Neg => -x,
                        Unary::Abs => x.abs(),
                        Unary::Sqrt => x.sqrt(),
                        Unary::Softplus => x.exp().ln_1p(),
                    };
                }
            }
            Op::LeakyRelu { alpha } => {
                let a = self.value(input(0));
                for (o, &x) in out.iter_mut().zip(a) {
                    *o = if x < 0.0 { alpha * x } else { x };
                }
            }
            Op::Softmax => {
                out.copy_from_slice(self.value(input(0)));
                let last = out_shape.last().copied().unwrap_or(1).max(1);
                for row in out.chunks_mut(last) {
                    softmax(row, PostTransform::Softmax);
                }
            }
            Op::Reshape { .. } => out.copy_from_slice(self.value(input(0))),
            Op::Concat { axis } => {
                // outer = product of dims before axis; each input contributes blocks.
                let outer: usize = out_shape.iter().take(*axis).product();
                let mut pos = 0;
                for o in 0..outer {
                    for &v in &step.inputs {
                        let s = shape_of(v);
                        let block: usize = s.iter().skip(*axis).product();
                        let src = self
                            .value(v)
                            .get(o * block..(o + 1) * block)
                            .unwrap_or_default();
                        if let Some(dst) = out.get_mut(pos..pos + block) {
                            dst.copy_from_slice(src);
                        }
                        pos += block;
                    }
                }
            }
            Op::Take { indices } => {
                let a = self.value(input(0));
                let last = shape_of(input(0)).last().copied().unwrap_or(1).max(1);
                let mut o = 0;
                for row in a.chunks(last) {
                    for &i in indices {
                        if let Some(d) = out.get_mut(o) {
                            *d = row.get(i).copied().unwrap_or(0.0);
                        }
                        o += 1;
                    }
                }
            }
            Op::OneHot { cats, .. } => {
                let a = self.value(input(0));
                out.iter_mut().for_each(|v| *v = 0.0);
                for (r, &x) in a.iter().enumerate() {
                    // onnxruntime casts float categories to int64 by truncation.
                    let c = x as i64;
                    if let Some(j) = cats.iter().position(|&k| k == c) {
                        if let Some(d) = out.get_mut(r * cats.len() + j) {
                            *d = 1.0;
                        }
                    }
                }
            }
            Op::Linear {
                n_scores,
                coefficients,
                intercepts,
                post,
                add_second,
            } => {
                let a = self.value(input(0));
                let k = shape_of(input(0)).last().copied().unwrap_or(1).max(1);
                let w = out_shape.last().copied().unwrap_or(1).max(1);
                for (row, o) in a.chunks(k).zip(out.chunks_mut(w)) {
                    for c in 0..*n_scores {
                        let coef = coefficients.get(c * k..(c + 1) * k).unwrap_or_default();
                        let mut s: f32 = row.iter().zip(coef).map(|(x, w)| x * w).sum();
                        s += intercepts.get(c).copied().unwrap_or(0.0);
                        if let Some(d) = o.get_mut(c) {
                            *d = s;
                        }
                    }
                    let scores = o.get_mut(..*n_scores).unwrap_or_default();
                    post_transform(*post, scores);
                    if *add_second {
                        let s = o.first().copied().unwrap_or(0.0);
                        let pair = if *post == PostTransform::Logistic {
                            [1.0 - s, s]
                        } else {
                            [-s, s]
                        };
                        o.iter_mut().zip(pair).for_each(|(d, p)| *d = p);
                    }
                }
            }
            Op::TreeEnsemble(t) => {
                let mut x = std::mem::take(&mut self.scratch);
                x.clear();
                x.extend_from_slice(self.value(input(0)));
                t.eval(&x, out);
                self.scratch = x;
            }
        }
    }
}

/// `out[m, n] = A[m, k] · B[k, n]` with optional transposes, row-major, f32 accumulation in
/// input order (each output adds its `k` products from `p = 0` up, in every layout, so the
/// loop order below changes nothing in the result). Short operands read as zeros.
#[allow(clippy::too_many_arguments)]
fn matmul(a: &[f32], b: &[f32], out: &mut [f32], m: usize, k: usize, n: usize, ta: bool, tb: bool) {
    out.iter_mut().for_each(|o| *o = 0.0);
    if k == 0 || n == 0 {
        return;
    }
    let at = |i: usize, p: usize| {
        if ta {
            a.get(p * m + i)
        } else {
            a.get(i * k + p)
        }
        .copied()
        .unwrap_or(0.0)
    };
    for (i, orow) in out.chunks_mut(n).take(m).enumerate() {
        if tb {
            // B' rows are B's rows: a dot product of contiguous slices per output.
            for (j, o) in orow.iter_mut().enumerate() {
                let brow = b.get(j * k..).unwrap_or_default();
                let mut s = 0.0f32;
                for (p, &y) in brow.iter().take(k).enumerate() {
                    s += at(i, p) * y;
                }
                *o = s;
            }
        } else {
            // Row i of the output accumulates x_p · B[p, ..] for p in order: contiguous rows
            // of B, no per-element index arithmetic (the MLP layers' hot loop).
            for (p, brow) in b.chunks(n).take(k).enumerate() {
                let x = at(i, p);
                for (o, &y) in orow.iter_mut().zip(brow) {
                    *o += x * y;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lr() -> Program {
        Program {
            width: 3,
            steps: vec![
                Step {
                    op: Op::Const(Const {
                        shape: vec![3, 1],
                        data: vec![0.5, -1.0, 2.0],
                    }),
                    inputs: vec![],
                },
                Step {
                    op: Op::Const(Const {
                        shape: vec![1],
                        data: vec![0.25],
                    }),
                    inputs: vec![],
                },
                Step {
                    op: Op::MatMul,
                    inputs: vec![0, 1],
                },
                Step {
                    op: Op::Binary { f: Binary::Add },
                    inputs: vec![3, 2],
                },
                Step {
                    op: Op::Unary { f: Unary::Sigmoid },
                    inputs: vec![4],
                },
            ],
            output: 5,
            element: 0,
        }
    }

    #[test]
    fn logistic_regression_by_hand() {
        let mut r = lr().into_runner().unwrap();
        let p = r.run(&[1.0, 2.0, 3.0]).unwrap();
        let z: f32 = 0.5 - 2.0 + 6.0 + 0.25;
        assert!((p - 1.0 / (1.0 + (-z).exp())).abs() < 1e-7);
        assert!(r.run(&[1.0]).is_err());
    }

    #[test]
    fn bad_programs_are_refused_not_run() {
        let mut p = lr();
        p.steps[3].inputs = vec![3, 9];
        assert!(p.into_runner().unwrap_err().contains("not defined"));
        let mut p = lr();
        if let Op::Const(c) = &mut p.steps[0].op {
            c.data.pop();
        }
        assert!(p.into_runner().is_err());
        let mut p = lr();
        p.element = 4;
        assert!(p.into_runner().is_err());
        let mut p = lr();
        p.steps[2].op = Op::Reshape { shape: vec![7] };
        assert!(p.into_runner().is_err());
    }

    #[test]
    fn trees_walk_and_refuse_cycles() {
        let node = |mode, feature, value, yes, no, start, len| TreeNode {
            mode,
            feature,
            value,
            yes,
            no,
            missing_yes: false,
            start,
            len,
        };
        let t = TreeEnsemble {
            nodes: vec![
                node(NodeMode::Leq, 0, 0.5, 1, 2, 0, 0),
                node(NodeMode::Leaf, 0, 0.0, 0, 0, 0, 1),
                node(NodeMode::Leaf, 0, 0.0, 0, 0, 1, 1),
            ],
            roots: vec![0],
            weights: vec![(0, -1.0), (0, 2.0)],
            n_scores: 2,
            base_values: vec![0.5],
            post: PostTransform::Logistic,
            binary_single: true,
            average: false,
        };
        let prog = |t: TreeEnsemble| Program {
            width: 1,
            steps: vec![Step {
                op: Op::TreeEnsemble(Box::new(t)),
                inputs: vec![0],
            }],
            output: 1,
            element: 1,
        };
        let mut r = prog(t.clone()).into_runner().unwrap();
        assert!((r.run(&[0.0]).unwrap() - sigmoid(-0.5)).abs() < 1e-7);
        assert!((r.run(&[1.0]).unwrap() - sigmoid(2.5)).abs() < 1e-7);
        let mut bad = t;
        bad.nodes[0].yes = 0;
        assert!(prog(bad)
            .into_runner()
            .unwrap_err()
            .contains("out of order"));
    }
}
