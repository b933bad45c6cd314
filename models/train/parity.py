#!/usr/bin/env python3
"""Writes the Python side of the feature/score parity fixture.

    edgewise simulate --sessions 1000 --seed 2 --out parity.jsonl
    python models/train/parity.py --data parity.jsonl --out tests/fixtures/parity/python.json

For each of the first `--sessions` (1000) sessions of the file, two points:
  "decision": events[:decision_index], now = decision_ms;
  "end":      all events,              now = last event's ts + 1000;
both with the line's context and start_ms and window capacity 512. At each point: the
storefront-v1 feature vector (models/train/features.py, a mirror of src/features.rs) and
onnxruntime's positive-class output of every shipped model (models/purchase-lr, purchase-gbt,
churn-mlp; output name and class_index from their manifests), keyed by the manifest's score.
Each vector is scored alone (batch of 1), as the runtime does.

Output, one compact JSON object:
  {"simulator": {"sessions": 1000, "seed": 2}, "spec": "models/storefront-v1.features.json",
   "columns": [...24 names...],
   "points": [{"id": 0, "at": "decision", "features": [...], "scores": {"purchase": p, ...}},
              {"id": 0, "at": "end", ...}, ...]}
Every number is a float32 value written as the shortest decimal that reads back as the same
float32 (through float64), so the Rust side can compare bit for bit. An empty recency sum is
-0.0, as in Rust.
"""
import argparse
import json
import os
import sys
from collections import OrderedDict

import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.dirname(HERE)
ROOT = os.path.dirname(MODELS)
sys.path.insert(0, HERE)
from features import column_names, extract  # noqa: E402

SHIPPED = ["purchase-lr", "purchase-gbt", "churn-mlp"]
SPEC = "models/storefront-v1.features.json"


def f32(x):
    """The float32 value of x, as a Python float (repr round-trips through float32)."""
    return float(np.float32(x))


class Scorer:
    def __init__(self, models_dir, name):
        with open(os.path.join(models_dir, name + ".json")) as f:
            self.manifest = json.load(f)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self.sess = ort.InferenceSession(os.path.join(models_dir, name + ".onnx"), sess_options=opts,
                                         providers=["CPUExecutionProvider"])
        names = [o.name for o in self.sess.get_outputs()]
        self.index = names.index(self.manifest["output"])
        self.input = self.manifest.get("input") or "features"
        self.class_index = self.manifest["class_index"] or 0
        self.score = self.manifest["score"]

    def __call__(self, x):
        out = self.sess.run(None, {self.input: x.reshape(1, -1).astype(np.float32)})[self.index]
        return f32(np.asarray(out).reshape(-1)[self.class_index])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="JSONL written by `edgewise simulate`")
    ap.add_argument("--out", required=True, help="output JSON file")
    ap.add_argument("--sessions", type=int, default=1000, help="use the first N sessions (1000)")
    ap.add_argument("--seed", type=int, default=2, help="simulator seed of --data, recorded (2)")
    ap.add_argument("--models", default=MODELS, help="directory of the shipped models (models/)")
    ap.add_argument("--capacity", type=int, default=512)
    args = ap.parse_args(argv)

    with open(os.path.join(ROOT, SPEC)) as f:
        spec = json.load(f)
    cols = column_names(spec)
    scorers = [Scorer(args.models, n) for n in SHIPPED]
    for s in scorers:
        if s.manifest["features"] != spec:
            raise SystemExit(f"{s.manifest['name']}: manifest feature spec differs from {SPEC}")

    sessions = []
    with open(args.data) as f:
        for line in f:
            if not line.strip():
                continue
            sessions.append(json.loads(line))
            if len(sessions) == args.sessions:
                break
    if len(sessions) < args.sessions:
        print(f"note: the file has only {len(sessions)} sessions", file=sys.stderr)

    points = []
    for s in sessions:
        k = s["decision_index"]
        at = [("decision", s["events"][:k], s["decision_ms"]),
              ("end", s["events"], s["events"][-1]["ts"] + 1000.0)]
        for label, events, now in at:
            x = extract(spec, events, s["context"], s["start_ms"], now, args.capacity)
            points.append(OrderedDict([
                ("id", s["id"]),
                ("at", label),
                ("features", [float(v) for v in x]),
                ("scores", OrderedDict((sc.score, sc(x)) for sc in scorers)),
            ]))

    doc = OrderedDict([
        ("simulator", OrderedDict([("sessions", len(sessions)), ("seed", args.seed)])),
        ("spec", SPEC),
        ("columns", cols),
        ("points", points),
    ])
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print(f"{len(points)} points from {len(sessions)} sessions -> {args.out}")


if __name__ == "__main__":
    main()
