"""Conversions between Qdrant's REST shapes and qdrant_edge objects that several endpoints share."""

from __future__ import annotations

from typing import Any, Optional

import qdrant_edge as qe

from . import errors
from .config import SPARSE
from .schema import dense_vector, describe, expect_list, expect_object, expect_uint, join_path, render_point_id


def engine_with_payload(selection: Any) -> Any:
    if isinstance(selection, tuple):
        kind, keys = selection
        return qe.PayloadSelector.Include(keys) if kind == "include" else qe.PayloadSelector.Exclude(keys)
    return selection


def render_vector(vector: Any) -> Any:
    """Engine vectors -> REST: a sparse vector as {indices, values}, named ones per name."""
    if isinstance(vector, dict):
        return {name: render_vector(v) for name, v in vector.items()}
    if isinstance(vector, qe.SparseVector):
        return {"indices": list(vector.indices), "values": list(vector.values)}
    return vector


def render_record(record: Any) -> dict:
    # Qdrant's Record skips absent payload/vector instead of printing null.
    out: dict = {"id": render_point_id(record.id)}
    if record.payload is not None:
        out["payload"] = record.payload
    if record.vector is not None:
        out["vector"] = render_vector(record.vector)
    if record.order_value is not None:
        out["order_value"] = record.order_value
    return out


def render_scored(point: Any) -> dict:
    out: dict = {"id": render_point_id(point.id), "version": point.version, "score": point.score}
    if point.payload is not None:
        out["payload"] = point.payload
    if point.vector is not None:
        out["vector"] = render_vector(point.vector)
    if point.order_value is not None:
        out["order_value"] = point.order_value
    return out


def update_result(operation_id: int, wait: bool) -> dict:
    # Updates are applied before the response either way; Qdrant reports "acknowledged" when the
    # client did not ask to wait, and clients may rely on that wording.
    return {"operation_id": operation_id, "status": "completed" if wait else "acknowledged"}


def _is_sparse(value: Any) -> bool:
    return isinstance(value, dict) and "indices" in value and "values" in value


def _is_inference_object(value: Any) -> bool:
    return isinstance(value, dict) and any(k in value for k in ("text", "image", "object"))


def sparse_vector(value: Any, path: str) -> Any:
    """A SparseVector {indices, values} -> qe.SparseVector, checked as Qdrant checks it."""
    obj = expect_object(value, path, "struct SparseVector")
    for key in ("indices", "values"):
        if key not in obj:
            raise errors.format_error(f"missing field `{key}` at `{path}`")
    indices = [expect_uint(i, join_path(join_path(path, "indices"), n)) for n, i in enumerate(expect_list(obj["indices"], join_path(path, "indices")))]
    if any(i > 0xFFFFFFFF for i in indices):
        raise errors.format_error(f"invalid value: integer out of range for u32 at `{join_path(path, 'indices')}`")
    values = dense_vector(obj["values"], join_path(path, "values")) if obj["values"] else []
    if len(indices) != len(values):
        raise errors.validation_error(path or "vector", "indices and values must be the same length")
    if len(set(indices)) != len(indices):
        raise errors.validation_error(path or "vector", "indices must be unique")
    return qe.SparseVector(indices, values)


def _checked(name: str, vector: list, sizes: dict) -> list:
    if name not in sizes:
        raise errors.bad_input(f"Not existing vector name error: {name}")
    if sizes[name] == SPARSE:
        raise errors.bad_input("Conversion between sparse and regular vectors failed")
    if len(vector) != sizes[name]:
        raise errors.bad_input(f"Vector dimension error: expected dim: {sizes[name]}, got {len(vector)}")
    return vector


def _one_vector(name: str, value: Any, path: str, sizes: dict) -> Any:
    if _is_sparse(value):
        if sizes.get(name) == SPARSE:
            return sparse_vector(value, path)
        if name in sizes:
            raise errors.bad_input("Conversion between sparse and regular vectors failed")
        raise errors.bad_input(f"Not existing vector name error: {name}")
    if _is_inference_object(value):
        raise errors.not_implemented("server-side inference (documents, images, objects as vectors)")
    if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        raise errors.bad_input("Conversion between multi and regular vectors failed")
    return _checked(name, dense_vector(value, path), sizes)


def point_vector(value: Any, path: str, sizes: dict) -> Any:
    """VectorStruct of a point -> a list (unnamed) or {name: list}, checked against the config."""
    if isinstance(value, list):
        return _one_vector("", value, path, sizes)
    if isinstance(value, dict):
        if _is_inference_object(value) and not any(isinstance(v, (list, dict)) for v in value.values()):
            raise errors.not_implemented("server-side inference (documents, images, objects as vectors)")
        return {name: _one_vector(name, v, join_path(path, name), sizes) for name, v in value.items()}
    raise errors.format_error(f"invalid type: {describe(value)}, expected a vector or a map of named vectors at `{path}`")


def query_vector(value: Any, path: str) -> Any:
    """A query vector: dense (VectorInput::DenseVector) or sparse (VectorInput::SparseVector)."""
    if _is_sparse(value):
        return sparse_vector(value, path)
    if _is_inference_object(value):
        raise errors.not_implemented("server-side inference (documents, images, objects as queries)")
    if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        raise errors.not_implemented("multivector queries")
    return dense_vector(value, path)


def check_using(using: Optional[str], sizes: dict, vector: Any = None) -> str:
    """The vector name a query searches; a sparse query needs a sparse name and a dense one a dense name."""
    name = using or ""
    if name not in sizes:
        raise errors.bad_input(f"Not existing vector name error: {name}")
    if vector is not None:
        is_sparse = isinstance(vector, qe.SparseVector)
        if is_sparse != (sizes[name] == SPARSE):
            raise errors.bad_input("Conversion between sparse and regular vectors failed")
    return name


def engine_call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a read on the engine, turning its exceptions into Qdrant-style errors."""
    try:
        return fn(*args, **kwargs)
    except errors.ApiError:
        raise
    except Exception as exc:  # noqa: BLE001 - engine errors are classified, not leaked
        raise errors.from_engine(exc) from exc
