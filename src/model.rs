//! [`PropensityModel`]: an ONNX model plus its manifest, prepared once with tract
//! (load → check inputs/outputs → fix the input shape → optimize → plan) and run per decision
//! with a reused `SimpleState`.
//!
//! Supported models are what small propensity models look like in practice: one `f32` input of
//! shape `[N, width]` (or `[1, width]`), one chosen output holding a probability or a logit —
//! plain `MatMul/Gemm/Add/Sigmoid` graphs, small MLPs, and scikit-learn exports through skl2onnx
//! (`LinearClassifier`, `TreeEnsembleClassifier`; export with `zipmap=False`, since tract does not
//! implement `ZipMap`).

use serde::{Deserialize, Serialize};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::SimpleState;
use tract_onnx::tract_hir::infer::Factoid;

use crate::error::ModelError;
use crate::features::FeatureSpec;

/// Largest accepted ONNX file. Propensity models are kilobytes; this only stops accidents.
pub const MAX_MODEL_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// The output already is a probability in [0, 1].
    Probability,
    /// The output is a logit; the runtime applies the logistic function.
    Logit,
}

/// The JSON manifest shipped beside each `.onnx` file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelManifest {
    /// Model name, e.g. `purchase-lr`.
    pub name: String,
    pub version: String,
    /// Name of the score this model reports, e.g. `purchase`.
    pub score: String,
    pub output_kind: OutputKind,
    /// ONNX output to read; required when the graph has more than one output.
    #[serde(default)]
    pub output: Option<String>,
    /// Column of an `[N, k]` output with `k > 1` (1 = positive class of a binary sklearn
    /// classifier); must be absent/null for single-value outputs.
    #[serde(default)]
    pub class_index: Option<usize>,
    /// ONNX input name; checked when given.
    #[serde(default)]
    pub input: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub features: FeatureSpec,
    /// Provenance written by the training pipeline (free-form).
    #[serde(default)]
    pub training: Option<serde_json::Value>,
    /// Held-out metrics written by the training pipeline (free-form).
    #[serde(default)]
    pub metrics: Option<serde_json::Value>,
}

