//! ONNX graph → [`Program`] (full build only). The part of the graph that computes the chosen
//! output is sliced out, each node translated; a node this compiler does not know makes the
//! whole import return [`ImportError::Unsupported`] so the caller can fall back to tract.
//! What data scientists' exports need is covered: plain MatMul/Gemm/Add/activations (PyTorch
//! and hand-built graphs), skl2onnx `LinearClassifier`/`LinearRegressor`,
//! `TreeEnsembleClassifier`/`TreeEnsembleRegressor`, `Scaler`, `OneHotEncoder` over integer
//! categories, `ArrayFeatureExtractor`, Cast to float, Reshape/Flatten/Squeeze/Unsqueeze,
//! Concat, Gather/Slice on the feature axis, and a trailing `ZipMap` (cut: its input tensor is
//! read instead, the class order is the same).

use std::collections::{HashMap, HashSet};

use crate::onnx_pb::{self as pb, AttributeProto, GraphProto, NodeProto, TensorProto};

use crate::program::{
    Binary, Const, NodeMode, Op, PostTransform, Program, Step, TreeEnsemble, TreeNode, Unary,
};

#[derive(Debug)]
pub enum ImportError {
    /// An operator (or a use of one) this compiler does not translate.
    Unsupported {
        op: String,
        node: String,
        why: String,
    },
    /// The graph is wrong for edgewise whatever runs it (message says what to fix).
    Inputs(String),
    Width {
        declared: usize,
    },
    Outputs(String),
    Invalid(String),
}

fn unsupported(node: &NodeProto, why: impl Into<String>) -> ImportError {
    ImportError::Unsupported {
        op: node.op_type.clone(),
        node: node.name.clone(),
        why: why.into(),
    }
}

fn attr<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}
fn attr_i(node: &NodeProto, name: &str, default: i64) -> i64 {
    attr(node, name).map_or(default, |a| a.i)
}
fn attr_f(node: &NodeProto, name: &str, default: f32) -> f32 {
    attr(node, name).map_or(default, |a| a.f)
}
fn attr_s(node: &NodeProto, name: &str) -> Option<String> {
    attr(node, name).map(|a| String::from_utf8_lossy(&a.s).into_owned())
}
fn attr_ints<'a>(node: &'a NodeProto, name: &str) -> &'a [i64] {
    attr(node, name).map_or(&[], |a| a.ints.as_slice())
}
/// Floats from `name` or `name_as_tensor`.
fn attr_floats(node: &NodeProto, name: &str) -> Result<Vec<f32>, ImportError> {
    if let Some(a) = attr(node, name) {
        return Ok(a.floats.clone());
    }
    match attr(node, &format!("{name}_as_tensor")).and_then(|a| a.t.as_ref()) {
        Some(t) => tensor_f32(t).map(|(_, d)| d),
        None => Ok(Vec::new()),
    }
}

fn dims(t: &TensorProto) -> Result<Vec<usize>, ImportError> {
    t.dims
        .iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| {
                ImportError::Invalid(format!("tensor {:?} has a negative dimension", t.name))
            })
        })
        .collect()
}

fn le_chunks<const N: usize>(raw: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    raw.chunks_exact(N).filter_map(|c| c.try_into().ok())
}

/// A float tensor (float or double) as f32 values.
fn tensor_f32(t: &TensorProto) -> Result<(Vec<usize>, Vec<f32>), ImportError> {
    let shape = dims(t)?;
    let data: Vec<f32> = match pb::tensor_proto::DataType::try_from(t.data_type) {
        Ok(pb::tensor_proto::DataType::Float) if !t.raw_data.is_empty() => {
            le_chunks::<4>(&t.raw_data)
                .map(f32::from_le_bytes)
                .collect()
        }
        Ok(pb::tensor_proto::DataType::Float) => t.float_data.clone(),
        Ok(pb::tensor_proto::DataType::Double) if !t.raw_data.is_empty() => {
            le_chunks::<8>(&t.raw_data)
                .map(|b| f64::from_le_bytes(b) as f32)
                .collect()
        }
        Ok(pb::tensor_proto::DataType::Double) => t.double_data.iter().map(|&x| x as f32).collect(),
        _ => {
            return Err(ImportError::Invalid(format!(
                "tensor {:?} is not float (type {})",
                t.name, t.data_type
            )))
        }
    };
    if data.len() != shape.iter().product::<usize>() {
        return Err(ImportError::Invalid(format!(
            "tensor {:?} has shape {shape:?} but {} values",
            t.name,
            data.len()
        )));
    }
    Ok((shape, data))
}

