#!/usr/bin/env python3
"""Trains the shipped propensity models on simulated storefront sessions.

    edgewise simulate --sessions 60000 --seed 1 --out data.jsonl
    python models/train/train.py --data data.jsonl [--out models]

For every session (one JSONL line of `edgewise simulate`) the storefront-v1 feature vector is
computed at the decision point: events[:decision_index], now = decision_ms, the line's context
and start_ms, window capacity 512 (models/train/features.py, a mirror of src/features.rs).
Sessions with id % 5 == 0 are held out; the rest train. Labels: `converted`, `churned`.

Models (hyperparameters and seeds in models/train/config.json):
  purchase-lr   LogisticRegression on standardized features, label converted. The scaler is
                folded into the weights and the model exported by hand as
                MatMul -> Add -> Sigmoid ("features" [N,24] -> "probability" [N,1]).
  purchase-gbt  GradientBoostingClassifier, label converted; skl2onnx, zipmap off
                (TreeEnsembleClassifier), output "probabilities", class 1.
  churn-mlp     MLPClassifier on standardized features (scaler folded into the first layer),
                label churned; skl2onnx, zipmap off, output "probabilities", class 1.

Each model is written as <out>/<name>.onnx plus its manifest <out>/<name>.json (the
`ModelManifest` of src/model.rs). Held-out metrics (AUC, log loss, ECE over 10 equal-width
bins, positive rate) are computed from onnxruntime's outputs of the exported file. Every
exported model is checked against the trained scikit-learn model's predict_proba on all rows
(max abs diff < 1e-5).

Reproducible: the same data file gives byte-identical .onnx and .json files (fixed seeds,
single-threaded BLAS, sorted opset imports, deterministic protobuf serialization, a fixed
`created` date from config.json).
"""
import os

# Single-threaded BLAS/OpenMP before numpy loads: reductions then run in one fixed order.
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from collections import OrderedDict  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from skl2onnx import to_onnx  # noqa: E402
from sklearn.ensemble import GradientBoostingClassifier  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.dirname(HERE)
ROOT = os.path.dirname(MODELS)
sys.path.insert(0, HERE)
from features import column_names, extract  # noqa: E402
from onnx_io import rename_input, save as save_onnx  # noqa: E402

OPSET = 17
ML_OPSET = 3
PARITY_TOL = 1e-5


def load_json(path):
    with open(path) as f:
        return json.load(f, object_pairs_hook=OrderedDict)


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


# ---------------------------------------------------------------------------------------------
# Data


def load_sessions(path):
    with open(path, "rb") as f:
        raw = f.read()
    sessions = [json.loads(line) for line in raw.splitlines() if line.strip()]
    return sessions, hashlib.sha256(raw).hexdigest()


def decision_features(spec, s, capacity):
    k = s["decision_index"]
    return extract(spec, s["events"][:k], s["context"], s["start_ms"], s["decision_ms"], capacity)


# ---------------------------------------------------------------------------------------------
# ONNX export (conventions of models/gen_models.py)


def lr_onnx(name, w, b, width):
    """features [N, width] -> MatMul W -> Add b -> Sigmoid -> probability [N, 1]."""
    nodes = [helper.make_node("MatMul", ["features", "W"], ["xw"]),
             helper.make_node("Add", ["xw", "b"], ["z"]),
             helper.make_node("Sigmoid", ["z"], ["probability"])]
    inits = [numpy_helper.from_array(np.asarray(w, dtype=np.float32).reshape(width, 1), "W"),
             numpy_helper.from_array(np.asarray([b], dtype=np.float32), "b")]
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", width])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["N", 1])],
        inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    m.ir_version = 8
    return m


def sk_onnx(clf, name, width):
    m = to_onnx(clf, np.zeros((1, width), dtype=np.float32), options={id(clf): {"zipmap": False}},
                target_opset={"": OPSET, "ai.onnx.ml": ML_OPSET})
    m.graph.name = name
    rename_input(m)
    assert not any(n.op_type == "ZipMap" for n in m.graph.node)
    return m


def ort_positive(path, output, class_index, x):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    out = sess.run(None, {"features": np.ascontiguousarray(x, dtype=np.float32)})[names.index(output)]
    out = np.asarray(out, dtype=np.float64).reshape(len(x), -1)
    return out[:, class_index or 0]


