//! `edgewise`: the native command line. The library stays free of I/O; files, stdout and exit
//! codes live here.
//!
//! ```text
//! edgewise simulate [--sessions N] [--seed S] [--out FILE] [--policy NAME …]
//! edgewise compile-model IN.onnx [--manifest IN.json] -o OUT.ewm.json
//! edgewise inspect-model FILE.onnx [--manifest FILE.json]
//! edgewise predict --model FILE.onnx --input ROWS.csv
//! edgewise score --data SESSIONS.jsonl --config CONFIG.json --models A.onnx,B.ewm.json [--at decision|end]
//! edgewise bakeoff --data FILE.csv --policy NAME [--seed N] [--min-probability P]
//! edgewise eval-log --log FILE.csv --items ITEM_CONTEXT.csv --policy NAME [--seed N]
//! edgewise help
//! ```
//! Exit codes: 0 ok, 1 the work failed (bad file, bad model), 2 bad usage.

// No panics by construction, as in the library (src/lib.rs): a bad file or argument is an error
// message and an exit code.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use edgewise::model::{ModelManifest, OutputKind, Prefer};
use edgewise::sim::Simulator;
use edgewise::{FeatureSpec, PropensityModel};

const USAGE: &str = "usage:
  edgewise simulate [--sessions N] [--seed S] [--out FILE]
      simulated storefront sessions as JSONL (one session per line; default 10000 sessions,
      seed 1, stdout); a summary goes to stderr
  edgewise simulate --policy NAME [--sessions N] [--seed S] [--tags a,b,...] [--spec FILE]
                    [--observe features|intent]
      the policy choosing one tag per visitor on the simulator: reward and regret against
      the intent-aware oracle and against a uniform A/B split (one JSON object); with
      --observe intent the policy sees the latent intent instead of the features (diagnostic)
  edgewise consent decode STRING
      an IAB TCF v2.2 TC string as JSON (camelCase fields, sorted id arrays, unix seconds);
      exit 1 with the reason for an invalid string
  edgewise compile-model IN.onnx [--manifest IN.json] -o OUT.ewm.json
      compile a model for the lite build (manifest default: IN.json beside IN.onnx)
  edgewise inspect-model FILE.onnx [--manifest FILE.json]
      inputs, outputs, operators, and whether the compiler / tract / the manifest accept it
  edgewise predict --model FILE.onnx --input ROWS.csv [--output NAME] [--class-index K]
      runs the model on each row of a header-less numeric CSV; prints the row number and the
      positive-class probability (class 1 of two-class outputs, tensor or ZipMap)
  edgewise score --data SESSIONS.jsonl --config CONFIG.json --models A.onnx,B.ewm.json
                 [--at decision|end] [--out FILE]
      replays each simulated session through an Engine (as the wasm build's scores() does)
      and prints one JSON line per session: {id, at, now, scores: {name: p}}
  edgewise bakeoff --data FILE.csv --policy NAME [--seed N] [--min-probability P]
      the supervised-to-bandit protocol (Bietti, Agarwal & Langford, JMLR 2021) on a CSV with
      header f0,...,f{d-1},label; policies: uniform, epsilon, thompson, linucb, lints, squarecb,
      best; prints {n, progressive_reward, seconds, rows_per_s, ...}
  edgewise eval-log --log FILE.csv --items ITEM_CONTEXT.csv --policy NAME [--seed N]
                    [--bootstrap B] [--min-probability P]
      off-policy evaluation on Open Bandit Dataset logs: the policy learns progressively from
      the log and is scored by IPS and self-normalized IPS with a 95% bootstrap interval (B
      resamples, default 1000); prints {n, logged_ctr, ips, snips, ci95, ...}
  edgewise help";

/// A failure with the exit code it maps to.
struct Fail {
    code: u8,
    message: String,
}

fn usage(message: impl Into<String>) -> Fail {
    Fail {
        code: 2,
        message: format!("{}\n\n{USAGE}", message.into()),
    }
}

fn failed(message: impl Into<String>) -> Fail {
    Fail {
        code: 1,
        message: message.into(),
    }
}

/// `--name value` options after the subcommand; every option must be known.
struct Opts {
    pairs: Vec<(String, String)>,
}

impl Opts {
    fn parse(args: &[String], known: &[&str]) -> Result<Opts, Fail> {
        let mut pairs = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let Some(name) = a.strip_prefix("--") else {
                return Err(usage(format!("unexpected argument {a:?}")));
            };
            if !known.contains(&name) {
                return Err(usage(format!(
                    "unknown option --{name} (known: {})",
                    known
                        .iter()
                        .map(|k| format!("--{k}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            let Some(v) = it.next() else {
                return Err(usage(format!("--{name} needs a value")));
            };
            pairs.push((name.to_owned(), v.clone()));
        }
        Ok(Opts { pairs })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn num<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, Fail> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| usage(format!("--{name} {v:?} is not a valid number"))),
        }
    }
}

fn output(path: Option<&str>) -> Result<Box<dyn Write>, Fail> {
    Ok(match path {
        None | Some("-") => Box::new(BufWriter::new(std::io::stdout().lock())),
        Some(p) => Box::new(BufWriter::new(
            std::fs::File::create(p).map_err(|e| failed(format!("cannot create {p}: {e}")))?,
        )),
    })
}

fn simulate(args: &[String]) -> Result<(), Fail> {
    let o = Opts::parse(
        args,
        &[
            "sessions",
            "seed",
            "out",
            "policy",
            "spec",
            "tags",
            "min-probability",
            "observe",
        ],
    )?;
    let n: u64 = o.num("sessions", 10_000)?;
    let seed: u64 = o.num("seed", 1)?;
    if n == 0 || n > 100_000_000 {
        return Err(usage("--sessions must be between 1 and 100000000"));
    }
    if let Some(name) = o.get("policy") {
        return simulate_policy(&o, name, n, seed);
    }
    let sim = Simulator::new(seed);
    let mut out = output(o.get("out"))?;
    let (mut converted, mut churned, mut events) = (0u64, 0u64, 0u64);
    for id in 0..n {
        let s = sim.session(id);
        converted += s.converted as u64;
        churned += s.churned as u64;
        events += s.events.len() as u64;
        serde_json::to_writer(&mut out, &s).map_err(|e| failed(format!("write failed: {e}")))?;
        out.write_all(b"\n")
            .map_err(|e| failed(format!("write failed: {e}")))?;
    }
    out.flush()
        .map_err(|e| failed(format!("write failed: {e}")))?;
    eprintln!(
        "simulated {n} sessions (seed {seed}): {events} events, {:.1}% converted, {:.1}% churned",
        100.0 * converted as f64 / n as f64,
        100.0 * churned as f64 / n as f64
    );
    Ok(())
}

fn read(path: &str) -> Result<Vec<u8>, Fail> {
    std::fs::read(path).map_err(|e| failed(format!("cannot read {path}: {e}")))
}

fn read_text(path: &str) -> Result<String, Fail> {
    String::from_utf8(read(path)?).map_err(|_| failed(format!("{path} is not UTF-8 text")))
}

/// `--min-probability P` (default 0): the exploration floor of the evaluation commands.
fn exploration_floor(o: &Opts) -> Result<f64, Fail> {
    let floor: f64 = o.num("min-probability", 0.0)?;
    if !(0.0..=0.5).contains(&floor) {
        return Err(usage("--min-probability must be in [0, 0.5]"));
    }
    Ok(floor)
}

fn decode(path: &str) -> Result<edgewise::onnx_pb::ModelProto, Fail> {
    let bytes = read(path)?;
    <edgewise::onnx_pb::ModelProto as prost::Message>::decode(bytes.as_slice())
        .map_err(|e| failed(format!("{path} is not a readable ONNX model: {e}")))
}

/// Positional arguments first, then `--name value` options (`-o` = `--out`).
fn split_positional(args: &[String]) -> (Vec<String>, Vec<String>) {
    let mut pos = Vec::new();
    let mut opts = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "-o" {
            opts.push("--out".to_owned());
            opts.extend(it.next().cloned());
        } else if a.starts_with("--") {
            opts.push(a.clone());
            opts.extend(it.next().cloned());
        } else {
            pos.push(a.clone());
        }
    }
    (pos, opts)
}

fn manifest_for(onnx_path: &str, given: Option<&str>) -> Result<String, Fail> {
    let path = match given {
        Some(p) => p.to_owned(),
        None => {
            let p = std::path::Path::new(onnx_path).with_extension("json");
            p.to_string_lossy().into_owned()
        }
    };
    read_text(&path)
}

fn compile_model(args: &[String]) -> Result<(), Fail> {
    let (pos, rest) = split_positional(args);
    let o = Opts::parse(&rest, &["manifest", "out"])?;
    let [input] = pos.as_slice() else {
        return Err(usage("compile-model takes one .onnx file"));
    };
    let out = o
        .get("out")
        .ok_or_else(|| usage("compile-model needs -o OUT"))?;
    let manifest = manifest_for(input, o.get("manifest"))?;
    let man = ModelManifest::from_json(&manifest).map_err(|e| failed(e.to_string()))?;
    let model = PropensityModel::from_manifest_with(man, &read(input)?, Prefer::CompiledOnly)
        .map_err(|e| {
            failed(format!(
                "{input}: {e}; the lite and full wasm builds cannot load it (`edgewise inspect-model {input}` shows what else does)"
            ))
        })?;
    let compiled = model
        .compiled()
        .ok_or_else(|| failed(format!("{input}: the compiler produced no program")))?;
    let text = serde_json::to_string(&compiled).map_err(|e| failed(e.to_string()))?;
    std::fs::write(out, text.as_bytes()).map_err(|e| failed(format!("cannot write {out}: {e}")))?;
    eprintln!(
        "compiled {input} ({} bytes) → {out} ({} bytes, {} steps)",
        model.source_len(),
        text.len(),
        compiled.program.steps.len()
    );
    Ok(())
}

fn inspect_model(args: &[String]) -> Result<(), Fail> {
    let (pos, rest) = split_positional(args);
    let o = Opts::parse(&rest, &["manifest"])?;
    let [input] = pos.as_slice() else {
        return Err(usage("inspect-model takes one .onnx file"));
    };
    let proto = decode(input)?;
    let graph = proto
        .graph
        .as_ref()
        .ok_or_else(|| failed(format!("{input} has no graph")))?;
    let inits: std::collections::HashSet<&str> =
        graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let shape = |v: &edgewise::onnx_pb::ValueInfoProto| -> serde_json::Value {
        use edgewise::onnx_pb::tensor_shape_proto::dimension::Value as D;
        match v.r#type.as_ref().and_then(|t| t.value.as_ref()) {
            Some(edgewise::onnx_pb::type_proto::Value::TensorType(t)) => serde_json::json!({
                "name": v.name,
                "elem_type": t.elem_type,
                "shape": t.shape.as_ref().map(|s| s.dim.iter().map(|d| match &d.value {
                    Some(D::DimValue(x)) => serde_json::json!(x),
                    Some(D::DimParam(p)) => serde_json::json!(p),
                    None => serde_json::Value::Null,
                }).collect::<Vec<_>>()),
            }),
            _ => {
                serde_json::json!({ "name": v.name, "type": "non-tensor (e.g. a ZipMap sequence of maps)" })
            }
        }
    };
    let mut ops: std::collections::BTreeMap<String, usize> = Default::default();
    for n in &graph.node {
        let key = if n.domain.is_empty() {
            n.op_type.clone()
        } else {
            format!("{}:{}", n.domain, n.op_type)
        };
        *ops.entry(key).or_default() += 1;
    }
    let mut report = serde_json::json!({
        "file": input,
        "ir_version": proto.ir_version,
        "opsets": proto.opset_import.iter().map(|o| serde_json::json!({"domain": o.domain, "version": o.version})).collect::<Vec<_>>(),
        "producer": format!("{} {}", proto.producer_name, proto.producer_version),
        "inputs": graph.input.iter().filter(|i| !inits.contains(i.name.as_str())).map(shape).collect::<Vec<_>>(),
        "outputs": graph.output.iter().map(shape).collect::<Vec<_>>(),
        "operators": ops,
        "initializers": graph.initializer.len(),
    });
    let manifest = manifest_for(input, o.get("manifest"));
    let check = match &manifest {
        Err(e) => serde_json::json!({ "manifest": e.message }),
        Ok(text) => match ModelManifest::from_json(text) {
            Err(e) => serde_json::json!({ "manifest": e.to_string() }),
            Ok(man) => {
                let bytes = read(input)?;
                let compiled =
                    PropensityModel::from_manifest_with(man.clone(), &bytes, Prefer::CompiledOnly);
                let tract = PropensityModel::from_manifest_with(man, &bytes, Prefer::Tract);
                let status = |r: &Result<PropensityModel, edgewise::error::ModelError>| match r {
                    Ok(m) => serde_json::json!({ "ok": true, "runtime": m.runtime() }),
                    Err(e) => {
                        serde_json::json!({ "ok": false, "code": e.code(), "error": e.to_string() })
                    }
                };
                serde_json::json!({ "manifest": "ok", "compiler": status(&compiled), "tract": status(&tract) })
            }
        },
    };
    if let Some(obj) = report.as_object_mut() {
        obj.insert("check".into(), check);
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&report).map_err(|e| failed(e.to_string()))?
    );
    Ok(())
}

