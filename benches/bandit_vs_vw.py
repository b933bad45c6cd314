#!/usr/bin/env python3
"""edgewise's contextual bandits side by side with Vowpal Wabbit, on the same data and protocol.

Run it with `make bench-bandit` (creates .venv-bandit from benches/requirements-bandit.txt,
builds the release CLI, runs this script), or directly:

    .venv-bandit/bin/python benches/bandit_vs_vw.py [--datasets wine,digits] [--seeds 1,2,3]

Protocol: the supervised-to-bandit conversion of Bietti, Agarwal & Langford, "A Contextual
Bandit Bake-off", JMLR 22(133), 2021. Each CSV in ../shared/data/bakeoff/ has the header
`f0,...,f{d-1},label` with integer labels 0..K-1 (features standardized, rows shuffled once;
see that folder's README.md). The rows are streamed once, in file order. At each row the
learner sees the features, draws one of the K actions from its own distribution, receives
reward 1 if the action equals the label and 0 otherwise (for the chosen action only), and
learns from that. The score is the progressive average reward over all rows. Every learner
is run with seeds 1, 2, 3; the tables give mean ± std over the seeds (sample std, ddof=1, as
in the data README).

Learners
--------
edgewise (this crate): `target/release/edgewise bakeoff --data FILE --policy NAME --seed N`
    for NAME in best, squarecb, epsilon, linucb, lints, thompson, uniform. The CLI prints one
    JSON object {"n", "progressive_reward", "seconds", "rows_per_s", ...}; its rows_per_s is
    measured inside the native binary (process start-up and CSV loading excluded, as the CLI
    reports it). If the binary is missing it is built with
    `cargo build --release --bin edgewise`; if it fails (for instance "unknown command"), a
    message says so and the VW rows are still reported.

Vowpal Wabbit 9.x through its Python API (`vowpalwabbit.Workspace`), run here, in this run:
    * Example format (as in the data README): a shared line with every feature in namespace s
      and one action line per class with the single feature `a=k` in namespace a:
          shared |s f0:<x0> f1:<x1> ... f{d-1}:<x{d-1}>
          |a a=0
          ...
          |a a=K-1
      The feature values are the CSV's own text, so VW sees exactly the numbers in the file.
    * Contextual-bandit configs, each with the cost variants c = -r and c = 1 - r:
          --cb_explore_adf --epsilon 0.05 -q sa --quiet --random_seed SEED
          --cb_explore_adf --squarecb     -q sa --quiet --random_seed SEED   (gamma_scale 10)
          --cb_explore_adf --cover 4      -q sa --quiet --random_seed SEED
      Per row: `predict` on the unlabeled multi-line example gives the PMF over the K actions
      (in action order); the action is sampled from it with numpy's `default_rng(SEED)`: one
      `rng.random()` draw, inverse CDF (the same draw as `rng.choice(K, p=pmf)`, which
      reproduces the data README's rewards); then `learn` on the same lines with
      the label `k:cost:probability` on the chosen action's line (k = chosen action,
      probability = its PMF value).
    * Uniform baseline: no model; the action is drawn from the uniform PMF by the same sampler
      and seeded RNG as above (one `rng.random()` per row).
    * Supervised upper bound (sees every label): `--oaa K --loss_function logistic --quiet
      --random_seed SEED` on `<label+1> |s f0:<x0> ...`; per row `predict` on the unlabeled
      line then `learn` with the true label; the score is the progressive accuracy.
    VW rows/s is time.perf_counter around the predict/learn loop only, *including* building
    the example strings from the row's values (the VW figures in the data README are measured
    the same way); VW start-up and CSV loading are excluded.

edgewise in wasm (Node): `node benches/wasm/bakeoff.mjs --data FILE --policy best --seed N`, the
    same Rust loop compiled with the shipped profile into the non-shipped `bench` variant
    (pkg/bench/node, built here with `node scripts/build.mjs --variants bench` if missing).
    Two rates: `cold` = the first pass in a fresh Node process (V8 compiles wasm lazily and
    tiers up, so a small file runs partly unoptimized), `warm` = median of 5 further passes.

Unseen datasets (`--unseen`, on by default): the two bake-off files were never used to choose
anything, but to check the recommended policy on data no one looked at, five more are made here
with scikit-learn in the same format (features standardized, rows shuffled once with seed 7):
iris (150 × 4, K=3) and breast_cancer (569 × 30, K=2), bundled with scikit-learn; and
`make_classification` / `make_moons` sets with fixed seeds: synth-5 (3000 × 20, K=5),
synth-8 (5000 × 40, K=8, 2 clusters per class, 5% label noise) and moons (2000 × 2, K=2,
not linearly separable). They are written to target/bakeoff-unseen/.

Output: a markdown table on stdout (dataset, learner, progressive reward mean ± std, rows/s
mean), then per dataset the ratio of edgewise `best` rows/s to the best VW config's rows/s
(the VW contextual-bandit config with the highest mean reward) and whether edgewise `best`'s
mean reward is at least that config's mean minus its std ("within seed-to-seed spread").
The same data, with the per-seed values, goes to target/bandit_vs_vw.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import vowpalwabbit

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT.parent / "shared" / "data" / "bakeoff"
CLI = ROOT / "target" / "release" / "edgewise"
OUT = ROOT / "target" / "bandit_vs_vw.json"

OUR_POLICIES = ["best", "squarecb", "epsilon", "linucb", "lints", "thompson", "uniform"]
WASM_BENCH = ROOT / "benches" / "wasm" / "bakeoff.mjs"
WASM_PKG = ROOT / "pkg" / "bench" / "node" / "edgewise.js"
UNSEEN_DIR = ROOT / "target" / "bakeoff-unseen"

# (config id, label, VW exploration arguments); each runs with both cost variants.
VW_CB_CONFIGS = [
    ("epsilon", "epsilon 0.05", "--cb_explore_adf --epsilon 0.05"),
    ("squarecb", "squarecb g10", "--cb_explore_adf --squarecb"),
    ("cover", "cover 4", "--cb_explore_adf --cover 4"),
]
# cost variant id -> cost as a function of the reward r in {0, 1}
COSTS = {"c=-r": lambda r: -r, "c=1-r": lambda r: 1 - r}


# ---------------------------------------------------------------------------------------------
# data


def load_csv(path: Path):
    """Returns (rows of feature strings, labels, K). Feature strings are kept as written."""
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    if header[-1] != "label" or header[:-1] != [f"f{j}" for j in range(len(header) - 1)]:
        raise SystemExit(f"{path}: header is not f0,...,f{{d-1}},label")
    feats, labels = [], []
    for line in lines[1:]:
        if not line.strip():
            continue
        cells = line.split(",")
        feats.append(cells[:-1])
        labels.append(int(cells[-1]))
    k = max(labels) + 1
    if sorted(set(labels)) != list(range(k)):
        raise SystemExit(f"{path}: labels are not 0..K-1")
    return feats, labels, k


def write_unseen():
    """Five datasets nobody tuned on, in the bake-off format; returns their paths."""
    from sklearn import datasets as skd

    def save(name, x, y):
        x = np.asarray(x, dtype=float)
        y = np.asarray(y)
        _, y = np.unique(y, return_inverse=True)
        std = x.std(axis=0)
        x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
        order = np.random.default_rng(7).permutation(len(y))
        x, y = x[order], y[order]
        UNSEEN_DIR.mkdir(parents=True, exist_ok=True)
        path = UNSEEN_DIR / f"{name}.csv"
        with path.open("w") as f:
            f.write(",".join([f"f{j}" for j in range(x.shape[1])] + ["label"]) + "\n")
            for row, label in zip(x, y):
                f.write(",".join(f"{v:.6g}" for v in row) + f",{label}\n")
        return path

    out = []
    d = skd.load_iris()
    out.append(save("iris", d.data, d.target))
    d = skd.load_breast_cancer()
    out.append(save("breast_cancer", d.data, d.target))
    x, y = skd.make_classification(n_samples=3000, n_features=20, n_informative=10, n_classes=5,
                                   n_clusters_per_class=1, random_state=11)
    out.append(save("synth-5", x, y))
    x, y = skd.make_classification(n_samples=5000, n_features=40, n_informative=8, n_classes=8,
                                   n_clusters_per_class=2, flip_y=0.05, random_state=12)
    out.append(save("synth-8", x, y))
    x, y = skd.make_moons(n_samples=2000, noise=0.2, random_state=13)
    out.append(save("moons", x, y))
    return out


# ---------------------------------------------------------------------------------------------
# Vowpal Wabbit


def sample(pmf, u):
    """Inverse-CDF draw from pmf with the uniform u in [0, 1)."""
    acc = 0.0
    last = 0
    for k, p in enumerate(pmf):
        if p > 0.0:
            last = k
            acc += p
            if u < acc:
                return k
    return last  # u beyond a pmf summing to slightly less than 1


def run_vw_cb(feats, labels, k, explore_args, cost_of, seed):
    vw = vowpalwabbit.Workspace(f"{explore_args} -q sa --quiet --random_seed {seed}")
    rng = np.random.default_rng(seed)
    actions = [f"|a a={a}" for a in range(k)]
    total = 0.0
    t0 = time.perf_counter()
    for x, y in zip(feats, labels):
        shared = "shared |s " + " ".join([f"f{j}:{v}" for j, v in enumerate(x)])
        pmf = vw.predict([shared] + actions)
        a = sample(pmf, rng.random())
        r = 1 if a == y else 0
        total += r
        labeled = list(actions)
        labeled[a] = f"{a}:{cost_of(r)}:{pmf[a]} |a a={a}"
        vw.learn([shared] + labeled)
    seconds = time.perf_counter() - t0
    vw.finish()
    return total / len(labels), len(labels) / seconds


def run_vw_oracle(feats, labels, k, seed):
    vw = vowpalwabbit.Workspace(f"--oaa {k} --loss_function logistic --quiet --random_seed {seed}")
    correct = 0
    t0 = time.perf_counter()
    for x, y in zip(feats, labels):
        body = "|s " + " ".join([f"f{j}:{v}" for j, v in enumerate(x)])
        pred = vw.predict(body)  # 1..K
        correct += int(pred) - 1 == y
        vw.learn(f"{y + 1} {body}")
    seconds = time.perf_counter() - t0
    vw.finish()
    return correct / len(labels), len(labels) / seconds


def run_uniform(labels, k, seed):
    rng = np.random.default_rng(seed)
    pmf = [1.0 / k] * k
    total = 0
    t0 = time.perf_counter()
    for y in labels:
        total += sample(pmf, rng.random()) == y
    seconds = time.perf_counter() - t0
    return total / len(labels), len(labels) / seconds


# ---------------------------------------------------------------------------------------------
# edgewise


class OursUnavailable(Exception):
    pass


def ensure_built(path: Path, cmd: list, what: str):
    """`path`, built with `cmd` if missing. Raises OursUnavailable if it cannot be had."""
    if path.exists():
        return
    print(f"{path} missing: {' '.join(cmd)}", file=sys.stderr)
    try:
        done = subprocess.run(cmd, cwd=ROOT)
    except FileNotFoundError:
        raise OursUnavailable(f"{cmd[0]} not found, cannot build {what}")
    if done.returncode != 0 or not path.exists():
        raise OursUnavailable(f"`{' '.join(cmd)}` failed (exit {done.returncode})")


def ensure_cli():
    ensure_built(CLI, ["cargo", "build", "--release", "--bin", "edgewise"], "the edgewise CLI")


def ensure_wasm():
    ensure_built(WASM_PKG, ["node", "scripts/build.mjs", "--variants", "bench"],
                 "the wasm bench package")


def run_ours(data: Path, policy: str, seed: int, wasm: bool = False):
    if wasm:
        cmd = ["node", str(WASM_BENCH), "--data", str(data), "--policy", policy, "--seed", str(seed)]
    else:
        cmd = [str(CLI), "bakeoff", "--data", str(data), "--policy", policy, "--seed", str(seed)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        err = (done.stderr.strip() or done.stdout.strip()).splitlines()
        first = err[0] if err else "(no output)"
        raise RuntimeError(f"`{' '.join(cmd[1:])}` exited {done.returncode}: {first}")
    try:
        result = json.loads(done.stdout)
    except json.JSONDecodeError:
        # tolerate other lines around the JSON object: take the last line that parses
        result = None
        for line in reversed(done.stdout.strip().splitlines()):
            try:
                result = json.loads(line)
                break
            except json.JSONDecodeError:
                continue
        if not isinstance(result, dict):
            raise RuntimeError(f"`{' '.join(cmd[1:])}` printed no JSON object on stdout")
    for key in ("progressive_reward", "rows_per_s"):
        if key not in result:
            raise RuntimeError(f"`{' '.join(cmd[1:])}` printed JSON without {key!r}")
    return result


# ---------------------------------------------------------------------------------------------
# reporting


def summarize(rewards, rates):
    return {
        "progressive_reward": rewards,
        "reward_mean": statistics.fmean(rewards),
        "reward_std": statistics.stdev(rewards) if len(rewards) > 1 else 0.0,  # sample std
        "rows_per_s": rates,
        "rows_per_s_mean": statistics.fmean(rates),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", default="wine,digits", help="comma-separated CSV stems")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--data-dir", type=Path, default=DATA_DIR)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--skip-ours", action="store_true", help="only the VW / baseline rows")
    ap.add_argument("--no-unseen", action="store_true", help="skip the five generated datasets")
    ap.add_argument("--no-wasm", action="store_true", help="skip the wasm (Node) rows")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    datasets = [args.data_dir / f"{d}.csv" for d in args.datasets.split(",") if d]
    unseen = [] if args.no_unseen else write_unseen()
    datasets += unseen

    problems = []  # messages about our side, repeated at the end
    ours_ok = not args.skip_ours
    if ours_ok:
        try:
            ensure_cli()
        except OursUnavailable as e:
            problems.append(f"edgewise rows skipped: {e}")
            ours_ok = False
    wasm_ok = ours_ok and not args.no_wasm
    if wasm_ok:
        try:
            ensure_wasm()
        except OursUnavailable as e:
            problems.append(f"edgewise wasm rows skipped: {e}")
            wasm_ok = False

    rows = []  # one per (dataset, learner)
    comparisons = []
    for path in datasets:
        name = path.stem + (" (unseen)" if path in unseen else "")
        feats, labels, k = load_csv(path)
        n, d = len(labels), len(feats[0])
        ds = f"{name} (n={n}, K={k})"
        print(f"[{name}] n={n} d={d} K={k}", file=sys.stderr)

        def add(side, learner, config, rewards, rates, extra=None):
            row = {"dataset": name, "n": n, "d": d, "k": k, "side": side, "learner": learner,
                   "config": config, "seeds": seeds, **summarize(rewards, rates)}
            if extra:
                row["per_seed_output"] = extra
            rows.append(row)
            print(f"  {learner:<42} {row['reward_mean']:.3f} ± {row['reward_std']:.3f}"
                  f"  {row['rows_per_s_mean']:>10.0f} rows/s", file=sys.stderr)
            return row

        # edgewise
        ours = {}
        if ours_ok:
            for policy in OUR_POLICIES:
                outs = []
                try:
                    for seed in seeds:
                        outs.append(run_ours(path, policy, seed))
                except RuntimeError as e:
                    msg = str(e)
                    if "unknown command" in msg or "unrecognized subcommand" in msg:
                        problems.append(f"edgewise CLI has no `bakeoff` subcommand ({msg}); edgewise "
                                        "rows skipped, VW rows still reported (a stale binary? "
                                        "`cargo build --release --bin edgewise` rebuilds it)")
                        ours_ok = False
                        break
                    problems.append(f"{name}/{policy}: {msg}")
                    continue
                for o in outs:
                    if "n" in o and o["n"] != n:
                        problems.append(f"{name}/{policy}: CLI reports n={o['n']}, file has {n} rows")
                ours[policy] = add("edgewise", f"edgewise {policy}", policy,
                                   [float(o["progressive_reward"]) for o in outs],
                                   [float(o["rows_per_s"]) for o in outs], extra=outs)
        if wasm_ok:
            try:
                outs = [run_ours(path, "best", seed, wasm=True) for seed in seeds]
                rw = [float(o["progressive_reward"]) for o in outs]
                if "best" in ours and rw != ours["best"]["progressive_reward"]:
                    problems.append(f"{name}: wasm and native `best` disagree: {rw} vs "
                                    f"{ours['best']['progressive_reward']}")
                ours["best-wasm"] = add("edgewise-wasm", "edgewise best, wasm in Node (warm)", "best",
                                        rw, [float(o["rows_per_s"]) for o in outs], extra=outs)
                ours["best-wasm-cold"] = add("edgewise-wasm", "edgewise best, wasm in Node (cold)",
                                             "best", rw, [float(o["cold_rows_per_s"]) for o in outs])
            except RuntimeError as e:
                problems.append(f"{name}/best (wasm): {e}")

        # baselines and VW
        res = [run_uniform(labels, k, s) for s in seeds]
        add("baseline", "uniform random (numpy)", "uniform", [r for r, _ in res], [t for _, t in res])
        vw_cb = []
        for cid, label, explore in VW_CB_CONFIGS:
            for cost_name, cost_of in COSTS.items():
                res = [run_vw_cb(feats, labels, k, explore, cost_of, s) for s in seeds]
                vw_cb.append(add("vw", f"VW {label} ({cost_name})",
                                 f"{explore} -q sa, {cost_name}",
                                 [r for r, _ in res], [t for _, t in res]))
        res = [run_vw_oracle(feats, labels, k, s) for s in seeds]
        add("vw", "VW oaa logistic (supervised, upper bound)",
            f"--oaa {k} --loss_function logistic", [r for r, _ in res], [t for _, t in res])

        best_vw = max(vw_cb, key=lambda r: r["reward_mean"])
        cmp = {"dataset": name, "vw_best": best_vw["learner"],
               "vw_best_reward_mean": best_vw["reward_mean"],
               "vw_best_reward_std": best_vw["reward_std"],
               "vw_best_rows_per_s": best_vw["rows_per_s_mean"]}
        if "best" in ours:
            b = ours["best"]
            cmp.update({
                "edgewise_best_reward_mean": b["reward_mean"],
                "edgewise_best_reward_std": b["reward_std"],
                "edgewise_best_rows_per_s": b["rows_per_s_mean"],
                "rows_per_s_ratio": b["rows_per_s_mean"] / best_vw["rows_per_s_mean"],
                **({"wasm_warm_rows_per_s_ratio": ours["best-wasm"]["rows_per_s_mean"] / best_vw["rows_per_s_mean"],
                    "wasm_cold_rows_per_s_ratio": ours["best-wasm-cold"]["rows_per_s_mean"] / best_vw["rows_per_s_mean"]}
                   if "best-wasm" in ours else {}),
                "within_seed_spread": b["reward_mean"] >= best_vw["reward_mean"] - best_vw["reward_std"],
            })
        comparisons.append(cmp)

    # markdown table
    print(f"Contextual-bandit bake-off (Bietti et al. 2021 protocol), seeds {args.seeds}; "
          f"Vowpal Wabbit {vowpalwabbit.__version__} via its Python API, run here.\n")
    print("| dataset | learner | progressive reward (mean ± std) | rows/s (mean) |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['dataset']} (n={r['n']}, K={r['k']}) | {r['learner']} "
              f"| {r['reward_mean']:.3f} ± {r['reward_std']:.3f} | {r['rows_per_s_mean']:.0f} |")
    print()
    for c in comparisons:
        head = (f"{c['dataset']}: best VW config = {c['vw_best']} "
                f"({c['vw_best_reward_mean']:.3f} ± {c['vw_best_reward_std']:.3f}, "
                f"{c['vw_best_rows_per_s']:.0f} rows/s)")
        if "rows_per_s_ratio" in c:
            verdict = "yes" if c["within_seed_spread"] else "no"
            print(f"- {head}; edgewise best {c['edgewise_best_reward_mean']:.3f} ± "
                  f"{c['edgewise_best_reward_std']:.3f} at {c['edgewise_best_rows_per_s']:.0f} rows/s: "
                  f"{c['rows_per_s_ratio']:.1f}x VW's rows/s natively"
                  + (f", {c['wasm_warm_rows_per_s_ratio']:.1f}x warm / {c['wasm_cold_rows_per_s_ratio']:.1f}x cold in wasm"
                     if "wasm_warm_rows_per_s_ratio" in c else "")
                  + "; reward ≥ VW mean − std "
                  f"(within seed-to-seed spread): {verdict}")
        else:
            print(f"- {head}; no edgewise `best` result to compare")
    if problems:
        print()
        for p in problems:
            print(f"**note**: {p}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "protocol": "Bietti, Agarwal & Langford, JMLR 2021: one pass in file order, reward 1 iff "
                    "action == label for the chosen action only, progressive average reward",
        "seeds": seeds,
        "std": "sample (ddof=1) over seeds",
        "vowpalwabbit": vowpalwabbit.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "rows": rows,
        "comparisons": comparisons,
        "problems": problems,
    }, indent=2) + "\n")
    print(f"\nwrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
