"""Search endpoints: the universal `/points/query` (+ batch), the legacy `/points/search`
(+ batch) and `/facet`. Shapes follow QueryRequestInternal and SearchRequestInternal of
lib/api/src/rest/schema.rs (Qdrant 1.19).
"""

from __future__ import annotations

from typing import Any, Optional

import qdrant_edge as qe

from . import config as cfg
from . import errors
from .collections import Collection, Registry
from .collections_api import path_collection_name
from .convert import check_using, engine_call, engine_with_payload, query_vector, render_scored
from .filters import exclude_ids, optional_filter
from .routing import Request
from .schema import (
    expect_bool,
    expect_list,
    expect_number,
    expect_object,
    expect_str,
    expect_uint,
    get,
    get_alias,
    is_int,
    join_path,
    missing_field,
    point_id,
    query_consistency,
    query_uint,
    with_payload,
    with_vector,
)

# Query variants of Qdrant's `Query` enum that this server does not run.
_OTHER_QUERIES = {
    "recommend": "recommendation queries",
    "discover": "discovery queries",
    "context": "context queries",
    "order_by": "order_by queries",
    "formula": "formula queries",
    "sample": "sample queries",
    "relevance_feedback": "relevance feedback queries",
}


def _search_params(value: Any, path: str) -> Any:
    obj = expect_object(value, path, "struct SearchParams")
    kwargs: dict = {}
    if obj.get("hnsw_ef") is not None:
        kwargs["hnsw_ef"] = expect_uint(obj["hnsw_ef"], join_path(path, "hnsw_ef"), minimum=1)
    if obj.get("exact") is not None:
        kwargs["exact"] = expect_bool(obj["exact"], join_path(path, "exact"))
    if obj.get("indexed_only") is not None:
        kwargs["indexed_only"] = expect_bool(obj["indexed_only"], join_path(path, "indexed_only"))
    if obj.get("quantization") is not None:
        q = expect_object(obj["quantization"], join_path(path, "quantization"))
        qkw: dict = {}
        if q.get("ignore") is not None:
            qkw["ignore"] = expect_bool(q["ignore"], join_path(path, "quantization.ignore"))
        if q.get("rescore") is not None:
            qkw["rescore"] = expect_bool(q["rescore"], join_path(path, "quantization.rescore"))
        if q.get("oversampling") is not None:
            qkw["oversampling"] = expect_number(q["oversampling"], join_path(path, "quantization.oversampling"))
        kwargs["quantization"] = qe.QuantizationSearchParams(**qkw)
    if obj.get("acorn") is not None:
        a = expect_object(obj["acorn"], join_path(path, "acorn"))
        akw: dict = {}
        if a.get("enable") is not None:
            akw["enable"] = expect_bool(a["enable"], join_path(path, "acorn.enable"))
        if a.get("max_selectivity") is not None:
            akw["max_selectivity"] = expect_number(a["max_selectivity"], join_path(path, "acorn.max_selectivity"))
        kwargs["acorn"] = qe.AcornSearchParams(**akw)
    if obj.get("idf") is not None:
        raise errors.not_implemented("sparse vector IDF parameters")
    return qe.SearchParams(**kwargs)


def _score_threshold(body: dict) -> Optional[float]:
    return get(body, "score_threshold", "", expect_number)


def _reference_vector(shard: Any, pid: Any, using: str) -> list:
    """The stored vector of a point used as a query (VectorInput::Id)."""
    records = engine_call(shard.retrieve, [pid], False, [using])
    if not records or records[0].vector is None:
        raise errors.not_found(f"No point with id {pid} found")
    vector = records[0].vector
    if isinstance(vector, dict):
        vector = vector.get(using)
    if vector is None:
        raise errors.not_found(f"No point with id {pid} found")
    return vector


def _nearest_input(value: Any, path: str) -> tuple:
    """VectorInput -> ("vector", list) | ("id", point id)."""
    if is_int(value) or isinstance(value, str):
        return "id", point_id(value, path)
    return "vector", query_vector(value, path)


_FUSIONS = {"rrf": 0, "dbsf": 1}
# Qdrant's DEFAULT_RRF_K (lib/segment/src/common/reciprocal_rank_fusion.rs).
DEFAULT_RRF_K = 2