/// An integer tensor (int64 or int32) as i64 values.
fn tensor_i64(t: &TensorProto) -> Option<Vec<i64>> {
    match pb::tensor_proto::DataType::try_from(t.data_type).ok()? {
        pb::tensor_proto::DataType::Int64 if !t.raw_data.is_empty() => Some(
            le_chunks::<8>(&t.raw_data)
                .map(i64::from_le_bytes)
                .collect(),
        ),
        pb::tensor_proto::DataType::Int64 => Some(t.int64_data.clone()),
        pb::tensor_proto::DataType::Int32 if !t.raw_data.is_empty() => Some(
            le_chunks::<4>(&t.raw_data)
                .map(|b| i64::from(i32::from_le_bytes(b)))
                .collect(),
        ),
        pb::tensor_proto::DataType::Int32 => {
            Some(t.int32_data.iter().map(|&x| i64::from(x)).collect())
        }
        _ => None,
    }
}

/// What a graph name stands for during the import.
#[derive(Clone)]
enum Val {
    /// A value of the program.
    Id(usize),
    /// A constant not yet materialized (materialized when a float op reads it).
    Tensor(Box<TensorProto>),
}

struct Importer<'g> {
    graph: &'g GraphProto,
    program: Program,
    shapes: Vec<Vec<usize>>,
    vals: HashMap<String, Val>,
}

