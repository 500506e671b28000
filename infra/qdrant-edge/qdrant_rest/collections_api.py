"""Collection, alias and payload-index endpoints (src/actix/api/collections_api.rs, update_api.rs)."""

from __future__ import annotations

from typing import Any

import qdrant_edge as qe

from . import config as cfg
from . import errors
from .aliases import parse_actions
from .collections import Registry
from .convert import engine_call, update_result
from .routing import Request
from .schema import query_bool, query_ordering, query_uint

# Characters Qdrant refuses in names (common::validation). Legacy names (pre-1.5) only exclude
# the two that no filesystem allows, and every endpoint but create accepts those names.
_STRICT_INVALID = '<>:"/\\|?*\0\x1f'
_LEGACY_INVALID = "/\0"


def path_collection_name(request: Request, strict: bool = False) -> str:
    name = request.params["collection_name"]
    if not 1 <= len(name) <= 255:
        raise errors.validation_error("collection_name", "must be from 1 to 255 characters", "path parameters")
    for char in _STRICT_INVALID if strict else _LEGACY_INVALID:
        if char in name:
            raise errors.validation_error(
                "collection_name", f'collection name cannot contain "{char}" char', "path parameters"
            )
    return name


def _wait_timeout(request: Request) -> None:
    query_uint(request.query, "timeout", minimum=1)


class CollectionsApi:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    # ---- collections -------------------------------------------------------------------------

    def list(self, _request: Request) -> Any:
        return {"collections": [{"name": name} for name in self.registry.names()]}

    def get(self, request: Request) -> Any:
        collection = self.registry.resolve(path_collection_name(request))
        with collection.use() as shard:
            info = engine_call(shard.info)
        config = collection.config
        return {
            "status": "green",
            "optimizer_status": "ok",
            "indexed_vectors_count": info.indexed_vectors_count,
            "points_count": info.points_count,
            "segments_count": info.segments_count,
            "config": config,
            "payload_schema": cfg.render_payload_schema(info.payload_schema, collection.index_params),
            "update_queue": {"length": 0},
        }

    def exists(self, request: Request) -> Any:
        try:
            self.registry.resolve(path_collection_name(request))
        except errors.ApiError as exc:
            if exc.status_code == 404:
                return {"exists": False}
            raise
        return {"exists": True}

    def create(self, request: Request) -> Any:
        name = path_collection_name(request, strict=True)
        _wait_timeout(request)
        config = cfg.parse_create(request.json_object())
        self.registry.create(name, config)
        return True

    def update(self, request: Request) -> Any:
        collection = self.registry.resolve(path_collection_name(request))
        _wait_timeout(request)
        body = request.json_object()
        new_config, engine_changed = cfg.apply_update(collection.config, body)
        try:
            collection.reconfigure(new_config, engine_changed)
        except errors.ApiError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise errors.from_engine(exc) from exc
        return True

    def delete(self, request: Request) -> Any:
        name = path_collection_name(request)
        _wait_timeout(request)
        return self.registry.delete(name)

    # ---- aliases -----------------------------------------------------------------------------

    def update_aliases(self, request: Request) -> Any:
        _wait_timeout(request)
        actions = parse_actions(request.json_object())
        self.registry.update_aliases(actions)
        return True

    def list_aliases(self, _request: Request) -> Any:
        return {"aliases": self.registry.all_aliases()}

    def collection_aliases(self, request: Request) -> Any:
        return {"aliases": self.registry.aliases_of(path_collection_name(request))}

    # ---- payload indexes ---------------------------------------------------------------------

    def create_index(self, request: Request) -> Any:
        collection = self.registry.resolve(path_collection_name(request))
        wait = query_bool(request.query, "wait", False)
        query_ordering(request.query)
        body = request.json_object()
        if "field_name" not in body:
            raise errors.format_error("missing field `field_name`")
        field = cfg.check_field_name(body["field_name"])
        schema_value = body.get("field_schema", body.get("field_type"))
        if schema_value is None:
            raise errors.bad_request("Can't auto-detect field type, please specify `field_schema` in the request")
        schema, shown = cfg.parse_field_schema(schema_value)
        op_id = collection.update(engine_call(qe.UpdateOperation.create_field_index, field, schema))
        with collection.meta_lock:
            collection.index_params[field] = shown
            collection.save()
        return update_result(op_id, wait)

    def delete_index(self, request: Request) -> Any:
        collection = self.registry.resolve(path_collection_name(request))
        wait = query_bool(request.query, "wait", False)
        query_ordering(request.query)
        field = cfg.check_field_name(request.params["field_name"], "field_name")
        op_id = collection.update(engine_call(qe.UpdateOperation.delete_field_index, field))
        with collection.meta_lock:
            if field in collection.index_params:
                del collection.index_params[field]
                collection.save()
        return update_result(op_id, wait)
