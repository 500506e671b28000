"""Collection configuration: Qdrant's CreateCollection/UpdateCollection in, Qdrant's
CollectionConfig out, and the qdrant_edge.EdgeConfig that realises it.

The stored form is the Qdrant-shaped `config` object that `GET /collections/{name}` shows, so
what a client reads back is what it asked for, with Qdrant 1.19's defaults filled in.
"""

from __future__ import annotations

import copy
from typing import Any, Optional

import qdrant_edge as qe

from . import errors
from .schema import (
    describe,
    expect_bool,
    expect_number,
    expect_object,
    expect_str,
    expect_uint,
    get,
    join_path,
    require,
)

MAX_VECTOR_SIZE = 65536

DISTANCES = {
    "Cosine": qe.Distance.Cosine,
    "Euclid": qe.Distance.Euclid,
    "Dot": qe.Distance.Dot,
    "Manhattan": qe.Distance.Manhattan,
}
DATATYPES = {
    "float32": qe.VectorStorageDatatype.Float32,
    "float16": qe.VectorStorageDatatype.Float16,
    "uint8": qe.VectorStorageDatatype.Uint8,
}
MEMORY = {"cold": qe.Memory.Cold, "cached": qe.Memory.Cached, "pinned": qe.Memory.Pinned}

# Qdrant 1.19's defaults (config/config.yaml and the serde defaults).
DEFAULT_HNSW = {"m": 16, "ef_construct": 100, "full_scan_threshold": 10000, "max_indexing_threads": 0, "on_disk": False}
DEFAULT_OPTIMIZERS = {
    "deleted_threshold": 0.2,
    "vacuum_min_vector_number": 1000,
    "default_segment_number": 0,
    "max_segment_size": None,
    "memmap_threshold": None,
    "indexing_threshold": 10000,
    "flush_interval_sec": 5,
    "max_optimization_threads": None,
    "prevent_unoptimized": None,
}
DEFAULT_WAL = {"wal_capacity_mb": 32, "wal_segments_ahead": 0, "wal_retain_closed": 1}


def _enum(value: Any, path: str, allowed: dict) -> str:
    if not isinstance(value, str):
        raise errors.format_error(f"invalid type: {describe(value)}, expected a string at `{path}`")
    if value not in allowed:
        expected = ", ".join(f"`{k}`" for k in allowed)
        raise errors.format_error(f"unknown variant `{value}`, expected one of {expected} at `{path}`")
    return value


def _bounded_uint(value: Any, path: str, minimum: int = 0, maximum: Optional[int] = None) -> int:
    number = expect_uint(value, path)
    if number < minimum or (maximum is not None and number > maximum):
        if maximum is None:
            raise errors.validation_error(path, f"value {number} invalid, must be {minimum} or larger")
        raise errors.validation_error(path, f"value {number} invalid, must be from {minimum} to {maximum}")
    return number


def _memory(value: Any, path: str, what: str, allow_pinned: bool) -> str:
    memory = _enum(value, path, MEMORY)
    if memory == "pinned" and not allow_pinned:
        raise errors.validation_error(path, f"`pinned` memory placement is not supported for {what}")
    return memory


def _reject_non_null(obj: dict, key: str, feature: str) -> None:
    if obj.get(key) is not None:
        raise errors.not_implemented(feature)


# ---- quantization ----------------------------------------------------------------------------
# Scalar (int8) quantization only; the engine builds the quantized copy when it optimizes a segment.


