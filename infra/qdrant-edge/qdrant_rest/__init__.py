"""A server that speaks Qdrant's REST API on top of the Qdrant Edge engine (qdrant-edge-py).

One collection is one EdgeShard in its own directory; aliases, collection configs and payload
index parameters are kept by this package, because the engine has no notion of them.
"""

from .version import SERVER_TITLE, QDRANT_API_VERSION

__all__ = ["SERVER_TITLE", "QDRANT_API_VERSION"]
