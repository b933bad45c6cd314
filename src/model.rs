//! [`PropensityModel`]: a model plus its manifest, prepared once and run per decision.
//!
//! Load → check → compile → run. The ONNX bytes are decoded (full build), checked (one `f32`
//! `[N, width]` input matching the feature spec, the chosen output, no control flow), and the
//! part of the graph that computes the score is compiled into a [`Program`] evaluated in plain
//! Rust (`src/program.rs`, `src/onnx_import.rs`): linear models, MLPs, tree ensembles,
//! skl2onnx classifier heads with or without `ZipMap`, `Scaler`, `OneHotEncoder`. A graph with an
//! operator the compiler does not know falls back to tract (load → fix the input shape →
//! optimize → plan, with one reused `SimpleState`); one neither can run fails here, at load,
//! with an error naming the operator — never at decision time.
//!
//! The lite build (no `onnx` feature) has no ONNX decoder and no tract: it loads models
//! compiled ahead of time (`edgewise compile-model`, [`CompiledModel`]) and runs the same
//! [`Program`], so both builds give identical scores.

use serde::{Deserialize, Serialize};
#[cfg(feature = "tract")]
use tract_onnx::prelude::*;
#[cfg(feature = "tract")]
use tract_onnx::tract_core::internal::SimpleState;
#[cfg(feature = "tract")]
use tract_onnx::tract_hir::infer::Factoid;

use crate::error::ModelError;
use crate::features::FeatureSpec;
use crate::program::{Program, Runner};

/// `format` of a compiled model file.
pub const COMPILED_FORMAT: &str = "edgewise-compiled-model";
/// Current compiled-model version.
pub const COMPILED_VERSION: u32 = 1;

