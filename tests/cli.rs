//! The native command line as a user runs it: outputs, files written, exit codes (0 ok, 1 the
//! work failed, 2 bad usage) and messages that say what to fix.
#![cfg(feature = "onnx")]

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

fn edgewise(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edgewise"))
        .args(args)
        .current_dir(common::root())
        .output()
        .expect("run edgewise")
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("edgewise-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `edgewise args`, which must exit with `code` and say `needle` on stderr.
fn fails(args: &[&str], code: i32, needle: &str) -> Output {
    let o = edgewise(args);
    assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
    assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    o
}

#[test]
fn simulate_is_deterministic_and_counts_sessions() {
    let a = edgewise(&["simulate", "--sessions", "25", "--seed", "9"]);
    let b = edgewise(&["simulate", "--sessions", "25", "--seed", "9"]);
    let c = edgewise(&["simulate", "--sessions", "25", "--seed", "10"]);
    assert!(a.status.success(), "{}", stderr(&a));
    assert_eq!(a.stdout, b.stdout);
    assert_ne!(a.stdout, c.stdout);
    let text = String::from_utf8(a.stdout.clone()).unwrap();
    assert_eq!(text.lines().count(), 25);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(!v["events"].as_array().unwrap().is_empty());
        assert!(v["converted"].is_boolean() && v["churned"].is_boolean());
    }
    assert!(stderr(&a).contains("simulated 25 sessions"));
}

#[test]
fn usage_errors_exit_2_and_say_what_is_wrong() {
    for (args, needle) in [
        (vec![], "no command given"),
        (vec!["frobnicate"], "unknown command"),
        (
            vec!["simulate", "--sesions", "3"],
            "unknown option --sesions",
        ),
        (vec!["simulate", "--sessions", "many"], "not a valid number"),
        (vec!["simulate", "--sessions", "0"], "between 1 and"),
        (vec!["compile-model", "models/purchase-lr.onnx"], "needs -o"),
        (vec!["score", "--data", "x.jsonl"], "needs --config"),
    ] {
        let o = fails(&args, 2, needle);
        assert!(stderr(&o).contains("usage:"), "{args:?}");
    }
}

#[test]
fn compile_model_writes_a_file_that_scores_exactly_like_the_onnx() {
    let out = tmp("purchase-gbt.ewm.json");
    let o = edgewise(&[
        "compile-model",
        "models/purchase-gbt.onnx",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut compiled = edgewise::PropensityModel::load_compiled(&std::fs::read(&out).unwrap())
        .expect("compiled file loads");
    let mut onnx = common::load("purchase-gbt");
    assert_eq!(compiled.score_name(), "purchase_gbt");
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::root().join("tests/fixtures/models/reference.json"))
            .unwrap(),
    )
    .unwrap();
    let inputs: Vec<Vec<f32>> = serde_json::from_value(reference["inputs"].clone()).unwrap();
    for x in &inputs {
        assert_eq!(
            compiled.predict(x).unwrap().to_bits(),
            onnx.predict(x).unwrap().to_bits()
        );
    }
    // The shipped compiled model is what `make models` wrote from the same .onnx.
    let shipped = std::fs::read(common::root().join("models/purchase-gbt.ewm.json")).unwrap();
    assert_eq!(shipped, std::fs::read(&out).unwrap());
}

#[test]
fn compile_model_names_the_operator_it_cannot_compile() {
    let out = tmp("gelu.ewm.json");
    fails(
        &[
            "compile-model",
            "tests/fixtures/models/mlp-gelu.onnx",
            "-o",
            out.to_str().unwrap(),
        ],
        1,
        "Erf",
    );
    assert!(!out.exists(), "nothing written on failure");
}

#[test]
fn inspect_model_reports_operators_and_who_can_run_it() {
    let o = edgewise(&["inspect-model", "tests/fixtures/models/sk-gbt-zipmap.onnx"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["operators"]["ai.onnx.ml:ZipMap"], 1);
    assert_eq!(v["operators"]["ai.onnx.ml:TreeEnsembleClassifier"], 1);
    assert_eq!(v["check"]["manifest"], "ok");
    assert_eq!(v["check"]["compiler"]["ok"], true);

    let o = edgewise(&["inspect-model", "tests/fixtures/models/mlp-gelu.onnx"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["check"]["compiler"]["ok"], false);
    assert_eq!(v["check"]["compiler"]["code"], "model_unsupported_operator");
    assert_eq!(v["check"]["tract"]["ok"], cfg!(feature = "tract"));

    let bad = tmp("junk.onnx");
    std::fs::write(&bad, b"<html>404</html>").unwrap();
    fails(
        &["inspect-model", bad.to_str().unwrap()],
        1,
        "not a readable ONNX model",
    );
}

#[test]
fn predict_runs_a_bare_onnx_file_on_csv_rows() {
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::root().join("tests/fixtures/models/reference.json"))
            .unwrap(),
    )
    .unwrap();
    let inputs: Vec<Vec<f64>> = serde_json::from_value(reference["inputs"].clone()).unwrap();
    let rows = tmp("rows.csv");
    let csv: String = inputs
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| format!("{v}"))
                .collect::<Vec<_>>()
                .join(",")
                + "\n"
        })
        .collect();
    std::fs::write(&rows, csv).unwrap();
    // ZipMap output; a fixed batch of one (run row by row); a symbolic batch from PyTorch.
    for name in ["sk-pipeline", "lr-opset9", "torch-mlp"] {
        let want: Vec<f64> = serde_json::from_value(reference["outputs"][name].clone()).unwrap();
        let model = format!("tests/fixtures/models/{name}.onnx");
        let o = edgewise(&[
            "predict",
            "--model",
            &model,
            "--input",
            rows.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let text = String::from_utf8(o.stdout).unwrap();
        assert_eq!(text.lines().count(), want.len());
        for (line, w) in text.lines().zip(&want) {
            let p: f64 = line.rsplit(',').next().unwrap().parse().unwrap();
            assert!((p - w).abs() <= 1e-5, "{name}: {line} vs onnxruntime {w}");
        }
    }

    std::fs::write(&rows, "1,2,3\n4,5\n").unwrap();
    fails(
        &[
            "predict",
            "--model",
            "tests/fixtures/models/sk-pipeline.onnx",
            "--input",
            rows.to_str().unwrap(),
        ],
        1,
        ":2: 2 columns",
    );
}

#[test]
fn score_replays_sessions_and_fails_on_bad_models() {
    let data = tmp("sessions.jsonl");
    let sim = edgewise(&[
        "simulate",
        "--sessions",
        "5",
        "--seed",
        "3",
        "--out",
        data.to_str().unwrap(),
    ]);
    assert!(sim.status.success());
    let o = edgewise(&[
        "score",
        "--data",
        data.to_str().unwrap(),
        "--config",
        "www/demo/config.json",
        "--models",
        "models/purchase-lr.onnx,models/churn-mlp.ewm.json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(text.lines().count(), 5);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for s in ["purchase", "churn"] {
            let p = v["scores"][s].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&p), "{line}");
        }
    }
    fails(
        &[
            "score",
            "--data",
            data.to_str().unwrap(),
            "--config",
            "www/demo/config.json",
            "--models",
            "tests/fixtures/models/wrong-width.onnx",
        ],
        1,
        "wrong-width",
    );
}