/// A manifest for a bare .onnx file: `width` custom columns, the chosen output, probability.
fn bare_manifest(
    width: usize,
    output: Option<String>,
    class_index: Option<usize>,
) -> Result<ModelManifest, Fail> {
    let features: Vec<serde_json::Value> = (0..width)
        .map(|i| serde_json::json!({"name": format!("x{i}"), "kind": "context_number", "key": format!("x{i}"), "missing": 0}))
        .collect();
    let spec: FeatureSpec =
        serde_json::from_value(serde_json::json!({"version": 1, "features": features}))
            .map_err(|e| failed(e.to_string()))?;
    Ok(ModelManifest {
        name: "cli".into(),
        version: "0".into(),
        score: "p".into(),
        output_kind: OutputKind::Probability,
        output,
        class_index,
        input: None,
        description: None,
        created: None,
        features: spec,
        training: None,
        metrics: None,
    })
}

fn predict(args: &[String]) -> Result<(), Fail> {
    let o = Opts::parse(args, &["model", "input", "output", "class-index"])?;
    let model_path = o
        .get("model")
        .ok_or_else(|| usage("predict needs --model FILE.onnx"))?;
    let input_path = o
        .get("input")
        .ok_or_else(|| usage("predict needs --input ROWS.csv"))?;
    let text = read_text(input_path)?;
    let mut rows: Vec<Vec<f32>> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let row = line
            .split(',')
            .map(|c| c.trim().parse::<f32>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| {
                failed(format!(
                    "{input_path}:{}: not a row of numbers: {line:?}",
                    i + 1
                ))
            })?;
        if let Some(first) = rows.first() {
            if first.len() != row.len() {
                return Err(failed(format!(
                    "{input_path}:{}: {} columns, the first row has {}",
                    i + 1,
                    row.len(),
                    first.len()
                )));
            }
        }
        rows.push(row);
    }
    let width = rows
        .first()
        .map(Vec::len)
        .ok_or_else(|| failed(format!("{input_path} has no rows")))?;
    let bytes = read(model_path)?;
    // The output: the one named, else the graph's probability-like one.
    let proto = decode(model_path)?;
    let outputs: Vec<String> = proto
        .graph
        .as_ref()
        .map(|g| g.output.iter().map(|o| o.name.clone()).collect())
        .unwrap_or_default();
    let output = match o.get("output") {
        Some(n) => Some(n.to_owned()),
        None if outputs.len() == 1 => None,
        None => outputs
            .iter()
            .find(|n| n.contains("prob"))
            .or_else(|| outputs.last())
            .cloned(),
    };
    let explicit: Option<usize> = match o.get("class-index") {
        Some(v) => Some(
            v.parse()
                .map_err(|_| usage("--class-index must be a number"))?,
        ),
        None => None,
    };
    // Try a single-value output first, then the positive-class column of a two-class one.
    let attempts: Vec<Option<usize>> = match explicit {
        Some(k) => vec![Some(k)],
        None => vec![None, Some(1)],
    };
    let mut last_err = None;
    let mut model = None;
    for ci in attempts {
        let man = bare_manifest(width, output.clone(), ci)?;
        match PropensityModel::from_manifest(man, &bytes) {
            Ok(m) => {
                model = Some(m);
                break;
            }
            Err(e) => last_err = Some(e),
        }
    }
    let mut model = model.ok_or_else(|| {
        failed(format!(
            "{model_path}: {}",
            last_err.map(|e| e.to_string()).unwrap_or_default()
        ))
    })?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    for (i, row) in rows.iter().enumerate() {
        let p = model
            .predict(row)
            .map_err(|e| failed(format!("row {}: {e}", i + 1)))?;
        writeln!(out, "{i},{p}").map_err(|e| failed(format!("write failed: {e}")))?;
    }
    out.flush()
        .map_err(|e| failed(format!("write failed: {e}")))?;
    Ok(())
}

