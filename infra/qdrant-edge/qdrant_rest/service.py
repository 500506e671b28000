"""Service endpoints: version info and the Kubernetes-style health checks."""

from __future__ import annotations

from typing import Any

from .routing import Raw, Request
from .version import QDRANT_API_VERSION, SERVER_TITLE

TEXT = "text/plain; charset=utf-8"


def root(_request: Request) -> Raw:
    # Qdrant answers `GET /` with bare VersionInfo, outside the result envelope.
    return Raw(200, {"title": SERVER_TITLE, "version": QDRANT_API_VERSION})


def healthz(_request: Request) -> Raw:
    return Raw(200, "healthz check passed", TEXT)


def readyz(_request: Request) -> Raw:
    # Collections are loaded before the server starts listening, so listening means ready.
    return Raw(200, "all shards are ready", TEXT)


def cluster_status(_request: Request) -> Any:
    # What a standalone (non-distributed) Qdrant reports.
    return {"status": "disabled"}
