"""Point endpoints: writes (upsert, delete, payload, vectors, batch) and reads (retrieve,
scroll, count). Shapes follow lib/api/src/rest/schema.rs and src/actix/api/{update,retrieve,
count}_api.rs of Qdrant 1.19.
"""

from __future__ import annotations

from typing import Any, Optional

import qdrant_edge as qe

from . import config as cfg
from . import errors
from .collections import Collection, Registry
from .convert import engine_call, engine_with_payload, point_vector, render_record, update_result
from .filters import optional_filter, parse_filter
from .routing import Request
from .schema import (
    describe,
    expect_bool,
    expect_list,
    expect_object,
    expect_str,
    expect_uint,
    get,
    get_alias,
    join_path,
    missing_field,
    payload,
    point_id,
    point_id_from_path,
    point_ids,
    query_bool,
    query_consistency,
    query_ordering,
    query_uint,
    render_point_id,
    with_payload,
    with_vector,
)
from .collections_api import path_collection_name

_UPDATE_MODES = {"upsert": qe.UpdateMode.Upsert, "insert_only": qe.UpdateMode.InsertOnly, "update_only": qe.UpdateMode.UpdateOnly}


def _reject_shard_key(body: dict) -> None:
    if body.get("shard_key") is not None:
        raise errors.not_implemented("shard keys (custom sharding)")


def _update_params(request: Request) -> bool:
    wait = query_bool(request.query, "wait", False)
    query_ordering(request.query)
    query_uint(request.query, "timeout")
    return wait


def _read_params(request: Request) -> None:
    query_consistency(request.query)
    query_uint(request.query, "timeout", minimum=1)


# ---- operation builders (shared by the single endpoints and /points/batch) -------------------


def _upsert_operation(body: dict, collection: Collection, path: str = "") -> Any:
    _reject_shard_key(body)
    sizes = cfg.vector_sizes(collection.config)
    points: list = []
    if "batch" in body:
        batch = expect_object(body["batch"], join_path(path, "batch"))
        bpath = join_path(path, "batch")
        for key in ("ids", "vectors"):
            if key not in batch:
                raise missing_field(bpath, key)
        ids = point_ids(batch["ids"], join_path(bpath, "ids"))
        raw_vectors = batch["vectors"]
        if isinstance(raw_vectors, dict):
            # Named: {name: [vector per point]}.
            per_point: list = [dict() for _ in ids]
            for name, column in raw_vectors.items():
                column = expect_list(column, join_path(bpath, f"vectors.{name}"))
                if len(column) != len(ids):
                    raise errors.validation_error("batch", f"number of ids and vectors must be equal ({len(ids)} != {len(column)})")
                for i, value in enumerate(column):
                    per_point[i][name] = value
            vectors: list = per_point
        else:
            vectors = expect_list(raw_vectors, join_path(bpath, "vectors"))
            if len(vectors) != len(ids):
                raise errors.validation_error("batch", f"number of ids and vectors must be equal ({len(ids)} != {len(vectors)})")
        payloads: list = [None] * len(ids)
        if batch.get("payloads") is not None:
            payloads = expect_list(batch["payloads"], join_path(bpath, "payloads"))
            if len(payloads) != len(ids):
                raise errors.validation_error("batch", f"number of ids and payloads must be equal ({len(ids)} != {len(payloads)})")
        for i, (pid, vector, pl) in enumerate(zip(ids, vectors, payloads)):
            points.append(qe.Point(
                pid,
                point_vector(vector, join_path(join_path(bpath, "vectors"), i), sizes),
                payload(pl, join_path(join_path(bpath, "payloads"), i)),
            ))
    elif "points" in body:
        raw_points = expect_list(body["points"], join_path(path, "points"))
        for i, raw in enumerate(raw_points):
            ppath = join_path(join_path(path, "points"), i)
            obj = expect_object(raw, ppath, "struct PointStruct")
            if "id" not in obj:
                raise missing_field(ppath, "id")
            vector_key = "vector" if "vector" in obj else "vectors"
            if vector_key not in obj:
                raise missing_field(ppath, "vector")
            points.append(qe.Point(
                point_id(obj["id"], join_path(ppath, "id")),
                point_vector(obj[vector_key], join_path(ppath, vector_key), sizes),
                payload(obj.get("payload"), join_path(ppath, "payload")),
            ))
    else:
        raise errors.format_error("Invalid PointInsertOperations format")
    condition = optional_filter(body, "update_filter", path)
    mode = None
    if body.get("update_mode") is not None:
        mode_name = expect_str(body["update_mode"], join_path(path, "update_mode"))
        if mode_name not in _UPDATE_MODES:
            raise errors.format_error(f"unknown variant `{mode_name}`, expected one of `upsert`, `insert_only`, `update_only`")
        mode = _UPDATE_MODES[mode_name]
    return engine_call(qe.UpdateOperation.upsert_points, points, condition=condition, update_mode=mode)