/// A model file read once: `X.ewm.json` (compiled) or `X.onnx` with its manifest `X.json`
/// beside it.
struct ModelFile {
    path: String,
    bytes: Vec<u8>,
    /// The manifest of an `.onnx` file; `None` for a compiled file.
    manifest: Option<ModelManifest>,
}

impl ModelFile {
    fn read(path: &str) -> Result<ModelFile, Fail> {
        let manifest = if path.ends_with(".onnx") {
            Some(
                ModelManifest::from_json(&manifest_for(path, None)?)
                    .map_err(|e| failed(format!("{path}: {e}")))?,
            )
        } else {
            None
        };
        Ok(ModelFile {
            path: path.to_owned(),
            bytes: read(path)?,
            manifest,
        })
    }

    fn load(&self) -> Result<PropensityModel, Fail> {
        match &self.manifest {
            Some(m) => PropensityModel::from_manifest(m.clone(), &self.bytes),
            None => PropensityModel::load_compiled(&self.bytes),
        }
        .map_err(|e| failed(format!("{}: {e}", self.path)))
    }
}

/// One session line of `edgewise simulate`, as far as scoring needs it.
#[derive(serde::Deserialize)]
struct ScoreSession<'a> {
    id: u64,
    context: std::collections::BTreeMap<String, serde_json::Value>,
    start_ms: f64,
    decision_index: usize,
    decision_ms: f64,
    #[serde(borrow)]
    events: Vec<edgewise::EventInput<'a>>,
}

