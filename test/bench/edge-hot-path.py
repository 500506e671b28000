"""The Qdrant Edge server's hot path, before and after, side by side in one run.

What an encoder's upsert (default: 120 points of 384 floats with SciFact-sized payloads, one
indexDocuments group) and a query reply (30 scored hits with payload) cost in the server's own
Python: JSON parse, vector validation, building the engine's points, and the reply's JSON. The
"before" functions are the server's previous code, kept here as the baseline; the "after" ones are
the server's current functions, imported from infra/qdrant-edge. Also measured: a numpy path
(one array for all vectors), which the engine's list-based API makes slower, so it is not used.

Run with the Edge venv's Python (it has qdrant-edge-py and orjson; numpy is optional):
    <cache>/qdrant-edge/venv-*/bin/python test/bench/edge-hot-path.py [--points 120] [--json PATH]
`npm run bench` runs it through infra's venv.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "infra" / "qdrant-edge"))

import qdrant_edge as qe  # noqa: E402
from qdrant_rest import routing, schema  # noqa: E402

try:
    import numpy as np  # noqa: E402
except ImportError:  # the Edge venv does not pin numpy: the comparison is skipped without it
    np = None

_NUMBERS = {int, float}


def before_parse(body: bytes):
    return json.loads(body.decode("utf-8"), parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))


def before_vector(items: list) -> list:
    if not set(map(type, items)) <= _NUMBERS:
        raise ValueError("type")
    out = list(map(float, items))
    if not all(map(math.isfinite, out)):
        raise ValueError("range")
    return out


def before_dumps(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")


def numpy_vectors(vectors: list) -> list:
    for v in vectors:
        if not set(map(type, v)) <= _NUMBERS:
            raise ValueError("type")
    block = np.array(vectors, dtype=np.float64)
    if block.ndim != 2 or not np.isfinite(block).all():
        raise ValueError("range")
    return block.tolist()


def timed(fn, repeat: int) -> float:
    """Median milliseconds of `repeat` calls (the median resists the shared machine's noise)."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return samples[len(samples) // 2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=120)
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--json")
    args = parser.parse_args()
    rng = random.Random(7)
    points = [
        {
            "id": f"00000000-0000-0000-0000-{i:012d}",
            # float32 values written the way JSON.stringify writes them (what the encoder sends).
            "vector": [float(f"{rng.uniform(-0.2, 0.2):.17g}") for _ in range(args.dims)],
            "payload": {"doc_id": str(i), "chunk": 0, "chunks": 1, "title": "t" * 90, "text": "word " * 220,
                        "metadata": {}, "tenant": "default", "model": "all-minilm-l6-v2", "ingested_at": "2026-11-29T18:00:00.000Z"},
        }
        for i in range(args.points)
    ]
    body = json.dumps({"wait": True, "points": points}).encode("utf-8")
    hits = {"result": {"points": [{"id": p["id"], "version": 3, "score": 0.5 - i / 100, "payload": p["payload"]} for i, p in enumerate(points[:30])]}, "status": "ok", "time": 0.001}
    parsed = routing.orjson.loads(body)
    vectors = [p["vector"] for p in parsed["points"]]
    ids = list(range(len(vectors)))

    rows = {}

    def pair(name: str, before, after, repeat: int = args.repeat) -> None:
        # Alternating calls, so a burst of load from the other processes hits both sides alike.
        bs, as_ = [], []
        for _ in range(repeat):
            bs.append(timed(before, 1))
            as_.append(timed(after, 1))
        b, a = sorted(bs)[len(bs) // 2], sorted(as_)[len(as_) // 2]
        rows[name] = {"before_ms": b, "after_ms": a, "speedup": b / a if a > 0 else None}

    pair("parse upsert body", lambda: before_parse(body), lambda: routing.orjson.loads(body))
    pair("validate vectors", lambda: [before_vector(v) for v in vectors], lambda: [schema.dense_vector(v, "vector") for v in vectors])
    pair("engine points from lists", lambda: [qe.Point(i, before_vector(v), None) for i, v in zip(ids, vectors)],
         lambda: [qe.Point(i, schema.dense_vector(v, "vector"), None) for i, v in zip(ids, vectors)])
    pair("query reply JSON (30 hits)", lambda: before_dumps(hits), lambda: routing.dumps(hits), repeat=args.repeat * 20)
    total_before = sum(rows[k]["before_ms"] for k in ("parse upsert body", "engine points from lists"))
    total_after = sum(rows[k]["after_ms"] for k in ("parse upsert body", "engine points from lists"))
    rows["upsert request, server side before the engine"] = {"before_ms": total_before, "after_ms": total_after, "speedup": total_before / total_after}
    numpy_rows = None
    if np is not None:
        block = np.array(vectors, dtype=np.float32)
        numpy_rows = {
            "validate vectors as one numpy array + tolist": timed(lambda: numpy_vectors(vectors), args.repeat),
            "validate vectors, current (per list)": timed(lambda: [schema.dense_vector(v, "vector") for v in vectors], args.repeat),
            "engine points from numpy rows": timed(lambda: [qe.Point(i, row, None) for i, row in zip(ids, block)], args.repeat),
            "engine points from lists": timed(lambda: [qe.Point(i, v, None) for i, v in zip(ids, vectors)], args.repeat),
        }
    result = {"points": args.points, "dims": args.dims, "body_bytes": len(body), "rows": rows, "numpy": numpy_rows,
              "load_average": list(os.getloadavg())}
    print(f"Edge server hot path, {args.points} points x {args.dims} floats ({len(body) / 1e6:.2f} MB body), median of {args.repeat}; load {os.getloadavg()[0]:.1f}")
    for name, row in rows.items():
        print(f"  {name:<48} before {row['before_ms']:8.3f} ms   after {row['after_ms']:8.3f} ms   {row['speedup']:6.1f}x")
    if numpy_rows:
        for name, ms in numpy_rows.items():
            print(f"  numpy check: {name:<46} {ms:8.3f} ms")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