def _selector(body: dict, path: str, what: str) -> tuple:
    """PointsSelector (untagged: a list of ids first, then a filter)."""
    _reject_shard_key(body)
    if "points" in body:
        return "ids", point_ids(body["points"], join_path(path, "points"))
    if "filter" in body:
        return "filter", parse_filter(body["filter"], join_path(path, "filter"))
    raise errors.format_error(f"data did not match any variant of untagged enum {what}")


def _delete_operation(body: dict, path: str = "") -> Any:
    kind, target = _selector(body, path, "PointsSelector")
    if kind == "ids":
        return qe.UpdateOperation.delete_points(target)
    return qe.UpdateOperation.delete_points_by_filter(target)


def _payload_selector(body: dict, path: str) -> tuple:
    """SetPayload/DeletePayload: ids win over a filter; one of them is required."""
    _reject_shard_key(body)
    if body.get("points") is not None:
        return "ids", point_ids(body["points"], join_path(path, "points"))
    if body.get("filter") is not None:
        return "filter", parse_filter(body["filter"], join_path(path, "filter"))
    raise errors.format_error("Either list of point ids or filter must be provided")


def _set_payload_operation(body: dict, overwrite: bool, path: str = "") -> Any:
    if "payload" not in body:
        raise missing_field(path, "payload")
    new_payload = expect_object(body["payload"], join_path(path, "payload"), "a JSON object (payload)")
    kind, target = _payload_selector(body, path)
    key = get(body, "key", path, expect_str)
    if key is not None and not key:
        raise errors.format_error("invalid JSON path at `key`")
    if overwrite:
        # Qdrant ignores `key` when overwriting (shard::update::process_payload_operation).
        if kind == "ids":
            return qe.UpdateOperation.overwrite_payload(target, new_payload)
        return qe.UpdateOperation.overwrite_payload_by_filter(target, new_payload)
    if kind == "ids":
        return qe.UpdateOperation.set_payload(target, new_payload, key=key)
    return qe.UpdateOperation.set_payload_by_filter(target, new_payload, key=key)


def _delete_payload_operation(body: dict, path: str = "") -> Any:
    if "keys" not in body:
        raise missing_field(path, "keys")
    keys = [expect_str(k, join_path(path, "keys")) for k in expect_list(body["keys"], join_path(path, "keys"))]
    kind, target = _payload_selector(body, path)
    if kind == "ids":
        return qe.UpdateOperation.delete_payload(target, keys)
    return qe.UpdateOperation.delete_payload_by_filter(target, keys)


def _clear_payload_operation(body: dict, path: str = "") -> Any:
    kind, target = _selector(body, path, "PointsSelector")
    if kind == "ids":
        return qe.UpdateOperation.clear_payload(target)
    return qe.UpdateOperation.clear_payload_by_filter(target)