fn score(args: &[String]) -> Result<(), Fail> {
    use edgewise::features::{Context, ContextValue};
    use edgewise::{Engine, EngineConfig, EngineOptions};
    let o = Opts::parse(args, &["data", "config", "models", "at", "out"])?;
    let data = o
        .get("data")
        .ok_or_else(|| usage("score needs --data SESSIONS.jsonl"))?;
    let config_path = o
        .get("config")
        .ok_or_else(|| usage("score needs --config CONFIG.json"))?;
    let model_paths: Vec<&str> = o
        .get("models")
        .ok_or_else(|| usage("score needs --models A.onnx,B.ewm.json"))?
        .split(',')
        .filter(|p| !p.is_empty())
        .collect();
    let at_end = match o.get("at").unwrap_or("decision") {
        "decision" => false,
        "end" => true,
        other => return Err(usage(format!("--at {other:?}: expected decision or end"))),
    };
    let config_text = read_text(config_path)?;
    let config =
        EngineConfig::from_json(&config_text).map_err(|e| failed(format!("{config_path}: {e}")))?;
    // Files read once and loaded once to fail early; each session gets fresh instances (an
    // Engine owns its models).
    let files = model_paths
        .iter()
        .map(|p| ModelFile::read(p))
        .collect::<Result<Vec<_>, _>>()?;
    let load_all = || {
        files
            .iter()
            .map(ModelFile::load)
            .collect::<Result<Vec<_>, _>>()
    };
    load_all()?;
    let text = read_text(data)?;
    let mut out = output(o.get("out"))?;
    for (line_no, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let at = |m: String| failed(format!("{data}:{}: {m}", line_no + 1));
        let s: ScoreSession<'_> = serde_json::from_str(line).map_err(|e| at(e.to_string()))?;
        let (n, now) = if at_end {
            let last = s.events.last().and_then(|e| e.ts).unwrap_or(s.start_ms);
            (s.events.len(), last + 1000.0)
        } else {
            (s.decision_index, s.decision_ms)
        };
        let options = EngineOptions {
            seed: Some(1),
            session_start: Some(s.start_ms),
            visitor_id: None,
        };
        let mut engine = Engine::new(config.clone(), load_all()?, options, s.start_ms)
            .map_err(|e| at(e.to_string()))?;
        let mut ctx = Context::new();
        for (k, v) in &s.context {
            let v = match v {
                serde_json::Value::Number(x) => ContextValue::Number(x.as_f64().unwrap_or(0.0)),
                serde_json::Value::String(t) => ContextValue::Text(t.clone()),
                other => return Err(at(format!("context {k}: {other} is not a number or text"))),
            };
            ctx.insert(k.clone(), v);
        }
        engine.set_context(ctx).map_err(|e| at(e.to_string()))?;
        for e in s.events.iter().take(n) {
            engine.track(e, now).map_err(|e| at(e.to_string()))?;
        }
        let (scores, errors) = engine.scores(now);
        if let Some(e) = errors.first() {
            return Err(at(e.to_string()));
        }
        let named: serde_json::Map<String, serde_json::Value> = engine
            .models()
            .iter()
            .zip(&scores)
            .map(|(m, p)| {
                (
                    m.score_name().to_owned(),
                    serde_json::json!(p.map(f64::from)),
                )
            })
            .collect();
        let row = serde_json::json!({
            "id": s.id,
            "at": if at_end { "end" } else { "decision" },
            "now": now,
            "scores": named,
        });
        writeln!(out, "{row}").map_err(|e| failed(format!("write failed: {e}")))?;
    }
    out.flush()
        .map_err(|e| failed(format!("write failed: {e}")))?;
    Ok(())
}