/// A model compiled ahead of time (`edgewise compile-model`): its manifest and its program,
/// as JSON. What the lite build loads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompiledModel {
    pub format: String,
    pub version: u32,
    pub manifest: ModelManifest,
    pub program: Program,
}

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
    /// When the model was trained (ISO 8601 date), written by the training pipeline.
    #[serde(default)]
    pub created: Option<String>,
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
            message: crate::error::json_error(&e),
        })?;
        m.validate()?;
        Ok(m)
    }

    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |message: String| Err(ModelError::Manifest { message });
        if self.name.is_empty() || self.name.len() > 128 {
            return bad(format!(
                "name {:?} must be 1..=128 bytes",
                crate::event::truncate(&self.name, 160)
            ));
        }
        if !valid_ident(&self.score) {
            return bad(format!(
                "score {:?} must be an identifier (letters, digits, _; not starting with a digit) so rules can use it",
                crate::event::truncate(&self.score, 80)
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
#[cfg(feature = "onnx")]
fn sanitize(proto: &mut crate::onnx_pb::ModelProto) -> Result<(), String> {
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
    Ok(())
}

/// What only tract needs: a `ZipMap` that makes a graph output becomes an `Identity` (tract has
/// no `ZipMap`; the compiler cuts it the same way), and the binary tree-ensemble base value is
/// folded into the first tree (see [`sanitize`]).
#[cfg(feature = "tract")]
fn prepare_for_tract(proto: &mut tract_onnx::pb::ModelProto) -> Result<(), String> {
    let graph = proto.graph.as_mut().ok_or("the file has no graph")?;
    let outputs: Vec<String> = graph.output.iter().map(|o| o.name.clone()).collect();
    for node in graph.node.iter_mut().filter(|n| n.op_type == "ZipMap") {
        if node.output.iter().any(|o| outputs.contains(o)) {
            node.op_type = "Identity".into();
            node.domain = String::new();
            node.attribute.clear();
            for o in graph
                .output
                .iter_mut()
                .filter(|o| node.output.contains(&o.name))
            {
                o.r#type = None;
            }
        }
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
enum Backend {
    Compiled(Runner),
    #[cfg(feature = "tract")]
    Tract {
        state: Box<TypedSimpleState>,
        class_index: usize,
    },
}

/// A loaded, checked, ready-to-run model.
pub struct PropensityModel {
    /// Shared by `try_clone` copies: read-only.
    manifest: std::sync::Arc<ModelManifest>,
    width: usize,
    backend: Backend,
    source_len: usize,
}

impl PropensityModel {
    /// A copy that runs independently (its own buffers), for engines that share models loaded
    /// once — an edge isolate serving many visitors. Compiled models copy their program, which
    /// costs far less than decoding and compiling them again; models on tract are not shared
    /// (`None`: load them per engine).
    pub fn try_clone(&self) -> Option<PropensityModel> {
        match &self.backend {
            Backend::Compiled(r) => Some(PropensityModel {
                manifest: self.manifest.clone(),
                width: self.width,
                backend: Backend::Compiled(r.clone()),
                source_len: self.source_len,
            }),
            #[cfg(feature = "tract")]
            Backend::Tract { .. } => None,
        }
    }
}

impl std::fmt::Debug for PropensityModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PropensityModel")
            .field("name", &self.manifest.name)
            .field("score", &self.manifest.score)
            .field("width", &self.width)
            .field("runtime", &self.runtime())
            .finish()
    }
}

#[cfg(feature = "tract")]
fn tract_msg(e: &TractError) -> String {
    // The full chain ("while ..., caused by ...") is what says what to fix.
    let s = format!("{e:#}");
    crate::event::truncate(&s, 600)
}

/// Which engine runs an ONNX model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefer {
    /// The compiler when it knows every operator, else tract (the default).
    Compiled,
    /// tract even when the compiler could (for comparisons and benchmarks).
    Tract,
    /// The compiler only: what `edgewise compile-model` and the lite build can run.
    CompiledOnly,
}

impl PropensityModel {
    /// Loads a model from its manifest JSON and ONNX bytes (full build).
    pub fn load(manifest_json: &str, onnx: &[u8]) -> Result<PropensityModel, ModelError> {
        Self::from_manifest(ModelManifest::from_json(manifest_json)?, onnx)
    }

    pub fn from_manifest(
        manifest: ModelManifest,
        onnx: &[u8],
    ) -> Result<PropensityModel, ModelError> {
        Self::from_manifest_with(manifest, onnx, Prefer::Compiled)
    }

    /// Loads a compiled model (`edgewise compile-model` output); works in both builds.
    pub fn load_compiled(bytes: &[u8]) -> Result<PropensityModel, ModelError> {
        if bytes.len() > MAX_MODEL_BYTES {
            return Err(ModelError::TooLarge {
                len: bytes.len(),
                max: MAX_MODEL_BYTES,
            });
        }
        let format_err = |message: String| ModelError::Format {
            model: "(compiled)".into(),
            message,
        };
        let c: CompiledModel = serde_json::from_slice(bytes).map_err(|e| {
            format_err(format!(
                "not a compiled edgewise model ({}); make one with `edgewise compile-model`",
                crate::error::json_error(&e)
            ))
        })?;
        if c.format != COMPILED_FORMAT {
            return Err(format_err(format!(
                "format is {:?}, expected {COMPILED_FORMAT:?}",
                c.format
            )));
        }
        if c.version != COMPILED_VERSION {
            return Err(format_err(format!(
                "compiled-model version {} is not supported; this runtime reads version {COMPILED_VERSION} (recompile it)",
                c.version
            )));
        }
        Self::from_program(c.manifest, c.program, bytes.len())
    }

    /// A model from a manifest and an already compiled program.
    pub fn from_program(
        manifest: ModelManifest,
        program: Program,
        source_len: usize,
    ) -> Result<PropensityModel, ModelError> {
        manifest.validate()?;
        let width = manifest.features.width();
        if program.width != width {
            return Err(ModelError::WidthMismatch {
                model: manifest.name.clone(),
                declared: program.width,
                spec: width,
            });
        }
        let runner = program
            .into_runner()
            .map_err(|message| ModelError::Format {
                model: manifest.name.clone(),
                message: format!("the compiled program is invalid: {message}"),
            })?;
        let mut m = PropensityModel {
            manifest: manifest.into(),
            width,
            backend: Backend::Compiled(runner),
            source_len,
        };
        m.predict(&vec![0.0; width])?;
        Ok(m)
    }

    /// The compiled form of this model, when the compiler handled it (not for tract models).
    pub fn compiled(&self) -> Option<CompiledModel> {
        match &self.backend {
            Backend::Compiled(r) => Some(CompiledModel {
                format: COMPILED_FORMAT.into(),
                version: COMPILED_VERSION,
                manifest: (*self.manifest).clone(),
                program: r.program().clone(),
            }),
            #[cfg(feature = "tract")]
            Backend::Tract { .. } => None,
        }
    }

    /// `"compiled"` or `"tract"`: what runs this model.
    pub fn runtime(&self) -> &'static str {
        match &self.backend {
            Backend::Compiled(_) => "compiled",
            #[cfg(feature = "tract")]
            Backend::Tract { .. } => "tract",
        }
    }

    #[cfg(not(feature = "onnx"))]
    pub fn from_manifest_with(
        manifest: ModelManifest,
        _onnx: &[u8],
        _prefer: Prefer,
    ) -> Result<PropensityModel, ModelError> {
        Err(ModelError::Format {
            model: manifest.name,
            message: "this is the lite build, which runs compiled models only: convert the .onnx with `edgewise compile-model` and pass {compiled} instead of {manifest, onnx}".into(),
        })
    }

    /// Loads ONNX bytes, choosing the engine by `prefer`.
    #[cfg(feature = "onnx")]
    pub fn from_manifest_with(
        manifest: ModelManifest,
        onnx: &[u8],
        prefer: Prefer,
    ) -> Result<PropensityModel, ModelError> {
        use crate::onnx_import::{import, ImportError};
        manifest.validate()?;
        let name = manifest.name.clone();
        let parse_err = |message: String| ModelError::Parse {
            model: name.clone(),
            message,
        };
        let decode_err =
            |e: prost::DecodeError| parse_err(crate::event::truncate(&e.to_string(), 600));
        if onnx.len() > MAX_MODEL_BYTES {
            return Err(ModelError::TooLarge {
                len: onnx.len(),
                max: MAX_MODEL_BYTES,
            });
        }
        if onnx.is_empty() {
            return Err(parse_err("empty input".into()));
        }
        let width = manifest.features.width();
        let mut proto =
            <crate::onnx_pb::ModelProto as prost::Message>::decode(onnx).map_err(decode_err)?;
        sanitize(&mut proto).map_err(parse_err)?;
        let mut unsupported = None;
        if prefer != Prefer::Tract {
            match import(
                &proto,
                width,
                manifest.input.as_deref(),
                manifest.output.as_deref(),
                manifest.class_index,
            ) {
                Ok(program) => return Self::from_program(manifest, program, onnx.len()),
                Err(ImportError::Inputs(message)) => {
                    return Err(ModelError::Inputs {
                        model: name,
                        message,
                    })
                }
                Err(ImportError::Width { declared }) => {
                    return Err(ModelError::WidthMismatch {
                        model: name,
                        declared,
                        spec: width,
                    })
                }
                Err(ImportError::Outputs(message)) => {
                    return Err(ModelError::Outputs {
                        model: name,
                        message,
                    })
                }
                Err(ImportError::Invalid(message)) => return Err(parse_err(message)),
                Err(ImportError::Unsupported { op, node, why })
                    if prefer == Prefer::CompiledOnly =>
                {
                    return Err(ModelError::UnsupportedOperator {
                        model: name,
                        op,
                        node,
                        message: format!("the edgewise compiler does not support it ({why})"),
                    });
                }
                Err(ImportError::Unsupported { op, node, why }) => {
                    unsupported = Some((op, node, why));
                }
            }
        }
        #[cfg(not(feature = "tract"))]
        {
            let _ = &mut proto;
            let (op, node, why) = unsupported.unwrap_or_else(|| {
                (
                    "?".into(),
                    String::new(),
                    "the tract engine is not part of this build".into(),
                )
            });
            Err(ModelError::UnsupportedOperator {
                model: name,
                op,
                node,
                message: format!(
                    "the edgewise compiler does not support it ({why}), and this build has no tract fallback (use the native runtime or the `tract` wasm variant)"
                ),
            })
        }
        #[cfg(feature = "tract")]
        {
            // tract reads its own protobuf types; same bytes, already checked by `sanitize`.
            let mut proto =
                <tract_onnx::pb::ModelProto as prost::Message>::decode(onnx).map_err(decode_err)?;
            prepare_for_tract(&mut proto).map_err(parse_err)?;
            match Self::tract_backend(&manifest, &proto, width) {
            Ok((state, class_index)) => {
                let mut m = PropensityModel {
                    manifest: manifest.into(),
                    width,
                    backend: Backend::Tract {
                        state: Box::new(state),
                        class_index,
                    },
                    source_len: onnx.len(),
                };
                // Fail at load, not at the first decision: run once on zeros and check.
                m.predict(&vec![0.0; width])?;
                Ok(m)
            }
            Err(e) => match (unsupported, e) {
                (
                    Some((op, node, why)),
                    ModelError::Incompatible { message, .. } | ModelError::Parse { message, .. },
                ) => Err(ModelError::UnsupportedOperator {
                    model: name,
                    op,
                    node,
                    message: format!(
                        "the edgewise compiler does not support it ({why}) and tract failed too ({message})"
                    ),
                }),
                (_, e) => Err(e),
            },
        }
        }
    }

    #[cfg(feature = "tract")]
    fn tract_backend(
        manifest: &ModelManifest,
        proto: &tract_onnx::pb::ModelProto,
        width: usize,
    ) -> Result<(TypedSimpleState, usize), ModelError> {
        let name = manifest.name.clone();
        let onnx_fw = tract_onnx::onnx();
        let parse_err = |e: TractError| ModelError::Parse {
            model: name.clone(),
            message: tract_msg(&e),
        };
        let mut model = onnx_fw.model_for_proto_model(proto).map_err(parse_err)?;

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
        Ok((state, class_index))
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
    /// Size of the file it was loaded from (ONNX or compiled).
    pub fn source_len(&self) -> usize {
        self.source_len
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
        let raw = match &mut self.backend {
            Backend::Compiled(r) => r.run(features).map_err(|message| ModelError::Inference {
                model: self.manifest.name.clone(),
                message,
            })?,
            #[cfg(feature = "tract")]
            Backend::Tract { state, class_index } => Self::run_tract(
                state,
                *class_index,
                self.width,
                features,
                &self.manifest.name,
            )?,
        };
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

    #[cfg(feature = "tract")]
    fn run_tract(
        state: &mut TypedSimpleState,
        class_index: usize,
        width: usize,
        features: &[f32],
        model: &str,
    ) -> Result<f32, ModelError> {
        let name = || model.to_owned();
        let input =
            Tensor::from_shape(&[1, width], features).map_err(|e| ModelError::Inference {
                model: name(),
                message: tract_msg(&e),
            })?;
        let outputs = state
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
                .and_then(|s| s.get(class_index))
                .map(|&x| x as f32)
        } else {
            out.try_as_plain_ram()
                .and_then(|v| v.as_slice::<f32>())
                .ok()
                .and_then(|s| s.get(class_index))
                .copied()
        }
        .ok_or_else(|| ModelError::Inference {
            model: name(),
            message: format!("output has no value at index {}", class_index),
        })?;
        Ok(raw)
    }
}