def parse_quantization(value: Any, path: str) -> dict:
    """QuantizationConfig -> the Qdrant-shaped object GET shows (fields as given, nulls dropped)."""
    obj = expect_object(value, path)
    for kind in ("product", "binary", "turbo"):
        if kind in obj:
            raise errors.not_implemented(f"{kind} quantization")
    scalar = require(obj, "scalar", path, lambda v, p: expect_object(v, p, "struct ScalarQuantizationConfig"))
    scalar_path = join_path(path, "scalar")
    shown: dict = {"type": require(scalar, "type", scalar_path, lambda v, p: _enum(v, p, {"int8": 0}))}
    if scalar.get("quantile") is not None:
        quantile = expect_number(scalar["quantile"], join_path(scalar_path, "quantile"))
        if not 0.5 <= quantile <= 1.0:
            raise errors.validation_error(join_path(scalar_path, "quantile"), f"value {quantile} invalid, must be from 0.5 to 1.0")
        shown["quantile"] = quantile
    if scalar.get("always_ram") is not None:
        shown["always_ram"] = expect_bool(scalar["always_ram"], join_path(scalar_path, "always_ram"))
    if scalar.get("memory") is not None:
        shown["memory"] = _memory(scalar["memory"], join_path(scalar_path, "memory"), "quantized vectors", True)
    return {"scalar": shown}


def _edge_quantization(shown: Optional[dict]) -> Any:
    if not shown:
        return None
    scalar = shown["scalar"]
    kwargs: dict = {"type": qe.ScalarType.Int8}
    if scalar.get("quantile") is not None:
        kwargs["quantile"] = scalar["quantile"]
    if scalar.get("always_ram") is not None:
        kwargs["always_ram"] = scalar["always_ram"]
    if scalar.get("memory") is not None:
        kwargs["memory"] = MEMORY[scalar["memory"]]
    return qe.ScalarQuantizationConfig(**kwargs)


# ---- diffs -----------------------------------------------------------------------------------


def parse_hnsw_diff(value: Any, path: str) -> dict:
    obj = expect_object(value, path)
    diff: dict = {}
    if obj.get("m") is not None:
        diff["m"] = expect_uint(obj["m"], join_path(path, "m"))
    if obj.get("ef_construct") is not None:
        diff["ef_construct"] = _bounded_uint(obj["ef_construct"], join_path(path, "ef_construct"), 4)
    for key in ("full_scan_threshold", "full_scan_threshold_kb"):
        if obj.get(key) is not None:
            diff["full_scan_threshold"] = _bounded_uint(obj[key], join_path(path, key), 10)
    if obj.get("max_indexing_threads") is not None:
        diff["max_indexing_threads"] = expect_uint(obj["max_indexing_threads"], join_path(path, "max_indexing_threads"))
    if obj.get("on_disk") is not None:
        diff["on_disk"] = expect_bool(obj["on_disk"], join_path(path, "on_disk"))
    if obj.get("payload_m") is not None:
        diff["payload_m"] = expect_uint(obj["payload_m"], join_path(path, "payload_m"))
    if obj.get("inline_storage") is not None:
        diff["inline_storage"] = expect_bool(obj["inline_storage"], join_path(path, "inline_storage"))
    if obj.get("memory") is not None:
        diff["memory"] = _memory(obj["memory"], join_path(path, "memory"), "the HNSW graph", True)
    return diff


def parse_optimizers_diff(value: Any, path: str) -> dict:
    obj = expect_object(value, path)
    diff: dict = {}
    if obj.get("deleted_threshold") is not None:
        threshold = expect_number(obj["deleted_threshold"], join_path(path, "deleted_threshold"))
        if not 0.0 <= threshold <= 1.0:
            raise errors.validation_error(join_path(path, "deleted_threshold"), f"value {threshold} invalid, must be from 0.0 to 1.0")
        diff["deleted_threshold"] = threshold
    if obj.get("vacuum_min_vector_number") is not None:
        diff["vacuum_min_vector_number"] = _bounded_uint(obj["vacuum_min_vector_number"], join_path(path, "vacuum_min_vector_number"), 100)
    if obj.get("default_segment_number") is not None:
        diff["default_segment_number"] = expect_uint(obj["default_segment_number"], join_path(path, "default_segment_number"))
    for key, aliases in (
        ("max_segment_size", ("max_segment_size", "max_segment_size_kb")),
        ("memmap_threshold", ("memmap_threshold", "memmap_threshold_kb")),
        ("indexing_threshold", ("indexing_threshold", "indexing_threshold_kb")),
    ):
        for alias in aliases:
            if obj.get(alias) is not None:
                diff[key] = _bounded_uint(obj[alias], join_path(path, alias), 1 if key == "max_segment_size" else 0)
    if obj.get("flush_interval_sec") is not None:
        diff["flush_interval_sec"] = expect_uint(obj["flush_interval_sec"], join_path(path, "flush_interval_sec"))
    if obj.get("max_optimization_threads") is not None:
        raw = obj["max_optimization_threads"]
        # Accepts a number or "auto" (MaxOptimizationThreadsSetting).
        if raw == "auto":
            diff["max_optimization_threads"] = None
        else:
            diff["max_optimization_threads"] = expect_uint(raw, join_path(path, "max_optimization_threads"))
    if obj.get("prevent_unoptimized") is not None:
        diff["prevent_unoptimized"] = expect_bool(obj["prevent_unoptimized"], join_path(path, "prevent_unoptimized"))
    return diff