fn policy_named(name: &str) -> Result<edgewise::bandit::PolicyConfig, Fail> {
    edgewise::bandit::PolicyConfig::named(name).ok_or_else(|| {
        usage(format!(
            "unknown policy {name:?} (known: {})",
            edgewise::bandit::PolicyConfig::NAMES.join(", ")
        ))
    })
}

fn bakeoff(args: &[String]) -> Result<(), Fail> {
    let o = Opts::parse(args, &["data", "policy", "seed", "min-probability"])?;
    let data = o
        .get("data")
        .ok_or_else(|| usage("bakeoff needs --data FILE.csv"))?;
    let name = o
        .get("policy")
        .ok_or_else(|| usage("bakeoff needs --policy NAME"))?;
    let policy = policy_named(name)?;
    let seed: u64 = o.num("seed", 1)?;
    let floor = exploration_floor(&o)?;
    let text = read_text(data)?;
    let dataset = edgewise::eval::parse_csv(&text).map_err(|e| failed(format!("{data}: {e}")))?;
    let t = std::time::Instant::now();
    let r = edgewise::eval::bakeoff(&dataset, &policy, seed, floor);
    let seconds = t.elapsed().as_secs_f64();
    let row = serde_json::json!({
        "n": r.n,
        "progressive_reward": r.progressive_reward,
        "seconds": seconds,
        "rows_per_s": r.n as f64 / seconds.max(1e-9),
        "policy": name,
        "config": policy,
        "seed": seed,
        "k": dataset.k,
        "d": dataset.dim,
        "mean_probability": r.mean_probability,
    });
    println!("{row}");
    Ok(())
}