impl ModelManifest {
    pub fn from_json(json: &str) -> Result<ModelManifest, ModelError> {
        let m: ModelManifest = serde_json::from_str(json).map_err(|e| ModelError::Manifest {
            message: e.to_string(),
        })?;
        m.validate()?;
        Ok(m)
    }

    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |message: String| Err(ModelError::Manifest { message });
        if self.name.is_empty() || self.name.len() > 128 {
            return bad(format!("name {:?} must be 1..=128 bytes", self.name));
        }
        if !valid_ident(&self.score) {
            return bad(format!(
                "score {:?} must be an identifier (letters, digits, _; not starting with a digit) so rules can use it",
                self.score
            ));
        }
        self.features.validate()?;
        Ok(())
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`, at most 64 bytes.
pub fn valid_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 64
}

/// Checks and normalizes the decoded protobuf before tract builds a model from it.
///
/// * tract 0.23 indexes its name table with graph-output and subgraph-closure names without
///   checking them, which panics (and kills a wasm instance) on a damaged file: every graph
///   output must be produced by an input, an initializer or a node, and control-flow subgraphs
///   (If/Loop/Scan — never needed by a propensity model) are refused.
/// * skl2onnx writes a binary `TreeEnsembleClassifier` (e.g. GradientBoostingClassifier) with
///   two class labels, all leaf weights on class 0 and a single `base_values` entry; tract 0.23
///   expects one base value per class label and refuses it. Under SUM aggregation every input
///   reaches exactly one leaf of each tree, so adding the base value to the weights of the first
///   tree's leaves and dropping `base_values` computes the same score; the model tests check
///   the result against onnxruntime running the unmodified file.
fn sanitize(proto: &mut tract_onnx::pb::ModelProto) -> Result<(), String> {
    let graph = proto.graph.as_mut().ok_or("the file has no graph")?;
    let mut produced: std::collections::HashSet<&str> = std::collections::HashSet::new();
    produced.extend(graph.input.iter().map(|i| i.name.as_str()));
    produced.extend(graph.initializer.iter().map(|t| t.name.as_str()));
    for node in &graph.node {
        if node
            .attribute
            .iter()
            .any(|a| a.g.is_some() || !a.graphs.is_empty())
        {
            return Err(format!(
                "node {:?} ({}) has a subgraph; control flow (If/Loop/Scan) is not supported in propensity models",
                node.name, node.op_type
            ));
        }
        produced.extend(node.output.iter().map(String::as_str));
    }
    if graph.output.is_empty() {
        return Err("the graph has no outputs".into());
    }
    if let Some(o) = graph
        .output
        .iter()
        .find(|o| !produced.contains(o.name.as_str()))
    {
        return Err(format!(
            "graph output {:?} is not produced by any node",
            o.name
        ));
    }
    for node in graph
        .node
        .iter_mut()
        .filter(|n| n.op_type == "TreeEnsembleClassifier")
    {
        let attr = |name: &str| node.attribute.iter().position(|a| a.name == name);
        let labels = attr("classlabels_int64s")
            .or_else(|| attr("classlabels_strings"))
            .and_then(|i| node.attribute.get(i))
            .map(|a| a.ints.len().max(a.strings.len()));
        let (Some(bv), Some(ids), Some(trees), Some(weights)) = (
            attr("base_values"),
            attr("class_ids"),
            attr("class_treeids"),
            attr("class_weights"),
        ) else {
            continue;
        };
        let base = match node.attribute.get(bv).map(|a| a.floats.as_slice()) {
            Some([b]) => *b,
            _ => continue,
        };
        let all_class0 = node
            .attribute
            .get(ids)
            .is_some_and(|a| a.ints.iter().all(|&c| c == 0));
        if labels != Some(2) || !all_class0 {
            continue;
        }
        let first_tree = node
            .attribute
            .get(trees)
            .and_then(|a| a.ints.iter().min().copied());
        let tree_ids = node
            .attribute
            .get(trees)
            .map(|a| a.ints.clone())
            .unwrap_or_default();
        if let (Some(first), Some(w)) = (first_tree, node.attribute.get_mut(weights)) {
            if w.floats.len() != tree_ids.len() {
                return Err(
                    "TreeEnsembleClassifier: class_weights and class_treeids differ in length"
                        .into(),
                );
            }
            for (x, t) in w.floats.iter_mut().zip(&tree_ids) {
                if *t == first {
                    *x += base;
                }
            }
            node.attribute.remove(bv);
        }
    }
    Ok(())
}

/// A loaded, optimized, ready-to-run model.
pub struct PropensityModel {
    manifest: ModelManifest,
    width: usize,
    class_index: usize,
    state: TypedSimpleState,
    onnx_len: usize,
}

impl std::fmt::Debug for PropensityModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PropensityModel")
            .field("name", &self.manifest.name)
            .field("score", &self.manifest.score)
            .field("width", &self.width)
            .finish()
    }
}

fn tract_msg(e: &TractError) -> String {
    // The full chain ("while ..., caused by ...") is what says what to fix.
    let s = format!("{e:#}");
    crate::event::truncate(&s, 600)
}

impl PropensityModel {
    /// Loads a model from its manifest JSON and ONNX bytes.
    pub fn load(manifest_json: &str, onnx: &[u8]) -> Result<PropensityModel, ModelError> {
        Self::from_manifest(ModelManifest::from_json(manifest_json)?, onnx)
    }

    pub fn from_manifest(
        manifest: ModelManifest,
        onnx: &[u8],
    ) -> Result<PropensityModel, ModelError> {
        manifest.validate()?;
        let name = manifest.name.clone();
        if onnx.len() > MAX_MODEL_BYTES {
            return Err(ModelError::TooLarge {
                len: onnx.len(),
                max: MAX_MODEL_BYTES,
            });
        }
        if onnx.is_empty() {
            return Err(ModelError::Parse {
                model: name,
                message: "empty input".into(),
            });
        }
        let width = manifest.features.width();
        let onnx_fw = tract_onnx::onnx();
        let mut reader = onnx;
        let parse_err = |e: TractError| ModelError::Parse {
            model: name.clone(),
            message: tract_msg(&e),
        };
        let mut proto = onnx_fw
            .proto_model_for_read(&mut reader)
            .map_err(parse_err)?;
        sanitize(&mut proto).map_err(|message| ModelError::Parse {
            model: name.clone(),
            message,
        })?;
        let mut model = onnx_fw.model_for_proto_model(&proto).map_err(parse_err)?;

        // Inputs: exactly one, f32, rank 2, width matching the spec when declared.
        let inputs_err = |message: String| ModelError::Inputs {
            model: name.clone(),
            message,
        };
        let in_outlets = model
            .input_outlets()
            .map_err(|e| inputs_err(tract_msg(&e)))?
            .to_vec();
        let in_names: Vec<String> = in_outlets
            .iter()
            .map(|o| model.node(o.node).name.clone())
            .collect();
        if in_outlets.len() != 1 {
            return Err(inputs_err(format!(
                "the graph has {} inputs ({}); edgewise feeds exactly one f32 [1, {width}] feature vector",
                in_outlets.len(),
                in_names.join(", ")
            )));
        }
        if let (Some(want), Some(have)) = (&manifest.input, in_names.first()) {
            if want != have {
                return Err(inputs_err(format!(
                    "the manifest names input {want:?} but the graph's input is {have:?}"
                )));
            }
        }
        {
            let fact = model.input_fact(0).map_err(|e| inputs_err(tract_msg(&e)))?;
            if let Some(dt) = fact.datum_type.concretize() {
                if dt != f32::datum_type() {
                    return Err(inputs_err(format!(
                        "the input is {dt:?}; edgewise feeds f32 (export the model with FloatTensorType)"
                    )));
                }
            }
            if let Some(rank) = fact.shape.rank().concretize() {
                if rank != 2 {
                    return Err(inputs_err(format!(
                        "the input has rank {rank}; edgewise feeds a [batch, features] matrix"
                    )));
                }
            }
            let last = fact.shape.dims().last().and_then(|d| d.concretize());
            if let Some(declared) = last.and_then(|d| d.to_i64().ok()) {
                if declared != width as i64 {
                    return Err(ModelError::WidthMismatch {
                        model: name,
                        declared: declared.max(0) as usize,
                        spec: width,
                    });
                }
            }
        }

        // Outputs: the named one, or the only one.
        let outputs_err = |message: String| ModelError::Outputs {
            model: name.clone(),
            message,
        };
        let out_outlets = model
            .output_outlets()
            .map_err(|e| outputs_err(tract_msg(&e)))?
            .to_vec();
        let out_names: Vec<String> = out_outlets
            .iter()
            .map(|o| {
                model
                    .outlet_label(*o)
                    .map(str::to_owned)
                    .unwrap_or_else(|| model.node(o.node).name.clone())
            })
            .collect();
        let chosen = match &manifest.output {
            Some(want) => out_names.iter().position(|n| n == want).ok_or_else(|| {
                outputs_err(format!(
                    "the manifest names output {want:?}; the graph's outputs are {}",
                    out_names.join(", ")
                ))
            })?,
            None if out_outlets.len() == 1 => 0,
            None => {
                return Err(outputs_err(format!(
                    "the graph has outputs {}; name the probability or logit one in the manifest's `output`",
                    out_names.join(", ")
                )))
            }
        };
        let outlet = *out_outlets
            .get(chosen)
            .ok_or_else(|| outputs_err("no output to read".into()))?;
        model
            .select_output_outlets(&[outlet])
            .map_err(|e| outputs_err(tract_msg(&e)))?;

        let incompatible = |e: TractError| ModelError::Incompatible {
            model: name.clone(),
            message: tract_msg(&e),
        };
        let model = model
            .with_input_fact(0, f32::fact([1, width]).into())
            .map_err(incompatible)?;
        let typed = model.into_optimized().map_err(incompatible)?;

        let out_fact = typed.output_fact(0).map_err(incompatible)?;
        if out_fact.datum_type != f32::datum_type() && out_fact.datum_type != f64::datum_type() {
            return Err(outputs_err(format!(
                "output {:?} is {:?}; it must hold float probabilities or logits (for sklearn exports read `probabilities`, not `label`)",
                out_names.get(chosen).map(String::as_str).unwrap_or(""),
                out_fact.datum_type
            )));
        }
        let shape: Vec<usize> = match out_fact.shape.as_concrete() {
            Some(s) => s.to_vec(),
            None => {
                return Err(outputs_err(
                    "the output shape is not fixed for a batch of 1".into(),
                ))
            }
        };
        let volume: usize = shape.iter().product();
        let class_index = match (volume, manifest.class_index) {
            (1, None) | (1, Some(0)) => 0,
            (1, Some(i)) => {
                return Err(outputs_err(format!(
                    "class_index is {i} but the output holds a single value; remove class_index"
                )))
            }
            (k, Some(i)) if i < k && shape.first() == Some(&1) => i,
            (k, ci) => {
                return Err(outputs_err(format!(
                    "the output has shape {shape:?} ({k} values); set class_index to the positive-class column (got {ci:?})"
                )))
            }
        };

        let plan = typed.into_runnable().map_err(incompatible)?;
        let state = SimpleState::new(&plan).map_err(incompatible)?;
        let mut m = PropensityModel {
            manifest,
            width,
            class_index,
            state,
            onnx_len: onnx.len(),
        };
        // Fail at load, not at the first decision: run once on zeros and check the output.
        m.predict(&vec![0.0; width])?;
        Ok(m)
    }

    pub fn manifest(&self) -> &ModelManifest {
        &self.manifest
    }
    pub fn name(&self) -> &str {
        &self.manifest.name
    }
    pub fn score_name(&self) -> &str {
        &self.manifest.score
    }
    pub fn spec(&self) -> &FeatureSpec {
        &self.manifest.features
    }
    pub fn width(&self) -> usize {
        self.width
    }
    pub fn onnx_len(&self) -> usize {
        self.onnx_len
    }

    /// Runs the model on one feature vector and returns the probability.
    pub fn predict(&mut self, features: &[f32]) -> Result<f32, ModelError> {
        let name = || self.manifest.name.clone();
        if features.len() != self.width {
            return Err(ModelError::Inference {
                model: name(),
                message: format!(
                    "got {} features, the model takes {}",
                    features.len(),
                    self.width
                ),
            });
        }
        let input =
            Tensor::from_shape(&[1, self.width], features).map_err(|e| ModelError::Inference {
                model: name(),
                message: tract_msg(&e),
            })?;
        let outputs = self
            .state
            .run(tvec!(input.into()))
            .map_err(|e| ModelError::Inference {
                model: name(),
                message: tract_msg(&e),
            })?;
        let out = outputs.first().ok_or_else(|| ModelError::Inference {
            model: name(),
            message: "no output".into(),
        })?;
        let raw = if out.datum_type() == f64::datum_type() {
            out.try_as_plain_ram()
                .and_then(|v| v.as_slice::<f64>())
                .ok()
                .and_then(|s| s.get(self.class_index))
                .map(|&x| x as f32)
        } else {
            out.try_as_plain_ram()
                .and_then(|v| v.as_slice::<f32>())
                .ok()
                .and_then(|s| s.get(self.class_index))
                .copied()
        }
        .ok_or_else(|| ModelError::Inference {
            model: name(),
            message: format!("output has no value at index {}", self.class_index),
        })?;
        let p = match self.manifest.output_kind {
            OutputKind::Logit if raw.is_finite() => 1.0 / (1.0 + (-raw).exp()),
            OutputKind::Probability if raw.is_finite() && (-1e-5..=1.0 + 1e-5).contains(&raw) => {
                raw.clamp(0.0, 1.0)
            }
            _ => {
                return Err(ModelError::BadOutput {
                    model: name(),
                    value: raw,
                })
            }
        };
        Ok(p)
    }
}
