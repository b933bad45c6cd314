"""Feature extraction for edgewise feature specs, mirroring `src/features.rs` exactly.

A feature spec (e.g. models/storefront-v1.features.json) turns a session's events, the host
context and the clock into the model's float32 input vector. This module is the training-side
twin of `FeatureSpec::extract_into` in src/features.rs; tests/fixtures/parity/python.json
(written by parity.py) lets the Rust tests check that both give the same vectors.

Conventions (the same as the Rust code):

* All arithmetic is in float64; each column is rounded to float32 once, at the very end.
* The *window* is the last `capacity` events (default 512, the runtime's
  `session.capacity`), in received order. Every feature looks only at the window.
* `now_ms` is the decision time and `start_ms` the session start, both in ms since the epoch.
* `transform` (default "none") is applied last, to every column of the feature:
  log1p(x) = ln(1 + max(x, 0)).
* `stat` over a list of values: count = n, sum, mean = sum / n, min, max, last = the most
  recently received value. Over no values every stat is 0. Sums accumulate left to right
  in received order (no compensated summation).

Kinds (one column unless stated):

| kind            | value                                                                      |
|-----------------|----------------------------------------------------------------------------|
| count           | number of window events of kind `event`                                    |
| recency_count   | sum over window events of kind `event`, in received order, of             |
|                 | 0.5 ** (max(0, now - ts) / 1000 / half_life_s)  (no events: -0.0, as Rust's |
|                 | empty f64 sum)                                                              |
| dwell           | `stat` over the `value` of dwell events (seconds)                          |
| scroll          | `stat` over the `value` of scroll events (depth 0..1)                      |
| price           | `stat` over the `price` of window events whose kind is in `events` and     |
|                 | that carry a price                                                         |
| custom          | `stat` over the `value` of custom events whose `name` equals `custom`      |
| category        | len(vocabulary) columns. Over window events whose kind is in `events` and  |
|                 | that carry a category: count = events in that entry's category;            |
|                 | share = count / events carrying any category (also those outside the     |
|                 | vocabulary; 0 when there are none); top1 = 1 for the entry with the        |
|                 | largest non-zero count (ties: the earlier entry; all 0 when all counts 0)  |
| session_age     | max(0, now - start_ms) / 1000 (seconds)                                    |
| context_one_hot | len(values) columns: 1 where the context's *string* value for `key` equals |
|                 | the entry, else 0 (all 0 when missing, not a string, or not listed); no    |
|                 | transform                                                                  |
| context_number  | the context's *numeric* value for `key`, else `missing`                    |

Column names: the feature name, or `name[entry]` for category / context_one_hot columns.

Events are dicts in the runtime's wire format ({"kind": ..., "ts": ..., "category": ...,
"price": ..., "value": ..., "name": ...}); they are assumed to be events the runtime would have
accepted (validation, e.g. of value ranges, is the session's job, not the feature spec's).
Unknown feature kinds, stats, modes or transforms raise ValueError.
"""
import math

import numpy as np

__all__ = ["extract", "column_names", "width", "KINDS"]

KINDS = (
    "count",
    "recency_count",
    "dwell",
    "scroll",
    "price",
    "custom",
    "category",
    "session_age",
    "context_one_hot",
    "context_number",
)
STATS = ("count", "sum", "mean", "min", "max", "last")
MODES = ("count", "share", "top1")
TRANSFORMS = ("none", "log1p")


def _kind(f):
    k = f.get("kind")
    if k not in KINDS:
        raise ValueError(f"feature {f.get('name')!r}: unknown kind {k!r}")
    return k


def column_names(spec):
    """The spec's column names, in vector order."""
    out = []
    for f in spec["features"]:
        k = _kind(f)
        if k == "category":
            out += [f"{f['name']}[{v}]" for v in f["vocabulary"]]
        elif k == "context_one_hot":
            out += [f"{f['name']}[{v}]" for v in f["values"]]
        else:
            out.append(f["name"])
    return out


def width(spec):
    """Length of the vector the spec produces."""
    return len(column_names(spec))


def _log1p(x):
    # Rust: x.max(0.0).ln_1p(); f64::max(-0.0, 0.0) is +0.0 there, so map every x <= 0 to +0.0.
    return math.log1p(x if x > 0.0 else 0.0)