def _fusion(value: dict, path: str) -> tuple:
    """FusionQuery {fusion: rrf|dbsf} or RrfQuery {rrf: {k?, weights?}} -> ("fusion", engine fusion)."""
    if "fusion" in value:
        name = expect_str(value["fusion"], join_path(path, "fusion"))
        if name not in _FUSIONS:
            raise errors.format_error(f"unknown variant `{name}`, expected `rrf` or `dbsf` at `{join_path(path, 'fusion')}`")
        return "fusion", qe.Fusion.Rrf(k=DEFAULT_RRF_K) if name == "rrf" else qe.Fusion.Dbsf()
    rrf = expect_object(value["rrf"], join_path(path, "rrf"), "struct Rrf")
    k = rrf.get("k")
    k = DEFAULT_RRF_K if k is None else expect_uint(k, join_path(path, "rrf.k"))
    if k < 1:
        raise errors.validation_error(join_path(path, "rrf.k"), f"value {k} invalid, must be 1 or larger")
    weights = rrf.get("weights")
    if weights is not None:
        weights = [expect_number(w, join_path(join_path(path, "rrf.weights"), i)) for i, w in enumerate(expect_list(weights, join_path(path, "rrf.weights")))]
    return "fusion", qe.Fusion.Rrf(k=k, weights=weights)


def _parse_query(value: Any, path: str) -> Optional[tuple]:
    """QueryInterface -> None | ("vector", dense list or sparse) | ("id", id) | ("fusion", engine fusion)."""
    if value is None:
        return None
    if isinstance(value, dict) and not ("indices" in value or any(k in value for k in ("text", "image", "object"))):
        if "fusion" in value or "rrf" in value:
            return _fusion(value, path)
        if "nearest" in value:
            if value.get("mmr") is not None:
                raise errors.not_implemented("MMR re-ranking")
            return _nearest_input(value["nearest"], join_path(path, "nearest"))
        for key, feature in _OTHER_QUERIES.items():
            if key in value:
                raise errors.not_implemented(feature)
        raise errors.format_error(f"Expected some form of vector, id, or a type of query at `{path}`")
    return _nearest_input(value, path)


def _scoring_query(query: Optional[tuple], using_raw: Optional[str], sizes: dict, shard: Any, flt: Any, has_prefetch: bool, path: str) -> tuple:
    """A parsed query -> (engine query or None, filter): ids resolved to vectors, names checked."""
    if query is None:
        if using_raw:
            check_using(using_raw, sizes)
        return None, flt
    kind, value = query
    if kind == "fusion":
        if not has_prefetch:
            raise errors.bad_input("Fusion queries require prefetch")
        return value, flt
    using = check_using(using_raw, sizes)
    if kind == "id":
        vector = _reference_vector(shard, value, using)
        # Qdrant leaves the referenced point out of the results.
        flt = exclude_ids(flt, [value])
    else:
        vector = value
    check_using(using, sizes, vector)
    return qe.Query.Nearest(vector, using=using or None), flt


def _prefetches(value: Any, collection: Collection, shard: Any, path: str, depth: int = 0) -> list:
    """`prefetch`: one Prefetch or a list of them, nested as deep as the client asks (bounded)."""
    if value is None:
        return []
    if depth > 8:
        raise errors.bad_input("prefetch is nested too deep")
    items = value if isinstance(value, list) else [value]
    out = []
    sizes = cfg.vector_sizes(collection.config)
    for i, item in enumerate(items):
        ipath = join_path(path, i) if isinstance(value, list) else path
        obj = expect_object(item, ipath, "struct Prefetch")
        if obj.get("lookup_from") is not None:
            raise errors.not_implemented("lookup_from")
        nested = _prefetches(obj.get("prefetch"), collection, shard, join_path(ipath, "prefetch"), depth + 1)
        query = _parse_query(obj.get("query"), join_path(ipath, "query"))
        flt = optional_filter(obj, "filter", ipath)
        engine_query, flt = _scoring_query(query, get(obj, "using", ipath, expect_str), sizes, shard, flt, bool(nested), ipath)
        out.append(
            engine_call(
                qe.Prefetch,
                limit=get(obj, "limit", ipath, lambda v, p: expect_uint(v, p, minimum=1), 10),
                query=engine_query,
                prefetches=nested or None,
                params=get(obj, "params", ipath, _search_params),
                filter=flt,
                score_threshold=get(obj, "score_threshold", ipath, expect_number),
            )
        )
    return out


def _query_request(body: dict, collection: Collection, shard: Any, path: str = "") -> Any:
    """A QueryRequest body -> qe.QueryRequest (needs the shard to resolve queries by id)."""
    if body.get("shard_key") is not None:
        raise errors.not_implemented("shard keys (custom sharding)")
    if body.get("lookup_from") is not None:
        raise errors.not_implemented("lookup_from")
    sizes = cfg.vector_sizes(collection.config)
    prefetches = _prefetches(body.get("prefetch"), collection, shard, join_path(path, "prefetch"))
    query = _parse_query(body.get("query"), join_path(path, "query"))
    flt = optional_filter(body, "filter", path)
    engine_query, flt = _scoring_query(query, get(body, "using", path, expect_str), sizes, shard, flt, bool(prefetches), path)
    limit = get(body, "limit", path, lambda v, p: expect_uint(v, p, minimum=1), 10)
    offset = get(body, "offset", path, expect_uint, 0)
    params = get(body, "params", path, _search_params)
    selection = get(body, "with_payload", path, with_payload, False)
    vectors = get_alias(body, ("with_vector", "with_vectors"), path, with_vector, False)
    threshold = get(body, "score_threshold", path, expect_number)
    return engine_call(
        qe.QueryRequest,
        limit=limit,
        offset=offset,
        query=engine_query,
        prefetches=prefetches or None,
        filter=flt,
        params=params,
        with_payload=engine_with_payload(selection),
        with_vector=vectors,
        score_threshold=threshold,
    )


