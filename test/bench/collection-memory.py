"""Measures what a searchbus collection holds per chunk, by component, in a real Qdrant Edge shard.

Builds a collection the way `topology apply` lays it out (384-dim Cosine vectors, the chunk payload
searchbus writes, its three payload indexes), once plain and once with int8 scalar quantization,
runs the engine's optimizers (HNSW graph, quantized copy), and reports the bytes per point of each
part on disk: original vectors, quantized vectors, HNSW links, payload, payload indexes, id
tracker. Run with the Qdrant Edge venv's python (`searchbus setup` creates it):

  ~/.cache/searchbus/qdrant-edge/venv-*/bin/python test/bench/collection-memory.py --points 100000

Vectors are random unit vectors: their bytes do not depend on the values, and HNSW links are
bounded by m whatever the data. The payload text is 1,150 characters, between the median chunk of
the SciFact fixture under all-MiniLM-L6-v2's 256-token window (976) and under e5's and bge's 512
(1,349; test/bench/chunks-per-document.ts).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "infra" / "qdrant-edge"))

import qdrant_edge as qe  # noqa: E402
from qdrant_rest import config as cfg  # noqa: E402

PARTS = [
    ("quantized vectors", ("quantized",)),
    ("HNSW graph", ("vector_index",)),
    ("original vectors", ("vector_storage",)),
    ("payload indexes", ("payload_index", "field_index")),
    ("payload", ("payload_storage",)),
    ("id tracker", ("id_tracker", "mutable_id_tracker", "id_tracker.")),
]


def classify(path: Path) -> str:
    text = str(path)
    for name, markers in PARTS:
        if any(m in text for m in markers):
            return name
    return "other"


def unit_vector(rng: random.Random, dim: int) -> list:
    v = [rng.gauss(0.0, 1.0) for _ in range(dim)]
    norm = math.sqrt(sum(x * x for x in v))
    return [x / norm for x in v]


def build(root: Path, points: int, dim: int, quantized: bool, m: int, ef: int) -> dict:
    body = {
        "vectors": {"size": dim, "distance": "Cosine", "on_disk": quantized},
        "on_disk_payload": True,
        "hnsw_config": {"m": m, "ef_construct": ef},
        # Index from the first point, so the measured collection has its graph (Qdrant: 10,000 KB).
        "optimizers_config": {"indexing_threshold": 1, "default_segment_number": 1},
    }
    if quantized:
        body["quantization_config"] = {"scalar": {"type": "int8", "quantile": 0.99, "always_ram": True}}
    shard = qe.EdgeShard.create(str(root), cfg.edge_config(cfg.parse_create(body)))
    for field, schema in (
        ("doc_id", qe.PayloadSchemaType.Keyword),
        ("tenant", qe.KeywordIndexParams(is_tenant=True)),
        ("chunk", qe.PayloadSchemaType.Integer),
    ):
        shard.update(qe.UpdateOperation.create_field_index(field, schema))
    rng = random.Random(7)
    text = ("Stellar evolution ends in a white dwarf, a neutron star or a black hole. " * 16)[:1150]
    batch = []
    for i in range(points):
        doc = i // 2
        batch.append(
            qe.Point(
                str(uuid.UUID(int=rng.getrandbits(128), version=5)),
                unit_vector(rng, dim),
                {
                    "doc_id": f"doc-{doc}",
                    "chunk": i % 2,
                    "chunks": 2,
                    "title": f"Document {doc}",
                    "text": text,
                    "metadata": {"source": "bench"},
                    "tenant": f"tenant-{doc % 10}",
                    "model": "all-minilm-l6-v2",
                    "ingested_at": "2026-11-29T18:00:00.000Z",
                },
            )
        )
        if len(batch) == 1000:
            shard.update(qe.UpdateOperation.upsert_points(batch))
            batch = []
    if batch:
        shard.update(qe.UpdateOperation.upsert_points(batch))
    started = time.monotonic()
    shard.optimize()
    optimize_s = time.monotonic() - started
    shard.flush()
    shard.close()
    sizes: dict = {}
    for path in root.rglob("*"):
        if path.is_file() and "wal" not in path.parts:
            part = classify(path.relative_to(root))
            sizes[part] = sizes.get(part, 0) + path.stat().st_size
    return {"quantized": quantized, "points": points, "optimize_s": round(optimize_s, 1), "bytes_per_point": {k: round(v / points, 1) for k, v in sorted(sizes.items())}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--m", type=int, default=16)
    parser.add_argument("--ef-construct", type=int, default=100)
    args = parser.parse_args()
    results = []
    for quantized in (False, True):
        with tempfile.TemporaryDirectory(prefix="searchbus-memory-") as tmp:
            results.append(build(Path(tmp) / "shard", args.points, args.dim, quantized, args.m, args.ef_construct))
    print(json.dumps({"load_average": os.getloadavg(), "dim": args.dim, "m": args.m, "results": results}, indent=2))


if __name__ == "__main__":
    main()