impl Importer<'_> {
    fn push(&mut self, node: &NodeProto, op: Op, inputs: Vec<usize>) -> Result<usize, ImportError> {
        self.program.steps.push(Step { op, inputs });
        let id = self.shapes.len();
        // Shapes of the whole program are rechecked per step; graphs here have tens of nodes.
        self.program.output = id;
        self.program.element = 0;
        self.shapes = self
            .program
            .shapes()
            .map_err(|e| unsupported(node, format!("shape check failed: {e}")))?;
        Ok(id)
    }

    fn id(&mut self, node: &NodeProto, name: &str) -> Result<usize, ImportError> {
        match self.vals.get(name).cloned() {
            Some(Val::Id(i)) => Ok(i),
            Some(Val::Tensor(t)) => {
                let (shape, data) = tensor_f32(&t).map_err(|_| {
                    unsupported(node, format!("input {name:?} is not a float tensor"))
                })?;
                let id = self.constant(node, shape, data)?;
                self.vals.insert(name.to_owned(), Val::Id(id));
                Ok(id)
            }
            None => Err(ImportError::Invalid(format!(
                "node {:?} reads {name:?}, which nothing produces",
                node.name
            ))),
        }
    }

    fn constant(
        &mut self,
        node: &NodeProto,
        shape: Vec<usize>,
        data: Vec<f32>,
    ) -> Result<usize, ImportError> {
        self.push(node, Op::Const(Const { shape, data }), vec![])
    }

    fn ints_of(&self, node: &NodeProto, name: &str) -> Result<Vec<i64>, ImportError> {
        match self.vals.get(name) {
            Some(Val::Tensor(t)) => tensor_i64(t).ok_or_else(|| {
                unsupported(node, format!("{name:?} must be a constant integer tensor"))
            }),
            _ => Err(unsupported(
                node,
                format!("{name:?} must be a constant (computed shapes/indices are not supported)"),
            )),
        }
    }

    fn shape(&self, id: usize) -> Vec<usize> {
        self.shapes.get(id).cloned().unwrap_or_default()
    }

    fn out(&mut self, node: &NodeProto, k: usize, id: usize) {
        if let Some(name) = node.output.get(k) {
            if !name.is_empty() {
                self.vals.insert(name.clone(), Val::Id(id));
            }
        }
    }

    fn input_name<'n>(&self, node: &'n NodeProto, k: usize) -> Result<&'n str, ImportError> {
        node.input
            .get(k)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| unsupported(node, format!("input {k} is missing")))
    }

    fn node(&mut self, node: &NodeProto) -> Result<(), ImportError> {
        let domain = node.domain.as_str();
        if !matches!(domain, "" | "ai.onnx" | "ai.onnx.ml") {
            return Err(unsupported(node, format!("domain {domain:?}")));
        }
        let op = node.op_type.as_str();
        let x = |imp: &mut Self, k: usize| -> Result<usize, ImportError> {
            let name = imp.input_name(node, k)?;
            imp.id(node, name)
        };
        let unary = |f| Op::Unary { f };
        let id = match op {
            "Constant" => {
                let t = attr(node, "value")
                    .and_then(|a| a.t.clone())
                    .ok_or_else(|| unsupported(node, "only `value` tensors"))?;
                if let Some(name) = node.output.first() {
                    self.vals.insert(name.clone(), Val::Tensor(Box::new(t)));
                }
                return Ok(());
            }
            "Identity" => x(self, 0)?,
            "Cast" => {
                // FLOAT, DOUBLE, FLOAT16 keep the values (we compute in f32).
                let to = attr_i(node, "to", 1);
                if !matches!(to, 1 | 10 | 11) {
                    return Err(unsupported(
                        node,
                        format!("Cast to type {to} (only to float)"),
                    ));
                }
                x(self, 0)?
            }
            "MatMul" => {
                let (a, b) = (x(self, 0)?, x(self, 1)?);
                self.push(node, Op::MatMul, vec![a, b])?
            }
            "Gemm" => {
                let mut ins = vec![x(self, 0)?, x(self, 1)?];
                if node.input.get(2).is_some_and(|s| !s.is_empty()) {
                    ins.push(x(self, 2)?);
                }
                let op = Op::Gemm {
                    alpha: attr_f(node, "alpha", 1.0),
                    beta: attr_f(node, "beta", 1.0),
                    trans_a: attr_i(node, "transA", 0) != 0,
                    trans_b: attr_i(node, "transB", 0) != 0,
                };
                self.push(node, op, ins)?
            }
            "Add" | "Sub" | "Mul" | "Div" => {
                let f = match op {
                    "Add" => Binary::Add,
                    "Sub" => Binary::Sub,
                    "Mul" => Binary::Mul,
                    _ => Binary::Div,
                };
                let (a, b) = (x(self, 0)?, x(self, 1)?);
                self.push(node, Op::Binary { f }, vec![a, b])?
            }
            "Relu" | "Sigmoid" | "Tanh" | "Exp" | "Log" | "Neg" | "Abs" | "Sqrt" | "Softplus" => {
                let f = match op {
                    "Relu" => Unary::Relu,
                    "Sigmoid" => Unary::Sigmoid,
                    "Tanh" => Unary::Tanh,
                    "Exp" => Unary::Exp,
                    "Log" => Unary::Log,
                    "Neg" => Unary::Neg,
                    "Abs" => Unary::Abs,
                    "Sqrt" => Unary::Sqrt,
                    _ => Unary::Softplus,
                };
                let a = x(self, 0)?;
                self.push(node, unary(f), vec![a])?
            }
            "LeakyRelu" => {
                let a = x(self, 0)?;
                self.push(
                    node,
                    Op::LeakyRelu {
                        alpha: attr_f(node, "alpha", 0.01),
                    },
                    vec![a],
                )?
            }
            "Softmax" => {
                let a = x(self, 0)?;
                let rank = self.shape(a).len() as i64;
                let axis = attr_i(node, "axis", -1);
                let axis = if axis < 0 { axis + rank } else { axis };
                if axis != rank - 1 {
                    return Err(unsupported(
                        node,
                        "softmax over an axis other than the last",
                    ));
                }
                self.push(node, Op::Softmax, vec![a])?
            }
            "Reshape" | "Flatten" | "Squeeze" | "Unsqueeze" => {
                let a = x(self, 0)?;
                let s = self.shape(a);
                let shape = match op {
                    "Reshape" => {
                        let want = self.ints_of(node, self.input_name(node, 1)?)?;
                        reshape_target(&s, &want).ok_or_else(|| {
                            unsupported(node, format!("cannot reshape {s:?} to {want:?}"))
                        })?
                    }
                    "Flatten" => {
                        let axis = attr_i(node, "axis", 1);
                        let axis = if axis < 0 {
                            axis + s.len() as i64
                        } else {
                            axis
                        } as usize;
                        let outer: usize = s.iter().take(axis).product();
                        let inner: usize = s.iter().skip(axis).product();
                        vec![outer, inner]
                    }
                    _ => {
                        let axes = if let Some(a) = attr(node, "axes") {
                            a.ints.clone()
                        } else if node.input.get(1).is_some_and(|n| !n.is_empty()) {
                            self.ints_of(node, self.input_name(node, 1)?)?
                        } else {
                            Vec::new()
                        };
                        if op == "Squeeze" {
                            let r = s.len() as i64;
                            let axes: HashSet<i64> = axes
                                .iter()
                                .map(|&a| if a < 0 { a + r } else { a })
                                .collect();
                            s.iter()
                                .enumerate()
                                .filter(|(i, d)| {
                                    !(if axes.is_empty() {
                                        **d == 1
                                    } else {
                                        axes.contains(&(*i as i64))
                                    })
                                })
                                .map(|(_, d)| *d)
                                .collect()
                        } else {
                            let r = (s.len() + axes.len()) as i64;
                            let mut axes: Vec<i64> = axes
                                .iter()
                                .map(|&a| if a < 0 { a + r } else { a })
                                .collect();
                            axes.sort_unstable();
                            let mut out = s.clone();
                            for a in axes {
                                let a = usize::try_from(a)
                                    .map_err(|_| unsupported(node, "bad axis"))?;
                                if a > out.len() {
                                    return Err(unsupported(node, "bad axis"));
                                }
                                out.insert(a, 1);
                            }
                            out
                        }
                    }
                };
                self.push(node, Op::Reshape { shape }, vec![a])?
            }
            "Concat" => {
                let mut ins = Vec::new();
                for k in 0..node.input.len() {
                    ins.push(x(self, k)?);
                }
                let rank = ins.first().map_or(0, |&i| self.shape(i).len()) as i64;
                let axis = attr_i(node, "axis", 1);
                let axis = if axis < 0 { axis + rank } else { axis };
                let axis = usize::try_from(axis).map_err(|_| unsupported(node, "bad axis"))?;
                self.push(node, Op::Concat { axis }, ins)?
            }
            "ArrayFeatureExtractor" | "Gather" | "Slice" => {
                let a = x(self, 0)?;
                let s = self.shape(a);
                let last = s.last().copied().unwrap_or(0) as i64;
                let rank = s.len() as i64;
                let indices: Vec<i64> = match op {
                    "ArrayFeatureExtractor" => self.ints_of(node, self.input_name(node, 1)?)?,
                    "Gather" => {
                        let axis = attr_i(node, "axis", 0);
                        let axis = if axis < 0 { axis + rank } else { axis };
                        if axis != rank - 1 {
                            return Err(unsupported(node, "Gather on an axis other than the last"));
                        }
                        self.ints_of(node, self.input_name(node, 1)?)?
                    }
                    _ => {
                        let starts = self.ints_of(node, self.input_name(node, 1)?)?;
                        let ends = self.ints_of(node, self.input_name(node, 2)?)?;
                        let axes = match node.input.get(3).filter(|n| !n.is_empty()) {
                            Some(n) => self.ints_of(node, n)?,
                            None => vec![rank - 1],
                        };
                        if let Some(n) = node.input.get(4).filter(|n| !n.is_empty()) {
                            if self.ints_of(node, n)?.iter().any(|&s| s != 1) {
                                return Err(unsupported(node, "steps other than 1"));
                            }
                        }
                        match (starts.as_slice(), ends.as_slice(), axes.as_slice()) {
                            ([st], [en], [ax]) if (*ax == rank - 1 || *ax == -1) => {
                                let clamp = |v: i64| {
                                    if v < 0 {
                                        (v + last).max(0)
                                    } else {
                                        v.min(last)
                                    }
                                };
                                (clamp(*st)..clamp(*en)).collect()
                            }
                            _ => {
                                return Err(unsupported(
                                    node,
                                    "slices other than one range of the last axis",
                                ))
                            }
                        }
                    }
                };
                let indices = indices
                    .iter()
                    .map(|&i| {
                        usize::try_from(if i < 0 { i + last } else { i })
                            .map_err(|_| unsupported(node, "index out of range"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                self.push(node, Op::Take { indices }, vec![a])?
            }
            "Scaler" => {
                let a = x(self, 0)?;
                let k = self.shape(a).last().copied().unwrap_or(1);
                let expand = |v: Vec<f32>, default: f32| -> Vec<f32> {
                    match v.len() {
                        0 => vec![default; k],
                        1 => vec![v.first().copied().unwrap_or(default); k],
                        _ => v,
                    }
                };
                let offset = expand(attr_floats(node, "offset")?, 0.0);
                let scale = expand(attr_floats(node, "scale")?, 1.0);
                let off_id = self.constant(node, vec![offset.len()], offset)?;
                let scale_id = self.constant(node, vec![scale.len()], scale)?;
                let d = self.push(node, Op::Binary { f: Binary::Sub }, vec![a, off_id])?;
                self.push(node, Op::Binary { f: Binary::Mul }, vec![d, scale_id])?
            }
            "OneHotEncoder" => {
                let cats = attr_ints(node, "cats_int64s").to_vec();
                if cats.is_empty() {
                    return Err(unsupported(node, "string categories (cats_strings)"));
                }
                let zeros = attr_i(node, "zeros", 1) != 0;
                if !zeros {
                    return Err(unsupported(
                        node,
                        "zeros=0 (an unseen category is an error in ONNX)",
                    ));
                }
                let a = x(self, 0)?;
                self.push(node, Op::OneHot { cats, zeros }, vec![a])?
            }
            "LinearClassifier" | "LinearRegressor" => {
                let a = x(self, 0)?;
                let k = self.shape(a).last().copied().unwrap_or(1).max(1);
                let coefficients = attr_floats(node, "coefficients")?;
                let intercepts = attr_floats(node, "intercepts")?;
                let n_scores = coefficients.len() / k;
                let post = post_transform(node)?;
                let add_second = if op == "LinearClassifier" {
                    let labels = attr_ints(node, "classlabels_ints")
                        .len()
                        .max(attr(node, "classlabels_strings").map_or(0, |a| a.strings.len()));
                    n_scores == 1 && labels == 2
                } else {
                    false
                };
                let id = self.push(
                    node,
                    Op::Linear {
                        n_scores,
                        coefficients,
                        intercepts,
                        post,
                        add_second,
                    },
                    vec![a],
                )?;
                // LinearClassifier: (label, scores); LinearRegressor: (scores).
                self.out(node, if op == "LinearClassifier" { 1 } else { 0 }, id);
                return Ok(());
            }
            "TreeEnsembleClassifier" | "TreeEnsembleRegressor" => {
                let a = x(self, 0)?;
                let t = tree_ensemble(node, op == "TreeEnsembleClassifier")?;
                let id = self.push(node, Op::TreeEnsemble(Box::new(t)), vec![a])?;
                self.out(node, if op == "TreeEnsembleClassifier" { 1 } else { 0 }, id);
                return Ok(());
            }
            "ZipMap" => {
                // Only reached when ZipMap is not the output we read (a ZipMap inside the graph).
                return Err(unsupported(
                    node,
                    "ZipMap whose result is used by another node",
                ));
            }
            _ => return Err(unsupported(node, "not known to the edgewise compiler")),
        };
        self.out(node, 0, id);
        Ok(())
    }
}

fn post_transform(node: &NodeProto) -> Result<PostTransform, ImportError> {
    match attr_s(node, "post_transform").as_deref().unwrap_or("NONE") {
        "NONE" => Ok(PostTransform::None),
        "LOGISTIC" => Ok(PostTransform::Logistic),
        "SOFTMAX" => Ok(PostTransform::Softmax),
        "SOFTMAX_ZERO" => Ok(PostTransform::SoftmaxZero),
        other => Err(unsupported(node, format!("post_transform {other}"))),
    }
}

/// Resolves an ONNX Reshape target (0 = copy, −1 = infer) against `from`.
fn reshape_target(from: &[usize], want: &[i64]) -> Option<Vec<usize>> {
    let total: usize = from.iter().product();
    let mut out = Vec::with_capacity(want.len());
    let mut infer = None;
    for (i, &w) in want.iter().enumerate() {
        match w {
            0 => out.push(*from.get(i)?),
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            w if w > 0 => out.push(usize::try_from(w).ok()?),
            _ => return None,
        }
    }
    if let Some(i) = infer {
        let rest: usize = out.iter().product();
        if rest == 0 || !total.is_multiple_of(rest) {
            return None;
        }
        *out.get_mut(i)? = total / rest;
    }
    (out.iter().product::<usize>() == total).then_some(out)
}

fn tree_ensemble(node: &NodeProto, classifier: bool) -> Result<TreeEnsemble, ImportError> {
    let bad = |why: &str| unsupported(node, why.to_owned());
    let treeids = attr_ints(node, "nodes_treeids");
    let nodeids = attr_ints(node, "nodes_nodeids");
    let features = attr_ints(node, "nodes_featureids");
    let values = attr_floats(node, "nodes_values")?;
    let trues = attr_ints(node, "nodes_truenodeids");
    let falses = attr_ints(node, "nodes_falsenodeids");
    let missing = attr_ints(node, "nodes_missing_value_tracks_true");
    let modes: Vec<String> = attr(node, "nodes_modes")
        .map(|a| {
            a.strings
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
        .unwrap_or_default();
    let n = treeids.len();
    if [
        nodeids.len(),
        features.len(),
        values.len(),
        trues.len(),
        falses.len(),
        modes.len(),
    ]
    .iter()
    .any(|&l| l != n)
        || !(missing.is_empty() || missing.len() == n)
        || n == 0
    {
        return Err(bad("the nodes_* attributes differ in length"));
    }
    let prefix = if classifier { "class" } else { "target" };
    let w_tree = attr_ints(node, &format!("{prefix}_treeids"));
    let w_node = attr_ints(node, &format!("{prefix}_nodeids"));
    let w_id = attr_ints(node, &format!("{prefix}_ids"));
    let w_val = attr_floats(node, &format!("{prefix}_weights"))?;
    if [w_node.len(), w_id.len(), w_val.len()]
        .iter()
        .any(|&l| l != w_tree.len())
    {
        return Err(bad("the weight attributes differ in length"));
    }
    let mut base_values = attr_floats(node, "base_values")?;
    let post = post_transform(node)?;
    let (n_scores, binary_single, average) = if classifier {
        let labels = attr_ints(node, "classlabels_int64s")
            .len()
            .max(attr(node, "classlabels_strings").map_or(0, |a| a.strings.len()));
        let ids: HashSet<i64> = w_id.iter().copied().collect();
        let single = labels == 2 && ids.len() == 1;
        if single {
            if !ids.contains(&0) {
                return Err(bad("a two-class ensemble scoring only class 1"));
            }
            if base_values.len() > 1 {
                return Err(bad(
                    "a two-class ensemble with one scored class and two base values",
                ));
            }
        } else if labels == 2 && post == PostTransform::None {
            // onnxruntime rewrites two-score binary outputs in ways the spec does not state.
        }
        (labels, single, false)
    } else {
        let agg = attr_s(node, "aggregate_function").unwrap_or_else(|| "SUM".into());
        let average = match agg.as_str() {
            "SUM" => false,
            "AVERAGE" => true,
            other => return Err(bad(&format!("aggregate_function {other}"))),
        };
        (
            usize::try_from(attr_i(node, "n_targets", 1)).map_err(|_| bad("n_targets"))?,
            false,
            average,
        )
    };
    if n_scores == 0 {
        return Err(bad("no classes / targets"));
    }
    if base_values.iter().all(|&b| b == 0.0) && !binary_single {
        base_values.clear();
    }
    // Position of (tree, node) in the attribute arrays.
    let mut pos: HashMap<(i64, i64), usize> = HashMap::with_capacity(n);
    for i in 0..n {
        let key = (
            treeids.get(i).copied().unwrap_or(0),
            nodeids.get(i).copied().unwrap_or(0),
        );
        if pos.insert(key, i).is_some() {
            return Err(bad("a (tree, node) id appears twice"));
        }
    }
    // Leaf weights per position.
    let mut leaf_w: HashMap<usize, Vec<(u32, f32)>> = HashMap::new();
    for j in 0..w_tree.len() {
        let key = (
            w_tree.get(j).copied().unwrap_or(0),
            w_node.get(j).copied().unwrap_or(0),
        );
        let p = *pos
            .get(&key)
            .ok_or_else(|| bad("a weight names a node that does not exist"))?;
        let class = if binary_single {
            0
        } else {
            w_id.get(j).copied().unwrap_or(0)
        };
        let class = u32::try_from(class).map_err(|_| bad("negative class id"))?;
        leaf_w
            .entry(p)
            .or_default()
            .push((class, w_val.get(j).copied().unwrap_or(0.0)));
    }
    // Roots: the nodes no other node points at, in tree-id order.
    let mut child: HashSet<usize> = HashSet::new();
    for i in 0..n {
        if modes.get(i).map(String::as_str) != Some("LEAF") {
            let t = treeids.get(i).copied().unwrap_or(0);
            for c in [trues.get(i), falses.get(i)].into_iter().flatten() {
                child.insert(
                    *pos.get(&(t, *c))
                        .ok_or_else(|| bad("a branch points at a node that does not exist"))?,
                );
            }
        }
    }
    let mut roots: Vec<usize> = (0..n).filter(|i| !child.contains(i)).collect();
    roots.sort_by_key(|&i| {
        (
            treeids.get(i).copied().unwrap_or(0),
            nodeids.get(i).copied().unwrap_or(0),
        )
    });
    // Flatten each tree parent-before-children.
    let mut out = TreeEnsemble {
        nodes: Vec::with_capacity(n),
        roots: Vec::with_capacity(roots.len()),
        weights: Vec::with_capacity(w_val.len()),
        n_scores,
        base_values,
        post,
        binary_single,
        average,
    };
    let mut new_index: HashMap<usize, u32> = HashMap::with_capacity(n);
    let mut order: Vec<usize> = Vec::with_capacity(n);
    for &r in &roots {
        let idx = u32::try_from(order.len()).map_err(|_| bad("too many nodes"))?;
        new_index.insert(r, idx);
        out.roots.push(idx);
        order.push(r);
        let mut k = order.len() - 1;
        while let Some(&p) = order.get(k) {
            if modes.get(p).map(String::as_str) != Some("LEAF") {
                let t = treeids.get(p).copied().unwrap_or(0);
                for c in [trues.get(p), falses.get(p)].into_iter().flatten() {
                    let cp = *pos.get(&(t, *c)).ok_or_else(|| bad("dangling child"))?;
                    if new_index.contains_key(&cp) {
                        return Err(bad("a node is reached twice (not a tree)"));
                    }
                    new_index.insert(
                        cp,
                        u32::try_from(order.len()).map_err(|_| bad("too many nodes"))?,
                    );
                    order.push(cp);
                }
            }
            k += 1;
        }
    }
    if order.len() != n {
        return Err(bad("some nodes are unreachable from every root"));
    }
    for &p in &order {
        let mode = match modes.get(p).map(String::as_str) {
            Some("BRANCH_LEQ") => NodeMode::Leq,
            Some("BRANCH_LT") => NodeMode::Lt,
            Some("BRANCH_GTE") => NodeMode::Gte,
            Some("BRANCH_GT") => NodeMode::Gt,
            Some("BRANCH_EQ") => NodeMode::Eq,
            Some("BRANCH_NEQ") => NodeMode::Neq,
            Some("LEAF") => NodeMode::Leaf,
            _ => return Err(bad("unknown node mode")),
        };
        let t = treeids.get(p).copied().unwrap_or(0);
        let child = |c: Option<&i64>| -> u32 {
            c.and_then(|c| pos.get(&(t, *c)))
                .and_then(|cp| new_index.get(cp))
                .copied()
                .unwrap_or(0)
        };
        let (start, len) = if mode == NodeMode::Leaf {
            let w = leaf_w.remove(&p).unwrap_or_default();
            let start = u32::try_from(out.weights.len()).map_err(|_| bad("too many weights"))?;
            let len = u32::try_from(w.len()).map_err(|_| bad("too many weights"))?;
            out.weights.extend(w);
            (start, len)
        } else {
            (0, 0)
        };
        out.nodes.push(TreeNode {
            mode,
            feature: u32::try_from(features.get(p).copied().unwrap_or(0))
                .map_err(|_| bad("negative feature id"))?,
            // A leaf's threshold is never read: 0, whatever the file says (a NaN there would
            // make the compiled form unwritable).
            value: if mode == NodeMode::Leaf {
                0.0
            } else {
                values.get(p).copied().unwrap_or(0.0)
            },
            yes: if mode == NodeMode::Leaf {
                0
            } else {
                child(trues.get(p))
            },
            no: if mode == NodeMode::Leaf {
                0
            } else {
                child(falses.get(p))
            },
            missing_yes: missing.get(p).copied().unwrap_or(0) != 0,
            start,
            len,
        });
    }
    Ok(out)
}

/// The part of the graph that computes `output`, in graph order.
fn slice<'g>(graph: &'g GraphProto, output: &str) -> Vec<&'g NodeProto> {
    let producer: HashMap<&str, usize> = graph
        .node
        .iter()
        .enumerate()
        .flat_map(|(i, n)| n.output.iter().map(move |o| (o.as_str(), i)))
        .collect();
    let mut need: HashSet<usize> = HashSet::new();
    let mut stack = vec![output];
    while let Some(name) = stack.pop() {
        if let Some(&i) = producer.get(name) {
            if need.insert(i) {
                if let Some(n) = graph.node.get(i) {
                    stack.extend(n.input.iter().map(String::as_str));
                }
            }
        }
    }
    graph
        .node
        .iter()
        .enumerate()
        .filter(|(i, _)| need.contains(i))
        .map(|(_, n)| n)
        .collect()
}

/// Compiles the graph's `output` (the manifest's, or the only one) for an input of `width`
/// columns; `element` selects the score inside the output (the class index).
pub fn import(
    proto: &pb::ModelProto,
    width: usize,
    input_name: Option<&str>,
    output_name: Option<&str>,
    class_index: Option<usize>,
) -> Result<Program, ImportError> {
    let graph = proto
        .graph
        .as_ref()
        .ok_or_else(|| ImportError::Invalid("the file has no graph".into()))?;
    let inits: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs: Vec<&pb::ValueInfoProto> = graph
        .input
        .iter()
        .filter(|i| !inits.contains(i.name.as_str()))
        .collect();
    let [input] = inputs.as_slice() else {
        return Err(ImportError::Inputs(format!(
            "the graph has {} inputs ({}); edgewise feeds exactly one f32 [1, {width}] feature vector",
            inputs.len(),
            inputs.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", ")
        )));
    };
    if let Some(want) = input_name {
        if want != input.name {
            return Err(ImportError::Inputs(format!(
                "the manifest names input {want:?} but the graph's input is {:?}",
                input.name
            )));
        }
    }
    if let Some(pb::type_proto::Value::TensorType(t)) =
        input.r#type.as_ref().and_then(|t| t.value.as_ref())
    {
        if !matches!(t.elem_type, 0 | 1) {
            return Err(ImportError::Inputs(format!(
                "the input has element type {}; edgewise feeds f32 (export the model with FloatTensorType)",
                t.elem_type
            )));
        }
        if let Some(shape) = &t.shape {
            if shape.dim.len() != 2 {
                return Err(ImportError::Inputs(format!(
                    "the input has rank {}; edgewise feeds a [batch, features] matrix",
                    shape.dim.len()
                )));
            }
            if let Some(pb::tensor_shape_proto::dimension::Value::DimValue(d)) =
                shape.dim.get(1).and_then(|d| d.value.as_ref())
            {
                if *d != width as i64 {
                    return Err(ImportError::Width {
                        declared: (*d).max(0) as usize,
                    });
                }
            }
        }
    }
    let outs: Vec<&str> = graph.output.iter().map(|o| o.name.as_str()).collect();
    let chosen = match output_name {
        Some(want) => *outs.iter().find(|&&o| o == want).ok_or_else(|| {
            ImportError::Outputs(format!(
                "the manifest names output {want:?}; the graph's outputs are {}",
                outs.join(", ")
            ))
        })?,
        None => match outs.as_slice() {
            [one] => *one,
            _ => {
                return Err(ImportError::Outputs(format!(
                    "the graph has outputs {}; name the probability or logit one in the manifest's `output`",
                    outs.join(", ")
                )))
            }
        },
    };
    // A trailing ZipMap: read its input tensor; the columns are the classes in label order.
    let mut target = chosen.to_owned();
    if let Some(z) = graph
        .node
        .iter()
        .find(|n| n.op_type == "ZipMap" && n.output.contains(&target))
    {
        target = z.input.first().cloned().unwrap_or_default();
    }
    let mut imp = Importer {
        graph,
        program: Program {
            width,
            steps: Vec::new(),
            output: 0,
            element: 0,
        },
        shapes: vec![vec![1, width]],
        vals: HashMap::new(),
    };
    imp.vals.insert(input.name.clone(), Val::Id(0));
    for t in &imp.graph.initializer {
        imp.vals
            .insert(t.name.clone(), Val::Tensor(Box::new(t.clone())));
    }
    for node in slice(graph, &target) {
        imp.node(node)?;
    }
    let out_id = match imp.vals.get(&target) {
        Some(Val::Id(i)) => *i,
        _ => {
            return Err(ImportError::Outputs(format!(
                "output {target:?} is a constant or is not computed"
            )))
        }
    };
    let shape = imp.shape(out_id);
    let volume: usize = shape.iter().product();
    let element = match (volume, class_index) {
        (1, None) | (1, Some(0)) => 0,
        (1, Some(i)) => {
            return Err(ImportError::Outputs(format!(
                "class_index is {i} but the output holds a single value; remove class_index"
            )))
        }
        (k, Some(i)) if i < k && shape.first() == Some(&1) => i,
        (k, ci) => {
            return Err(ImportError::Outputs(format!(
                "the output has shape {shape:?} ({k} values); set class_index to the positive-class column (got {ci:?})"
            )))
        }
    };
    imp.program.output = out_id;
    imp.program.element = element;
    imp.program.shapes().map_err(ImportError::Invalid)?;
    Ok(imp.program)
}