# ---------------------------------------------------------------------------------------------
# Metrics


def ece(p, y, bins=10):
    """Expected calibration error over `bins` equal-width bins of [0, 1] (p = 1 in the last)."""
    idx = np.minimum((p * bins).astype(np.int64), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() / len(p) * abs(p[m].mean() - y[m].mean())
    return float(total)


def metrics_of(p, y):
    p = np.asarray(p, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    pc = np.clip(p, 1e-15, 1 - 1e-15)
    ll = float(-np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc)))
    return OrderedDict([
        ("auc", round(float(roc_auc_score(y, p)), 6)),
        ("log_loss", round(ll, 6)),
        ("ece", round(ece(p, y), 6)),
        ("positive_rate", round(float(y.mean()), 6)),
    ])


# ---------------------------------------------------------------------------------------------
# Training


def standardizer(x):
    """Mean and scale as sklearn's StandardScaler (scale 1 for constant columns)."""
    x = np.asarray(x, dtype=np.float64)
    mu = x.mean(axis=0)
    sd = x.std(axis=0)
    sd[sd == 0] = 1.0
    return mu, sd


def fit(estimator, params, x, y):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        return estimator(**params).fit(x, y)


def params_of(cfg):
    p = dict(cfg["params"])
    if "hidden_layer_sizes" in p:
        p["hidden_layer_sizes"] = tuple(p["hidden_layer_sizes"])
    return p


def train_lr(name, cfg, x, y):
    mu, sd = standardizer(x)
    clf = fit(LogisticRegression, params_of(cfg), (x.astype(np.float64) - mu) / sd, y)
    coef = clf.coef_[0] / sd
    bias = float(clf.intercept_[0] - np.sum(clf.coef_[0] * mu / sd))
    model = lr_onnx(name, coef, bias, x.shape[1])

    def predict(xx):
        return clf.predict_proba((xx.astype(np.float64) - mu) / sd)[:, 1]

    info = OrderedDict([("n_iter", int(clf.n_iter_[0]))])
    return model, predict, info


def train_gbt(name, cfg, x, y):
    clf = fit(GradientBoostingClassifier, params_of(cfg), x, y)
    model = sk_onnx(clf, name, x.shape[1])

    def predict(xx):
        return clf.predict_proba(xx)[:, 1]

    return model, predict, OrderedDict([("n_estimators", int(clf.n_estimators_))])


def train_mlp(name, cfg, x, y):
    mu, sd = standardizer(x)
    clf = fit(MLPClassifier, params_of(cfg), (x.astype(np.float64) - mu) / sd, y)

    def predict(xx, clf=clf):
        return clf.predict_proba((xx.astype(np.float64) - mu) / sd)[:, 1]

    # Fold the standardization into the first layer: ((x - mu) / sd) W + b = x (W / sd) + b'.
    # A copy is exported; `predict` keeps using the trained model on standardized input.
    import copy
    folded = copy.deepcopy(clf)
    w1, b1 = clf.coefs_[0], clf.intercepts_[0]
    folded.coefs_[0] = w1 / sd[:, None]
    folded.intercepts_[0] = b1 - (mu / sd) @ w1
    model = sk_onnx(folded, name, x.shape[1])
    return model, predict, OrderedDict([("n_iter", int(clf.n_iter_))])


MODELS_TO_TRAIN = [
    # name, trainer, score, output, class_index, description
    ("purchase-lr", train_lr, "purchase", "probability", None,
     "Purchase propensity: logistic regression (standardization folded into the weights) trained "
     "on simulated storefront sessions at the decision point; MatMul -> Add -> Sigmoid."),
    ("purchase-gbt", train_gbt, "purchase_gbt", "probabilities", 1,
     "Purchase propensity: scikit-learn gradient-boosted trees (TreeEnsembleClassifier) trained on "
     "simulated storefront sessions at the decision point."),
    ("churn-mlp", train_mlp, "churn", "probabilities", 1,
     "Churn propensity: scikit-learn MLP (16 hidden units; standardization folded into the first "
     "layer) trained on simulated storefront sessions at the decision point."),
]