def _search_request(body: dict, collection: Collection, path: str = "") -> Any:
    """A legacy SearchRequest body -> qe.QueryRequest with the same semantics."""
    if body.get("shard_key") is not None:
        raise errors.not_implemented("shard keys (custom sharding)")
    sizes = cfg.vector_sizes(collection.config)
    if "vector" not in body:
        raise missing_field(path, "vector")
    raw = body["vector"]
    using = ""
    if isinstance(raw, dict) and "name" in raw:
        using = expect_str(raw["name"], join_path(path, "vector.name"))
        if "vector" not in raw:
            raise missing_field(join_path(path, "vector"), "vector")
        vector = query_vector(raw["vector"], join_path(path, "vector.vector"))
    else:
        vector = query_vector(raw, join_path(path, "vector"))
    using = check_using(using, sizes, vector)
    limit = get_alias(body, ("limit", "top"), path, lambda v, p: expect_uint(v, p, minimum=1))
    if limit is None:
        raise missing_field(path, "limit")
    return engine_call(
        qe.QueryRequest,
        limit=limit,
        offset=get(body, "offset", path, expect_uint, 0),
        query=qe.Query.Nearest(vector, using=using or None),
        filter=optional_filter(body, "filter", path),
        params=get(body, "params", path, _search_params),
        with_payload=engine_with_payload(get(body, "with_payload", path, with_payload, False)),
        with_vector=get_alias(body, ("with_vector", "with_vectors"), path, with_vector, False),
        score_threshold=get(body, "score_threshold", path, expect_number),
    )


class SearchApi:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def _collection(self, request: Request) -> Collection:
        collection = self.registry.resolve(path_collection_name(request))
        query_consistency(request.query)
        query_uint(request.query, "timeout", minimum=1)
        return collection

    def query(self, request: Request) -> Any:
        collection = self._collection(request)
        body = request.json_object()
        with collection.use() as shard:
            points = engine_call(shard.query, _query_request(body, collection, shard))
        return {"points": [render_scored(p) for p in points]}

    def query_batch(self, request: Request) -> Any:
        collection = self._collection(request)
        body = request.json_object()
        if "searches" not in body:
            raise missing_field("", "searches")
        searches = expect_list(body["searches"], "searches")
        with collection.use() as shard:
            requests = [
                _query_request(expect_object(s, join_path("searches", i)), collection, shard, join_path("searches", i))
                for i, s in enumerate(searches)
            ]
            results = engine_call(shard.query_batch, qe.QueryBatchRequest(requests)) if requests else []
        return [{"points": [render_scored(p) for p in points]} for points in results]

    def search(self, request: Request) -> Any:
        collection = self._collection(request)
        body = request.json_object()
        query = _search_request(body, collection)
        with collection.use() as shard:
            points = engine_call(shard.query, query)
        return [render_scored(p) for p in points]

    def search_batch(self, request: Request) -> Any:
        collection = self._collection(request)
        body = request.json_object()
        if "searches" not in body:
            raise missing_field("", "searches")
        searches = expect_list(body["searches"], "searches")
        requests = [
            _search_request(expect_object(s, join_path("searches", i)), collection, join_path("searches", i))
            for i, s in enumerate(searches)
        ]
        with collection.use() as shard:
            results = engine_call(shard.query_batch, qe.QueryBatchRequest(requests)) if requests else []
        return [[render_scored(p) for p in points] for points in results]

    def facet(self, request: Request) -> Any:
        collection = self._collection(request)
        body = request.json_object()
        if body.get("shard_key") is not None:
            raise errors.not_implemented("shard keys (custom sharding)")
        if "key" not in body:
            raise missing_field("", "key")
        facet = engine_call(
            qe.FacetRequest,
            key=expect_str(body["key"], "key"),
            limit=get(body, "limit", "", lambda v, p: expect_uint(v, p, minimum=1), 10),
            exact=get(body, "exact", "", expect_bool, False),
            filter=optional_filter(body),
        )
        with collection.use() as shard:
            response = engine_call(shard.facet, facet)
        return {"hits": [{"value": hit.value, "count": hit.count} for hit in response.hits]}