def _update_vectors_operation(body: dict, collection: Collection, path: str = "") -> Any:
    _reject_shard_key(body)
    if "points" not in body:
        raise missing_field(path, "points")
    sizes = cfg.vector_sizes(collection.config)
    updates = []
    for i, raw in enumerate(expect_list(body["points"], join_path(path, "points"))):
        ppath = join_path(join_path(path, "points"), i)
        obj = expect_object(raw, ppath, "struct PointVectors")
        if "id" not in obj:
            raise missing_field(ppath, "id")
        vector_key = "vector" if "vector" in obj else "vectors"
        if vector_key not in obj:
            raise missing_field(ppath, "vector")
        vector = point_vector(obj[vector_key], join_path(ppath, vector_key), sizes)
        if isinstance(vector, dict) and not vector:
            raise errors.validation_error(join_path(ppath, "vector"), "must specify vectors to update for point")
        updates.append(qe.PointVectors(point_id(obj["id"], join_path(ppath, "id")), vector))
    condition = optional_filter(body, "update_filter", path)
    return qe.UpdateOperation.update_vectors(updates, condition=condition)


def _delete_vectors_operation(body: dict, path: str = "") -> Any:
    if "vector" not in body:
        raise missing_field(path, "vector")
    names = [expect_str(n, join_path(path, "vector")) for n in expect_list(body["vector"], join_path(path, "vector"))]
    if not names:
        raise errors.validation_error(join_path(path, "vector"), "must be at least 1 characters")
    kind, target = _payload_selector(body, path)
    if kind == "ids":
        return qe.UpdateOperation.delete_vectors(target, names)
    return qe.UpdateOperation.delete_vectors_by_filter(target, names)