def parse_wal_diff(value: Any, path: str) -> dict:
    obj = expect_object(value, path)
    diff: dict = {}
    if obj.get("wal_capacity_mb") is not None:
        diff["wal_capacity_mb"] = _bounded_uint(obj["wal_capacity_mb"], join_path(path, "wal_capacity_mb"), 1)
    if obj.get("wal_segments_ahead") is not None:
        diff["wal_segments_ahead"] = expect_uint(obj["wal_segments_ahead"], join_path(path, "wal_segments_ahead"))
    if obj.get("wal_retain_closed") is not None:
        diff["wal_retain_closed"] = _bounded_uint(obj["wal_retain_closed"], join_path(path, "wal_retain_closed"), 1)
    return diff


def _parse_vector_params(value: Any, path: str) -> dict:
    obj = expect_object(value, path, "struct VectorParams")
    size = require(obj, "size", path, expect_uint)
    if size == 0:
        raise errors.format_error(f"invalid value: integer `0`, expected a nonzero u64 at `{join_path(path, 'size')}`")
    if size > MAX_VECTOR_SIZE:
        raise errors.validation_error(join_path(path, "size"), f"value {size} invalid, must be from 1 to {MAX_VECTOR_SIZE}")
    params: dict = {"size": size, "distance": require(obj, "distance", path, lambda v, p: _enum(v, p, DISTANCES))}
    if obj.get("hnsw_config") is not None:
        params["hnsw_config"] = parse_hnsw_diff(obj["hnsw_config"], join_path(path, "hnsw_config"))
    if obj.get("quantization_config") is not None:
        params["quantization_config"] = parse_quantization(obj["quantization_config"], join_path(path, "quantization_config"))
    _reject_non_null(obj, "multivector_config", "multivectors")
    if obj.get("on_disk") is not None:
        params["on_disk"] = expect_bool(obj["on_disk"], join_path(path, "on_disk"))
    if obj.get("memory") is not None:
        params["memory"] = _memory(obj["memory"], join_path(path, "memory"), "dense vector storage", False)
    if obj.get("datatype") is not None:
        datatype = obj["datatype"]
        if datatype == "turbo4":
            raise errors.not_implemented("the `turbo4` vector datatype")
        params["datatype"] = _enum(datatype, join_path(path, "datatype"), DATATYPES)
    return params


def parse_vectors(value: Any, path: str = "vectors") -> Any:
    """VectorsConfig: one unnamed `{size, distance}` or a map of named vector params."""
    obj = expect_object(value, path)
    if "size" in obj or "distance" in obj:
        return _parse_vector_params(obj, path)
    if not obj:
        raise errors.not_implemented("a collection without dense vectors")
    return {name: _parse_vector_params(params, join_path(path, name)) for name, params in by_name(obj).items()}


def _positive(obj: dict, key: str, default: int) -> int:
    value = obj.get(key)
    if value is None:
        return default
    number = expect_uint(value, key)
    if number < 1:
        raise errors.validation_error(key, f"value {number} invalid, must be 1 or larger")
    return number


def _payload_params(value: Any, path: str) -> dict:
    obj = expect_object(value, path)
    params: dict = {}
    if obj.get("memory") is not None:
        params["memory"] = _memory(obj["memory"], join_path(path, "memory"), "payload storage", False)
    return params