def _stat(stat, values):
    """Rust `stat_of`: one pass, sum from 0.0 left to right; 0 over no values."""
    if stat not in STATS:
        raise ValueError(f"unknown stat {stat!r}")
    n = 0
    total = 0.0
    lo = math.inf
    hi = -math.inf
    last = 0.0
    for v in values:
        v = float(v)
        n += 1
        total += v
        lo = min(lo, v)
        hi = max(hi, v)
        last = v
    if n == 0:
        return 0.0
    if stat == "count":
        return float(n)
    if stat == "sum":
        return total
    if stat == "mean":
        return total / float(n)
    if stat == "min":
        return lo
    if stat == "max":
        return hi
    return last


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def extract(spec, events, context, start_ms, now_ms, capacity=512):
    """The spec's feature vector (numpy float32, shape [width]) for a session.

    spec: the parsed spec object ({"version": 1, "features": [...]}).
    events: the session's events in received order (dicts in the wire format); only the last
        `capacity` of them (the window) are used.
    context: the host context dict (string or number values), or None.
    start_ms: the session start; now_ms: the decision time (ms since the epoch).
    """
    if spec.get("version") != 1:
        raise ValueError(f"spec version {spec.get('version')!r} is not supported (expected 1)")
    capacity = int(capacity)
    if capacity < 1:
        raise ValueError("capacity must be at least 1")
    window = list(events)[-capacity:]
    context = context or {}
    now_ms = float(now_ms)
    start_ms = float(start_ms)
    out = []

    for f in spec["features"]:
        k = _kind(f)
        t = f.get("transform", "none")
        if t not in TRANSFORMS:
            raise ValueError(f"feature {f.get('name')!r}: unknown transform {t!r}")
        if k == "context_one_hot":
            t = "none"  # the Rust ContextOneHot has no transform

        def emit(x, t=t):
            x = float(x)
            if t == "log1p":
                x = _log1p(x)
            out.append(x)

        def of_kind(kind):
            return (e for e in window if e["kind"] == kind)

        if k == "count":
            emit(float(sum(1 for _ in of_kind(f["event"]))))
        elif k == "recency_count":
            hl = float(f["half_life_s"])
            acc = -0.0  # Rust's f64 Sum starts from -0.0 (an empty sum is -0.0)
            for e in of_kind(f["event"]):
                age = now_ms - float(e["ts"])
                if not age > 0.0:
                    age = 0.0
                acc += 0.5 ** (age / 1000.0 / hl)
            emit(acc)
        elif k in ("dwell", "scroll"):
            emit(_stat(f["stat"], (e["value"] for e in of_kind(k) if e.get("value") is not None)))
        elif k == "price":
            kinds = set(f["events"])
            emit(_stat(f["stat"], (e["price"] for e in window
                                   if e["kind"] in kinds and e.get("price") is not None)))
        elif k == "custom":
            name = f["custom"]
            emit(_stat(f["stat"], (e["value"] for e in of_kind("custom")
                                   if e.get("name") == name and e.get("value") is not None)))
        elif k == "category":
            mode = f["mode"]
            if mode not in MODES:
                raise ValueError(f"feature {f.get('name')!r}: unknown category mode {mode!r}")
            vocab = list(f["vocabulary"])
            kinds = set(f["events"])
            counts = [0] * len(vocab)
            total = 0
            for e in window:
                if e["kind"] in kinds and e.get("category") is not None:
                    total += 1
                    c = e["category"]
                    for i, v in enumerate(vocab):
                        if v == c:
                            counts[i] += 1
            if mode == "count":
                for n in counts:
                    emit(float(n))
            elif mode == "share":
                for n in counts:
                    emit(0.0 if total == 0 else float(n) / float(total))
            else:
                best = None
                for i, n in enumerate(counts):
                    if n > 0 and (best is None or n > counts[best]):
                        best = i
                for i in range(len(counts)):
                    emit(1.0 if best == i else 0.0)
        elif k == "session_age":
            age = (now_ms - start_ms) / 1000.0
            emit(age if age > 0.0 else 0.0)
        elif k == "context_one_hot":
            v = context.get(f["key"])
            v = v if isinstance(v, str) else None
            for val in f["values"]:
                emit(1.0 if v == val else 0.0)
        elif k == "context_number":
            v = context.get(f["key"])
            emit(float(v) if _is_number(v) else float(f["missing"]))

    return np.array(out, dtype=np.float64).astype(np.float32)
