#!/usr/bin/env python3
"""How far below a uniform A/B split can any policy get on the journey simulator?

    .venv-bandit/bin/python benches/sim_ceiling.py [--visitors 50000] [--seed 1]

(`make bench-bandit` runs it.) The simulator's regret is measured against an oracle that knows
each visitor's latent intent. A policy only sees the storefront's features at the decision
point, which reveal the intent partly. This script bounds what the features allow:

1. Full-information ceiling: a gradient-boosted classifier (scikit-learn
   HistGradientBoostingClassifier) and a multinomial logistic regression are trained to predict
   the intent from the features on 50,000 *other* visitors (ids 50,000..99,999 of the same
   seed), with every label shown — far more than a bandit ever learns from. For each evaluated
   visitor the policy then picks the tag with the highest expected response
   Σ_intent P(intent | features) · P(response | intent, tag). Its regret is what a policy that
   already knew the best possible feature-to-intent map would pay.
2. edgewise `best` learning online from its own choices (`edgewise simulate --policy best`),
   seeing the features (the product), and seeing the intent one-hot (`--observe intent`: the
   oracle's information, isolating how well the policy learns).

Everything is measured on visitors 0..N-1 of the seed, tags neutral,urgent,detailed,retention,
the shipped feature spec. Output: one JSON object.
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "models" / "train"))
from features import extract  # noqa: E402  (the Python twin of src/features.rs)

CLI = ROOT / "target" / "release" / "edgewise"
TAGS = ["neutral", "urgent", "detailed", "retention"]
INTENTS = ["browsing", "researching", "ready_to_buy", "bargain_hunting", "about_to_churn"]


def cli(*args):
    done = subprocess.run([str(CLI), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"edgewise {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--visitors", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    n = a.visitors
    spec = json.loads((ROOT / "models" / "storefront-v1.features.json").read_text())
    # The response table, from the simulator itself (src/sim.rs RESPONSES).
    src = (ROOT / "src" / "sim.rs").read_text()
    table = {}
    for tag in TAGS:
        line = next(l for l in src.splitlines() if l.strip().startswith(f'("{tag}", ['))
        table[tag] = [float(v) for v in line.split("[")[1].split("]")[0].split(",")]
    resp = np.array([table[t] for t in TAGS]).T  # intent × tag

    xs, ys = [], []
    for line in cli("simulate", "--sessions", str(2 * n), "--seed", str(a.seed)).splitlines():
        s = json.loads(line)
        k = s["decision_index"]
        xs.append(extract(spec, s["events"][:k], s["context"], s["start_ms"], s["decision_ms"]))
        ys.append(INTENTS.index(s["intent"]))
    x, y = np.array(xs), np.array(ys)
    test, train = slice(0, n), slice(n, 2 * n)
    truth = resp[y[test]]
    best = truth.max(axis=1)
    uniform_regret = float((best - truth.mean(axis=1)).sum())
    out = {"visitors": n, "seed": a.seed, "tags": TAGS, "uniform_regret": uniform_regret}
    for name, clf in [
        ("full_information_gbt", HistGradientBoostingClassifier(max_iter=300, random_state=0)),
        ("full_information_logistic", LogisticRegression(max_iter=3000)),
    ]:
        clf.fit(x[train], y[train])
        proba = clf.predict_proba(x[test])
        pick = (proba @ resp).argmax(axis=1)
        regret = float((best - truth[np.arange(n), pick]).sum())
        out[name] = {"intent_accuracy": float((proba.argmax(axis=1) == y[test]).mean()),
                     "regret": regret, "uniform_over_regret": uniform_regret / regret}
    for observe in ["features", "intent"]:
        r = json.loads(cli("simulate", "--policy", "best", "--sessions", str(n), "--seed",
                           str(a.seed), "--observe", observe))
        assert abs(r["uniform_regret_vs_oracle"] - uniform_regret) < 1e-6 * uniform_regret, r
        out[f"edgewise_best_observing_{observe}"] = {
            "regret": r["regret_vs_oracle"],
            "uniform_over_regret": r["uniform_regret_over_policy_regret"]}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