def _strict_mode(value: Any, path: str) -> dict:
    obj = expect_object(value, path)
    if obj.get("enabled") is True:
        raise errors.not_implemented("strict mode")
    return {k: v for k, v in obj.items() if v is not None}


def _metadata(value: Any, path: str) -> dict:
    return expect_object(value, path, "a JSON object (metadata)")


SPARSE = "sparse"
"""In vector_sizes(): marks a sparse vector name (it has no dimension)."""

MODIFIERS = {"idf": qe.Modifier.Idf, "none": None}


def _parse_sparse_params(value: Any, path: str) -> dict:
    obj = expect_object(value, path, "struct SparseVectorParams")
    params: dict = {}
    if obj.get("modifier") is not None:
        params["modifier"] = _enum(obj["modifier"], join_path(path, "modifier"), MODIFIERS)
    if obj.get("index") is not None:
        index = expect_object(obj["index"], join_path(path, "index"), "struct SparseIndexParams")
        shown: dict = {}
        if index.get("on_disk") is not None:
            shown["on_disk"] = expect_bool(index["on_disk"], join_path(path, "index.on_disk"))
        if index.get("full_scan_threshold") is not None:
            shown["full_scan_threshold"] = expect_uint(index["full_scan_threshold"], join_path(path, "index.full_scan_threshold"))
        if index.get("datatype") not in (None, "float32"):
            raise errors.not_implemented("sparse vector index datatypes other than float32")
        params["index"] = shown
    return params


def parse_sparse_vectors(value: Any, path: str = "sparse_vectors") -> dict:
    """SparseVectorsConfig: {name: {modifier?, index?}}."""
    obj = expect_object(value, path)
    return {name: _parse_sparse_params(params, join_path(path, name)) for name, params in by_name(obj).items()}


def by_name(vectors: dict) -> dict:
    """Named vectors in Qdrant's order, sorted by name: Qdrant holds them in a BTreeMap
    (`VectorsConfig::Multi` in lib/collection/src/operations/types.rs, `sparse_vectors` of
    `CollectionParams` in lib/collection/src/config.rs) and lists them so in a collection's info,
    whatever order they were created in. Python's str order is Rust's String order (code points)."""
    return dict(sorted(vectors.items()))


def in_qdrant_order(config: dict) -> dict:
    """A stored config with its named vectors in Qdrant's order (servers before this one kept the
    order of the create request)."""
    params = config["params"]
    if is_named(params["vectors"]):
        params["vectors"] = by_name(params["vectors"])
    if params.get("sparse_vectors"):
        params["sparse_vectors"] = by_name(params["sparse_vectors"])
    return config


def parse_create(body: dict) -> dict:
    """A CreateCollection request -> the stored, Qdrant-shaped CollectionConfig."""
    if body.get("vectors") is None:
        raise errors.not_implemented("a collection without dense vectors")
    vectors = parse_vectors(body["vectors"])
    sharding = body.get("sharding_method")
    if sharding is not None and _enum(sharding, "sharding_method", {"auto": 0, "custom": 1}) == "custom":
        raise errors.not_implemented("custom sharding")
    _reject_non_null(body, "quantization", "quantization")
    sparse = parse_sparse_vectors(body["sparse_vectors"]) if body.get("sparse_vectors") else None
    if sparse and set(sparse) & set(vector_sizes({"params": {"vectors": vectors}})):
        raise errors.bad_input("Wrong input: the same vector name is both dense and sparse")
    params: dict = {
        "vectors": vectors,
        "shard_number": _positive(body, "shard_number", 1),
        "replication_factor": _positive(body, "replication_factor", 1),
        "write_consistency_factor": _positive(body, "write_consistency_factor", 1),
        "on_disk_payload": get(body, "on_disk_payload", "", expect_bool, True),
    }
    if sparse:
        params["sparse_vectors"] = sparse
    if sharding is not None:
        params["sharding_method"] = sharding
    if body.get("payload") is not None:
        params["payload"] = _payload_params(body["payload"], "payload")

    hnsw = dict(DEFAULT_HNSW)
    if body.get("hnsw_config") is not None:
        hnsw.update(parse_hnsw_diff(body["hnsw_config"], "hnsw_config"))
    optimizers = dict(DEFAULT_OPTIMIZERS)
    for key in ("optimizers_config", "optimizer_config"):
        if body.get(key) is not None:
            optimizers.update(parse_optimizers_diff(body[key], key))
    wal = dict(DEFAULT_WAL)
    if body.get("wal_config") is not None:
        wal.update(parse_wal_diff(body["wal_config"], "wal_config"))

    config: dict = {
        "params": params,
        "hnsw_config": hnsw,
        "optimizer_config": optimizers,
        "wal_config": wal,
        "quantization_config": None
        if body.get("quantization_config") is None
        else parse_quantization(body["quantization_config"], "quantization_config"),
    }
    if body.get("strict_mode_config") is not None:
        config["strict_mode_config"] = _strict_mode(body["strict_mode_config"], "strict_mode_config")
    if body.get("metadata") is not None:
        config["metadata"] = _metadata(body["metadata"], "metadata")
    return config