#[test]
fn bakeoff_runs_the_protocol_and_refuses_bad_files() {
    let data = "tests/fixtures/bakeoff/blobs.csv"; // 600 rows, 3 separable classes
    let run = |policy: &str, seed: &str| {
        let o = edgewise(&[
            "bakeoff", "--data", data, "--policy", policy, "--seed", seed,
        ]);
        assert!(o.status.success(), "{policy}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["n"], 600);
        assert!(v["rows_per_s"].as_f64().unwrap() > 0.0 && v["seconds"].as_f64().is_some());
        v["progressive_reward"].as_f64().unwrap()
    };
    let uniform = run("uniform", "1");
    assert!((0.25..0.42).contains(&uniform), "uniform {uniform}");
    let best = run("best", "1");
    assert!(best > 0.8, "best {best}");
    assert_eq!(best, run("best", "1"), "same seed, same result");
    for p in ["epsilon", "thompson", "linucb", "lints", "squarecb"] {
        let r = run(p, "2");
        assert!((0.0..=1.0).contains(&r));
    }

    fails(
        &["bakeoff", "--data", data, "--policy", "greedy"],
        2,
        "unknown policy \"greedy\"",
    );
    let bad = tmp("bad.csv");
    std::fs::write(&bad, "f0,f1,label\n1,2,0\n1,oops,1\n").unwrap();
    fails(
        &[
            "bakeoff",
            "--data",
            bad.to_str().unwrap(),
            "--policy",
            "best",
        ],
        1,
        "line 3: column 1 is not a number",
    );
    fails(
        &["bakeoff", "--data", "no/such.csv", "--policy", "best"],
        1,
        "cannot read no/such.csv",
    );
}

#[test]
fn eval_log_scores_a_policy_on_open_bandit_logs() {
    let (log, items) = ("tests/fixtures/obd/log.csv", "tests/fixtures/obd/items.csv");
    let run = |policy: &str| {
        let o = edgewise(&[
            "eval-log",
            "--log",
            log,
            "--items",
            items,
            "--policy",
            policy,
            "--bootstrap",
            "300",
        ]);
        assert!(o.status.success(), "{policy}: {}", stderr(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let u = run("uniform");
    assert_eq!(u["n"], 400);
    assert_eq!(u["k"], 4);
    // The logging policy is uniform: its IPS estimate is the logged CTR exactly.
    assert!((u["ips"].as_f64().unwrap() - u["logged_ctr"].as_f64().unwrap()).abs() < 1e-12);
    let b = run("best");
    let (ips, ci) = (b["ips"].as_f64().unwrap(), b["ci95"].as_array().unwrap());
    let (lo, hi) = (ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap());
    assert!(lo <= ips && ips <= hi, "{b}");
    assert!(
        ips > u["logged_ctr"].as_f64().unwrap(),
        "a learning policy beats uniform here: {b}"
    );
    assert!(b["snips"].as_f64().is_some());

    fails(
        &[
            "eval-log", "--log", items, "--items", items, "--policy", "best",
        ],
        1,
        "no click column",
    );
    fails(
        &["eval-log", "--log", log, "--policy", "best"],
        2,
        "needs --items",
    );
}

#[test]
fn simulate_with_a_policy_reports_regret_against_oracle_and_uniform() {
    let run = |policy: &str| {
        let o = edgewise(&[
            "simulate",
            "--policy",
            policy,
            "--sessions",
            "3000",
            "--seed",
            "4",
        ]);
        assert!(o.status.success(), "{policy}: {}", stderr(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let u = run("uniform");
    let b = run("best");
    assert_eq!(b["visitors"], 3000);
    let f = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap();
    // Same visitors, same oracle and uniform baselines whatever the policy.
    assert_eq!(
        f(&u, "oracle_expected_reward"),
        f(&b, "oracle_expected_reward")
    );
    assert_eq!(
        f(&u, "uniform_regret_vs_oracle"),
        f(&b, "uniform_regret_vs_oracle")
    );
    assert!(f(&b, "regret_vs_oracle") >= 0.0);
    assert!(f(&b, "expected_reward") <= f(&b, "oracle_expected_reward"));
    fails(
        &["simulate", "--policy", "best", "--tags", "urgent,shiny"],
        2,
        "\"shiny\" has no ground truth",
    );
    fails(
        &["simulate", "--policy", "best", "--observe", "mind"],
        2,
        "--observe must be features or intent",
    );
}

/// The diagnostic that separates learning from observability: handed the latent intent, the
/// default policy closes most of the gap to the oracle within 10,000 visitors.
#[test]
fn seeing_the_intent_the_default_policy_approaches_the_oracle() {
    let o = edgewise(&[
        "simulate",
        "--policy",
        "best",
        "--observe",
        "intent",
        "--sessions",
        "10000",
        "--seed",
        "4",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["observe"], "intent");
    let ratio = v["uniform_regret_over_policy_regret"].as_f64().unwrap();
    assert!(ratio > 2.0, "{v}");
}

/// `consent decode` prints what `@iabtcf/core` decoded (the fixtures) and refuses bad strings.
#[test]
fn consent_decode_prints_the_reference_fields_and_refuses_bad_strings() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tcf/valid.json"),
    )
    .unwrap();
    let fixtures: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    for f in fixtures.iter().step_by(60) {
        let o = edgewise(&["consent", "decode", f["string"].as_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        let got: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(got, f["expected"], "{}", f["string"]);
    }
    fails(&["consent", "decode", "CO!!"], 1, "tcf_bad_base64");
    fails(&["consent", "decode"], 2, "needs a TC string");
    fails(&["consent", "encode", "x"], 2, "consent decode STRING");
}