class PointsApi:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def _collection(self, request: Request) -> Collection:
        return self.registry.resolve(path_collection_name(request))

    def _apply(self, request: Request, build: Any) -> Any:
        collection = self._collection(request)
        wait = _update_params(request)
        body = request.json_object()
        operation = engine_call(build, body, collection)
        return update_result(collection.update(operation), wait)

    # ---- writes ------------------------------------------------------------------------------

    def upsert(self, request: Request) -> Any:
        return self._apply(request, lambda body, c: _upsert_operation(body, c))

    def delete(self, request: Request) -> Any:
        return self._apply(request, lambda body, _c: _delete_operation(body))

    def set_payload(self, request: Request) -> Any:
        return self._apply(request, lambda body, _c: _set_payload_operation(body, overwrite=False))

    def overwrite_payload(self, request: Request) -> Any:
        return self._apply(request, lambda body, _c: _set_payload_operation(body, overwrite=True))

    def delete_payload(self, request: Request) -> Any:
        return self._apply(request, lambda body, _c: _delete_payload_operation(body))

    def clear_payload(self, request: Request) -> Any:
        return self._apply(request, lambda body, _c: _clear_payload_operation(body))

    def update_vectors(self, request: Request) -> Any:
        return self._apply(request, lambda body, c: _update_vectors_operation(body, c))

    def delete_vectors(self, request: Request) -> Any:
        return self._apply(request, lambda body, _c: _delete_vectors_operation(body))

    def batch(self, request: Request) -> Any:
        """`/points/batch`: operations applied in order; like Qdrant, not as one transaction."""
        collection = self._collection(request)
        wait = _update_params(request)
        body = request.json_object()
        if "operations" not in body:
            raise missing_field("", "operations")
        builders = {
            "upsert": lambda b, p: _upsert_operation(b, collection, p),
            "delete": _delete_operation,
            "set_payload": lambda b, p: _set_payload_operation(b, False, p),
            "overwrite_payload": lambda b, p: _set_payload_operation(b, True, p),
            "delete_payload": _delete_payload_operation,
            "clear_payload": _clear_payload_operation,
            "update_vectors": lambda b, p: _update_vectors_operation(b, collection, p),
            "delete_vectors": _delete_vectors_operation,
        }
        operations = []
        # Every operation is parsed before the first is applied, so a malformed request changes nothing.
        for i, raw in enumerate(expect_list(body["operations"], "operations")):
            opath = join_path("operations", i)
            obj = expect_object(raw, opath)
            kind = next((k for k in builders if k in obj), None)
            if kind is None:
                raise errors.format_error(f"data did not match any variant of untagged enum UpdateOperation at `{opath}`")
            operations.append(engine_call(builders[kind], expect_object(obj[kind], join_path(opath, kind)), join_path(opath, kind)))
        return [update_result(collection.update(op), wait) for op in operations]

    # ---- reads -------------------------------------------------------------------------------

    def retrieve(self, request: Request) -> Any:
        collection = self._collection(request)
        _read_params(request)
        body = request.json_object()
        _reject_shard_key(body)
        if "ids" not in body:
            raise missing_field("", "ids")
        ids = point_ids(body["ids"], "ids")
        selection = get(body, "with_payload", "", with_payload, True)
        vectors = get_alias(body, ("with_vector", "with_vectors"), "", with_vector, False)
        with collection.use() as shard:
            records = engine_call(shard.retrieve, ids, engine_with_payload(selection), vectors)
        return [render_record(r) for r in records]

    def get_point(self, request: Request) -> Any:
        collection = self._collection(request)
        _read_params(request)
        raw_id = request.params["id"]
        if not raw_id:
            raise errors.validation_error("id", "must be at least 1 characters", "path parameters")
        pid = point_id_from_path(raw_id)
        if pid is None:
            raise errors.bad_input(f'Can not recognize "{raw_id}" as point id')
        with collection.use() as shard:
            records = engine_call(shard.retrieve, [pid], True, True)
        if not records:
            raise errors.not_found(f"Point with id {render_point_id(pid)} does not exists!")
        return render_record(records[0])

    def scroll(self, request: Request) -> Any:
        collection = self._collection(request)
        _read_params(request)
        body = request.json_object()
        _reject_shard_key(body)
        offset = get(body, "offset", "", point_id)
        limit = get(body, "limit", "", lambda v, p: expect_uint(v, p, minimum=1), 10)
        flt = optional_filter(body)
        selection = get(body, "with_payload", "", with_payload, True)
        vectors = get_alias(body, ("with_vector", "with_vectors"), "", with_vector, False)
        order_by = _order_by(body.get("order_by"))
        scroll = engine_call(
            qe.ScrollRequest,
            offset=offset,
            limit=limit,
            filter=flt,
            with_payload=engine_with_payload(selection),
            with_vector=vectors,
            order_by=order_by,
        )
        with collection.use() as shard:
            records, next_offset = engine_call(shard.scroll, scroll)
        return {
            "points": [render_record(r) for r in records],
            "next_page_offset": None if next_offset is None else render_point_id(next_offset),
        }

    def count(self, request: Request) -> Any:
        collection = self._collection(request)
        _read_params(request)
        body = request.json_object()
        _reject_shard_key(body)
        flt = optional_filter(body)
        exact = body.get("exact", True)
        if exact is None:
            raise errors.format_error("invalid type: null, expected a boolean at `exact`")
        exact = expect_bool(exact, "exact")
        with collection.use() as shard:
            count = engine_call(shard.count, qe.CountRequest(exact=exact, filter=flt))
        return {"count": count}


def _order_by(value: Any) -> Optional[Any]:
    """OrderByInterface: a key, or {key, direction?, start_from?}."""
    if value is None:
        return None
    if isinstance(value, str):
        return qe.OrderBy(value)
    obj = expect_object(value, "order_by", "a key or struct OrderBy")
    if "key" not in obj:
        raise missing_field("order_by", "key")
    key = expect_str(obj["key"], "order_by.key")
    direction = None
    if obj.get("direction") is not None:
        name = obj["direction"]
        if name not in ("asc", "desc"):
            raise errors.format_error(f"unknown variant `{name}`, expected `asc` or `desc` at `order_by.direction`")
        direction = qe.Direction.Asc if name == "asc" else qe.Direction.Desc
    start_from = obj.get("start_from")
    if start_from is not None and (isinstance(start_from, bool) or not isinstance(start_from, (int, float, str))):
        raise errors.format_error(f"invalid type: {describe(start_from)}, expected a number or a datetime at `order_by.start_from`")
    return qe.OrderBy(key, direction=direction, start_from=start_from)