def merge_metadata(current: Optional[dict], diff: dict) -> dict:
    """Payload::merge: top-level keys are replaced, a null value removes the key."""
    merged = dict(current or {})
    for key, value in diff.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def apply_update(config: dict, body: dict) -> tuple:
    """An UpdateCollection request applied to a stored config -> (new config, engine_changed)."""
    updated = copy.deepcopy(config)
    engine_changed = False
    if body.get("vectors") is not None:
        vectors = expect_object(body["vectors"], "vectors")
        if vectors:
            raise errors.not_implemented("updating vector parameters")
    if body.get("quantization") is not None and body["quantization"] != "Disabled":
        raise errors.not_implemented("quantization")
    if body.get("quantization_config") is not None:
        diff = body["quantization_config"]
        updated["quantization_config"] = None if diff == "Disabled" else parse_quantization(diff, "quantization_config")
        engine_changed = True
    if body.get("sparse_vectors"):
        raise errors.not_implemented("sparse vectors")
    for key in ("optimizers_config", "optimizer_config"):
        if body.get(key) is not None:
            updated["optimizer_config"].update(parse_optimizers_diff(body[key], key))
            engine_changed = True
    if body.get("hnsw_config") is not None:
        updated["hnsw_config"].update(parse_hnsw_diff(body["hnsw_config"], "hnsw_config"))
        engine_changed = True
    if body.get("params") is not None:
        diff = expect_object(body["params"], "params")
        params = updated["params"]
        for key in ("replication_factor", "write_consistency_factor"):
            if diff.get(key) is not None:
                params[key] = _positive(diff, key, 1)
        for key in ("read_fan_out_factor", "read_fan_out_delay_ms"):
            if diff.get(key) is not None:
                params[key] = expect_uint(diff[key], join_path("params", key))
        if diff.get("on_disk_payload") is not None:
            params["on_disk_payload"] = expect_bool(diff["on_disk_payload"], "params.on_disk_payload")
            engine_changed = True
        if diff.get("payload") is not None:
            params["payload"] = {**params.get("payload", {}), **_payload_params(diff["payload"], "params.payload")}
            engine_changed = True
    if body.get("strict_mode_config") is not None:
        updated["strict_mode_config"] = {
            **updated.get("strict_mode_config", {}),
            **_strict_mode(body["strict_mode_config"], "strict_mode_config"),
        }
    if body.get("metadata") is not None:
        updated["metadata"] = merge_metadata(updated.get("metadata"), _metadata(body["metadata"], "metadata"))
    return updated, engine_changed


# ---- engine config ---------------------------------------------------------------------------


def _hnsw_index_config(hnsw: dict) -> Any:
    kwargs = {
        "m": hnsw["m"],
        "ef_construct": hnsw["ef_construct"],
        "full_scan_threshold": hnsw["full_scan_threshold"],
        "max_indexing_threads": hnsw.get("max_indexing_threads", 0),
    }
    for key in ("on_disk", "payload_m", "inline_storage"):
        if hnsw.get(key) is not None:
            kwargs[key] = hnsw[key]
    if hnsw.get("memory") is not None:
        kwargs["memory"] = MEMORY[hnsw["memory"]]
    return qe.HnswIndexConfig(**kwargs)