def manifest(name, version, score, output, class_index, description, created, spec, training, metrics):
    m = OrderedDict()
    m["name"] = name
    m["version"] = version
    m["score"] = score
    m["output_kind"] = "probability"
    m["output"] = output
    m["class_index"] = class_index
    m["input"] = "features"
    m["description"] = description
    m["created"] = created
    m["features"] = spec
    m["training"] = training
    m["metrics"] = metrics
    return m


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="JSONL written by `edgewise simulate`")
    ap.add_argument("--out", default=MODELS, help="directory for <name>.onnx/.json (default: models/)")
    ap.add_argument("--config", default=os.path.join(HERE, "config.json"))
    ap.add_argument("--spec", default=None, help="feature spec (default: config's `spec`)")
    ap.add_argument("--simulator-seed", type=int, default=None,
                    help="seed the data was simulated with, recorded in the manifests (default: config)")
    args = ap.parse_args(argv)

    cfg = load_json(args.config)
    spec_path = args.spec or os.path.join(ROOT, cfg["spec"])
    spec = load_json(spec_path)
    cols = column_names(spec)
    capacity = int(cfg["capacity"])
    seed = cfg["simulator"]["seed"] if args.simulator_seed is None else args.simulator_seed

    sessions, data_sha = load_sessions(args.data)
    if len(sessions) != cfg["simulator"]["sessions"]:
        print(f"note: {len(sessions)} sessions; config.json expects {cfg['simulator']['sessions']}",
              file=sys.stderr)
    x = np.stack([decision_features(spec, s, capacity) for s in sessions])
    assert x.shape == (len(sessions), len(cols)), x.shape
    assert np.isfinite(x).all()
    ids = np.array([s["id"] for s in sessions], dtype=np.int64)
    labels = {k: np.array([bool(s[k]) for s in sessions], dtype=np.int64) for k in ("converted", "churned")}
    sp = cfg["split"]
    held = ids % sp["modulus"] == sp["heldout_remainder"]
    tr = ~held
    xtr = x[tr]

    os.makedirs(args.out, exist_ok=True)
    rows = []
    for name, trainer, score, output, class_index, description in MODELS_TO_TRAIN:
        mcfg = cfg["models"][name]
        y = labels[mcfg["label"]]
        model, predict, info = trainer(name, mcfg, xtr, y[tr])
        onnx_path = os.path.join(args.out, name + ".onnx")
        save_onnx(model, onnx_path, "edgewise-train")

        p_all = ort_positive(onnx_path, output, class_index, x)
        diff = float(np.max(np.abs(p_all - predict(x))))
        assert diff < PARITY_TOL, f"{name}: onnxruntime vs scikit-learn max abs diff {diff}"

        training = OrderedDict([
            ("data_file", os.path.basename(args.data)),
            ("data_sha256", data_sha),
            ("sessions", len(sessions)),
            ("simulator_seed", seed),
            ("train_rows", int(tr.sum())),
            ("heldout_rows", int(held.sum())),
            ("split", sp["heldout"]),
            ("label", mcfg["label"]),
            ("positive_rate", round(float(y[tr].mean()), 6)),
            ("estimator", mcfg["estimator"]),
            ("standardized", bool(mcfg["standardize"])),
            ("params", mcfg["params"]),
            ("fit", info),
            ("capacity", capacity),
            ("script", "models/train/train.py"),
        ])
        metrics = metrics_of(p_all[held], y[held])
        man = manifest(name, cfg["version"], score, output, class_index, description, cfg["created"],
                       spec, training, metrics)
        write_json(os.path.join(args.out, name + ".json"), man)
        rows.append((name, score, mcfg["label"], metrics, diff, float(p_all[held].mean())))

    print(f"{len(sessions)} sessions ({int(tr.sum())} train, {int(held.sum())} held out), "
          f"data sha256 {data_sha[:16]}...")
    print(f"{'model':<14}{'label':<11}{'auc':>9}{'log_loss':>10}{'ece':>9}{'pos_rate':>10}"
          f"{'mean_p':>9}{'ort-skl':>10}")
    for name, score, label, m, diff, mean_p in rows:
        print(f"{name:<14}{label:<11}{m['auc']:>9.4f}{m['log_loss']:>10.4f}{m['ece']:>9.4f}"
              f"{m['positive_rate']:>10.4f}{mean_p:>9.4f}{diff:>10.1e}")


if __name__ == "__main__":
    main()
