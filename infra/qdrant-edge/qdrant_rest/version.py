"""What this server claims to be on `GET /`.

qdrant-edge-py 0.9.0 was cut from Qdrant's `dev` branch right after the 1.19.0 release, when the
workspace version there read `1.19.1-dev`. That is the Qdrant version whose engine (segments,
shard, filters, scoring) answers here, so it is the version we claim. Clients only compare
major.minor (the JS client warns when the minor versions differ by more than one), and 1.19.x
is also the REST API this server implements.
"""

ENGINE_VERSION = "0.9.0"
QDRANT_API_VERSION = "1.19.1-dev"
SERVER_TITLE = f"qdrant-edge - vector search engine (Qdrant Edge {ENGINE_VERSION} behind Qdrant's REST API)"