def _edge_vector_params(params: dict, global_hnsw: dict) -> Any:
    kwargs: dict = {"size": params["size"], "distance": DISTANCES[params["distance"]]}
    if params.get("on_disk") is not None:
        kwargs["on_disk"] = params["on_disk"]
    if params.get("memory") is not None:
        kwargs["memory"] = MEMORY[params["memory"]]
    if params.get("datatype") is not None:
        kwargs["datatype"] = DATATYPES[params["datatype"]]
    if params.get("hnsw_config"):
        kwargs["hnsw_config"] = _hnsw_index_config({**global_hnsw, **params["hnsw_config"]})
    if params.get("quantization_config"):
        kwargs["quantization_config"] = _edge_quantization(params["quantization_config"])
    return qe.EdgeVectorParams(**kwargs)


def is_named(vectors: dict) -> bool:
    return "size" not in vectors


def vector_sizes(config: dict) -> dict:
    """Vector name ("" for the unnamed one) -> dimension, or SPARSE for a sparse vector."""
    vectors = config["params"]["vectors"]
    if is_named(vectors):
        sizes: dict = {name: params["size"] for name, params in vectors.items()}
    else:
        sizes = {"": vectors["size"]}
    for name in config["params"].get("sparse_vectors") or {}:
        sizes[name] = SPARSE
    return sizes


def _edge_sparse_params(params: dict) -> Any:
    kwargs: dict = {}
    modifier = MODIFIERS.get(params.get("modifier") or "none")
    if modifier is not None:
        kwargs["modifier"] = modifier
    if params.get("index", {}).get("on_disk") is not None:
        kwargs["on_disk"] = params["index"]["on_disk"]
    if params.get("index", {}).get("full_scan_threshold") is not None:
        kwargs["full_scan_threshold"] = params["index"]["full_scan_threshold"]
    return qe.EdgeSparseVectorParams(**kwargs)


def edge_config(config: dict) -> Any:
    params = config["params"]
    hnsw = config["hnsw_config"]
    vectors = params["vectors"]
    if is_named(vectors):
        edge_vectors: Any = {name: _edge_vector_params(p, hnsw) for name, p in vectors.items()}
    else:
        edge_vectors = _edge_vector_params(vectors, hnsw)
    optimizers = config["optimizer_config"]
    kwargs: dict = {
        "vectors": edge_vectors,
        "sparse_vectors": {name: _edge_sparse_params(p) for name, p in (params.get("sparse_vectors") or {}).items()} or None,
        "on_disk_payload": params.get("on_disk_payload", True),
        "hnsw_config": _hnsw_index_config(hnsw),
        "optimizers": qe.EdgeOptimizersConfig(
            deleted_threshold=optimizers.get("deleted_threshold"),
            vacuum_min_vector_number=optimizers.get("vacuum_min_vector_number"),
            default_segment_number=optimizers.get("default_segment_number"),
            max_segment_size=optimizers.get("max_segment_size"),
            indexing_threshold=optimizers.get("indexing_threshold"),
            prevent_unoptimized=optimizers.get("prevent_unoptimized"),
        ),
    }
    quantization = _edge_quantization(config.get("quantization_config"))
    if quantization is not None:
        kwargs["quantization_config"] = quantization
    memory = params.get("payload", {}).get("memory")
    if memory is not None:
        kwargs["payload_memory"] = MEMORY[memory]
    return qe.EdgeConfig(**kwargs)


def flush_interval_sec(config: dict) -> int:
    return int(config["optimizer_config"].get("flush_interval_sec") or DEFAULT_OPTIMIZERS["flush_interval_sec"])


# ---- payload indexes -------------------------------------------------------------------------