fn eval_log(args: &[String]) -> Result<(), Fail> {
    let o = Opts::parse(
        args,
        &[
            "log",
            "items",
            "policy",
            "seed",
            "bootstrap",
            "min-probability",
        ],
    )?;
    let log = o
        .get("log")
        .ok_or_else(|| usage("eval-log needs --log FILE.csv"))?;
    let items = o
        .get("items")
        .ok_or_else(|| usage("eval-log needs --items ITEM_CONTEXT.csv"))?;
    let name = o
        .get("policy")
        .ok_or_else(|| usage("eval-log needs --policy NAME"))?;
    let policy = policy_named(name)?;
    let seed: u64 = o.num("seed", 1)?;
    let bootstrap: usize = o.num("bootstrap", 1000)?;
    if bootstrap > 100_000 {
        return Err(usage("--bootstrap must be at most 100000"));
    }
    let floor = exploration_floor(&o)?;
    let data = edgewise::eval::parse_obd(&read_text(log)?, &read_text(items)?)
        .map_err(|e| failed(format!("{log} / {items}: {e}")))?;
    let t = std::time::Instant::now();
    let r = edgewise::eval::eval_log(&data, &policy, seed, floor, bootstrap);
    let row = serde_json::json!({
        "n": r.n,
        "logged_ctr": r.logged_ctr,
        "ips": r.ips,
        "snips": r.snips,
        "ci95": r.ci95,
        "snips_ci95": r.snips_ci95,
        "ess": r.ess,
        "policy": name,
        "config": policy,
        "seed": seed,
        "k": data.k,
        "d": data.dim,
        "seconds": t.elapsed().as_secs_f64(),
    });
    println!("{row}");
    Ok(())
}

