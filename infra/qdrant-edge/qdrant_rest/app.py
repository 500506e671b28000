"""The route table: which Qdrant endpoints this server answers, and which it refuses with 501."""

from __future__ import annotations

from .collections import Registry
from .collections_api import CollectionsApi
from .points import PointsApi
from .routing import Router
from .search import SearchApi
from .service import cluster_status, healthz, readyz, root

C = "/collections/{collection_name}"


def build_router(registry: Registry) -> Router:
    collections = CollectionsApi(registry)
    points = PointsApi(registry)
    search = SearchApi(registry)
    router = Router()

    # Health and version are answered without an API key, as in Qdrant.
    router.add("GET", "/", root, public=True)
    router.add("GET", "/healthz", healthz, public=True)
    router.add("GET", "/livez", healthz, public=True)
    router.add("GET", "/readyz", readyz, public=True)
    router.add("GET", "/cluster", cluster_status)

    # Registration order matters where patterns overlap (qdrant/qdrant#3543): aliases first.
    router.add("POST", "/collections/aliases", collections.update_aliases)
    router.add("GET", "/collections", collections.list)
    router.add("GET", C, collections.get)
    router.add("GET", f"{C}/exists", collections.exists)
    router.add("PUT", C, collections.create)
    router.add("PATCH", C, collections.update)
    router.add("DELETE", C, collections.delete)
    router.add("GET", "/aliases", collections.list_aliases)
    router.add("GET", f"{C}/aliases", collections.collection_aliases)

    router.add("PUT", f"{C}/index", collections.create_index)
    router.add("DELETE", f"{C}/index/{{field_name}}", collections.delete_index)

    router.add("PUT", f"{C}/points", points.upsert)
    router.add("POST", f"{C}/points/delete", points.delete)
    router.add("PUT", f"{C}/points/vectors", points.update_vectors)
    router.add("POST", f"{C}/points/vectors/delete", points.delete_vectors)
    router.add("POST", f"{C}/points/payload", points.set_payload)
    router.add("PUT", f"{C}/points/payload", points.overwrite_payload)
    router.add("POST", f"{C}/points/payload/delete", points.delete_payload)
    router.add("POST", f"{C}/points/payload/clear", points.clear_payload)
    router.add("POST", f"{C}/points/batch", points.batch)

    router.add("POST", f"{C}/points/search", search.search)
    router.add("POST", f"{C}/points/search/batch", search.search_batch)
    router.add("POST", f"{C}/points/query", search.query)
    router.add("POST", f"{C}/points/query/batch", search.query_batch)
    router.add("POST", f"{C}/facet", search.facet)

    router.add("POST", f"{C}/points/scroll", points.scroll)
    router.add("POST", f"{C}/points/count", points.count)
    router.add("GET", f"{C}/points/{{id}}", points.get_point)
    router.add("POST", f"{C}/points", points.retrieve)

    # Qdrant endpoints without an Edge counterpart (cluster, snapshots, shards, telemetry, ...).
    for pattern in (
        "/telemetry",
        "/metrics",
        "/issues",
        "/quotas",
        "/logger",
        "/stacktrace",
        "/cluster/**",
        "/snapshots/**",
        "/snapshots",
        f"{C}/cluster",
        f"{C}/snapshots/**",
        f"{C}/snapshots",
        f"{C}/shards/**",
        f"{C}/shards",
        f"{C}/vectors/**",
        f"{C}/optimizations",
        f"{C}/memory",
        f"{C}/truncate_unapplied_wal",
        f"{C}/points/query/groups",
        f"{C}/points/search/groups",
        f"{C}/points/search/matrix/**",
        f"{C}/points/recommend/**",
        f"{C}/points/recommend",
        f"{C}/points/discover/**",
        f"{C}/points/discover",
    ):
        router.unsupported(pattern)
    return router