SCHEMA_TYPES = {
    "keyword": qe.PayloadSchemaType.Keyword,
    "integer": qe.PayloadSchemaType.Integer,
    "float": qe.PayloadSchemaType.Float,
    "geo": qe.PayloadSchemaType.Geo,
    "text": qe.PayloadSchemaType.Text,
    "bool": qe.PayloadSchemaType.Bool,
    "datetime": qe.PayloadSchemaType.Datetime,
    "uuid": qe.PayloadSchemaType.Uuid,
}
SCHEMA_TYPE_NAMES = {engine: name for name, engine in SCHEMA_TYPES.items()}

_COMMON_INDEX_FLAGS = ("on_disk", "enable_hnsw")
_INDEX_PARAMS = {
    "keyword": (qe.KeywordIndexParams, ("is_tenant", "prefix") + _COMMON_INDEX_FLAGS),
    "integer": (qe.IntegerIndexParams, ("lookup", "range", "is_principal") + _COMMON_INDEX_FLAGS),
    "float": (qe.FloatIndexParams, ("is_principal",) + _COMMON_INDEX_FLAGS),
    "geo": (qe.GeoIndexParams, _COMMON_INDEX_FLAGS),
    "text": (qe.TextIndexParams, ("lowercase", "ascii_folding", "phrase_matching") + _COMMON_INDEX_FLAGS),
    "bool": (qe.BoolIndexParams, _COMMON_INDEX_FLAGS),
    "datetime": (qe.DatetimeIndexParams, ("is_principal",) + _COMMON_INDEX_FLAGS),
    "uuid": (qe.UuidIndexParams, ("is_tenant",) + _COMMON_INDEX_FLAGS),
}
_TOKENIZERS = {
    "prefix": qe.TokenizerType.Prefix,
    "whitespace": qe.TokenizerType.Whitespace,
    "word": qe.TokenizerType.Word,
    "multilingual": qe.TokenizerType.Multilingual,
}


def parse_field_schema(value: Any, path: str = "field_schema") -> tuple:
    """PayloadFieldSchema -> (engine schema, params to show in payload_schema or None)."""
    if isinstance(value, str):
        return SCHEMA_TYPES[_enum(value, path, SCHEMA_TYPES)], None
    obj = expect_object(value, path, "a payload schema type or its parameters")
    kind = require(obj, "type", path, lambda v, p: _enum(v, p, SCHEMA_TYPES))
    cls, flags = _INDEX_PARAMS[kind]
    kwargs: dict = {}
    shown: dict = {"type": kind}
    for flag in flags:
        if obj.get(flag) is not None:
            kwargs[flag] = shown[flag] = expect_bool(obj[flag], join_path(path, flag))
    if obj.get("memory") is not None:
        shown["memory"] = _memory(obj["memory"], join_path(path, "memory"), "payload indexes", True)
        kwargs["memory"] = MEMORY[shown["memory"]]
    if kind == "integer" and obj.get("lookup") is False and obj.get("range") is False:
        raise errors.validation_error(path, "the 'lookup' and 'range' capabilities can't be both disabled")
    if kind == "text":
        if obj.get("tokenizer") is not None:
            shown["tokenizer"] = _enum(obj["tokenizer"], join_path(path, "tokenizer"), _TOKENIZERS)
            kwargs["tokenizer"] = _TOKENIZERS[shown["tokenizer"]]
        for key in ("min_token_len", "max_token_len"):
            if obj.get(key) is not None:
                kwargs[key] = shown[key] = expect_uint(obj[key], join_path(path, key))
        for key in ("stopwords", "stemmer"):
            if obj.get(key) is not None:
                raise errors.not_implemented(f"text index `{key}`")
    return cls(**kwargs), shown


def render_payload_schema(engine_schema: dict, shown_params: dict) -> dict:
    rendered = {}
    for field, info in engine_schema.items():
        entry: dict = {"data_type": SCHEMA_TYPE_NAMES.get(info.data_type, str(info.data_type))}
        if shown_params.get(field) is not None:
            entry["params"] = shown_params[field]
        entry["points"] = info.points
        rendered[field] = entry
    return rendered


def check_field_name(value: Any, path: str = "field_name") -> str:
    name = expect_str(value, path)
    if not name:
        raise errors.format_error(f"invalid JSON path at `{path}`")
    return name