/// `edgewise simulate --policy NAME`: the policy against the intent-aware oracle and a uniform
/// A/B split on the journey simulator.
fn simulate_policy(o: &Opts, name: &str, n: u64, seed: u64) -> Result<(), Fail> {
    let policy = policy_named(name)?;
    let spec_path = o
        .get("spec")
        .unwrap_or("models/storefront-v1.features.json");
    let spec_text = read_text(spec_path)?;
    let spec =
        FeatureSpec::from_json(&spec_text).map_err(|e| failed(format!("{spec_path}: {e}")))?;
    let tags: Vec<&str> = o
        .get("tags")
        .unwrap_or("neutral,urgent,detailed,retention")
        .split(',')
        .filter(|t| !t.is_empty())
        .collect();
    let floor = exploration_floor(o)?;
    let observe = match o.get("observe").unwrap_or("features") {
        "features" => edgewise::eval::Observe::Features,
        "intent" => edgewise::eval::Observe::Intent,
        other => {
            return Err(usage(format!(
                "--observe must be features or intent, got {other:?}"
            )))
        }
    };
    if n > 10_000_000 {
        return Err(usage("--sessions with --policy must be at most 10000000"));
    }
    let t = std::time::Instant::now();
    let r =
        edgewise::eval::simulate_policy(&policy, &spec, &tags, observe, n as usize, seed, floor, 0)
            .map(|(r, _)| r)
            .map_err(usage)?;
    let row = serde_json::json!({
        "visitors": r.visitors,
        "policy": name,
        "config": policy,
        "seed": seed,
        "tags": tags,
        "observe": o.get("observe").unwrap_or("features"),
        "reward": r.reward,
        "expected_reward": r.expected_reward,
        "oracle_expected_reward": r.oracle_expected_reward,
        "uniform_expected_reward": r.uniform_expected_reward,
        "regret_vs_oracle": r.regret,
        "uniform_regret_vs_oracle": r.uniform_regret,
        "uniform_regret_over_policy_regret": r.uniform_regret / r.regret.max(1e-12),
        "seconds": t.elapsed().as_secs_f64(),
    });
    println!("{row}");
    Ok(())
}

/// `edgewise consent decode STRING`: an IAB TCF v2.2 TC string as JSON (field names in
/// camelCase, id sets as sorted arrays, timestamps in unix seconds).
fn consent(args: &[String]) -> Result<(), Fail> {
    match args {
        [verb, tc] if verb == "decode" => {
            let decoded = edgewise::tcf::decode(tc.trim())
                .map_err(|e| failed(format!("invalid TC string ({}): {e}", e.code())))?;
            let text = serde_json::to_string_pretty(&decoded)
                .map_err(|e| failed(format!("could not print: {e}")))?;
            println!("{text}");
            Ok(())
        }
        [verb] if verb == "decode" => Err(usage("consent decode needs a TC string")),
        _ => Err(usage("usage: edgewise consent decode STRING")),
    }
}

fn run(args: &[String]) -> Result<(), Fail> {
    let Some((cmd, rest)) = args.split_first() else {
        return Err(usage("no command given"));
    };
    match cmd.as_str() {
        "simulate" => simulate(rest),
        "compile-model" => compile_model(rest),
        "inspect-model" => inspect_model(rest),
        "predict" => predict(rest),
        "score" => score(rest),
        "bakeoff" => bakeoff(rest),
        "eval-log" => eval_log(rest),
        "consent" => consent(rest),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(usage(format!("unknown command {other:?}"))),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("edgewise: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
