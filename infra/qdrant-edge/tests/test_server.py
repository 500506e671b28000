"""Server-level tests: restart persistence, process behaviour and Edge-specific workarounds.

Run with the Python that has qdrant-edge-py installed (the cached venv):
    <venv>/bin/python -m unittest discover -s infra/qdrant-edge/tests
The conformance of the REST API itself is test/integration/qdrant-conformance.test.ts.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Optional

SERVER = Path(__file__).resolve().parent.parent / "server.py"
PYTHON = os.environ.get("QDRANT_EDGE_PYTHON", sys.executable)
START_TIMEOUT_SEC = 30


class ServerProcess:
    def __init__(self, storage: Path, port: int = 0, api_key: Optional[str] = None) -> None:
        args = [PYTHON, str(SERVER), "--host", "127.0.0.1", "--port", str(port), "--storage", str(storage)]
        if api_key:
            args += ["--api-key", api_key]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.url = self._wait_for_listening_line()

    def _wait_for_listening_line(self) -> str:
        found: dict = {}

        def read() -> None:
            assert self.proc.stdout is not None
            found["line"] = self.proc.stdout.readline()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(START_TIMEOUT_SEC)
        line = found.get("line", "")
        prefix = "qdrant-edge-server listening on "
        if not line.startswith(prefix):
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait(timeout=30)
            errors = self.proc.stderr.read() if self.proc.stderr is not None else ""
            self._close_pipes()
            raise AssertionError(f"server did not start: {line!r} {errors}")
        return line[len(prefix):].strip()

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        self._close_pipes()
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        self._close_pipes()

    def _close_pipes(self) -> None:
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None and not pipe.closed:
                pipe.close()

    def call(self, method: str, path: str, body: Any = None, headers: Optional[dict] = None) -> tuple:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            raw = error.read()
            status = error.code
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode()

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, payload = self.call(method, path, body)
        assert status == 200, f"{method} {path} -> {status} {payload}"
        assert payload["status"] == "ok", payload
        return payload["result"]


class ServerTestCase(unittest.TestCase):
    def setUp(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="qdrant-edge-test-")
        self.storage = Path(self._tmp.name) / "storage"
        self.servers: list = []

    def tearDown(self) -> None:
        for server in self.servers:
            server.kill()
        self._tmp.cleanup()

    def start(self, **kwargs: Any) -> ServerProcess:
        server = ServerProcess(self.storage, **kwargs)
        self.servers.append(server)
        return server


def _points(count: int, dim: int = 4) -> list:
    return [
        {"id": i, "vector": [float((i * 7 + j) % 11) + 1.0 for j in range(dim)], "payload": {"n": i, "tag": "even" if i % 2 == 0 else "odd"}}
        for i in range(count)
    ]


class RestartTest(ServerTestCase):
    def _populate(self, server: ServerProcess) -> None:
        server.ok("PUT", "/collections/docs", {"vectors": {"size": 4, "distance": "Dot"}, "metadata": {"model": "m1"}})
        server.ok("PUT", "/collections/docs/points?wait=true", {"points": _points(50)})
        server.ok("PUT", "/collections/docs/index?wait=true", {"field_name": "tag", "field_schema": {"type": "keyword", "is_tenant": True}})
        server.ok("POST", "/collections/docs/points/delete?wait=true", {"points": [0, 1]})
        server.ok("POST", "/collections/aliases", {"actions": [{"create_alias": {"alias_name": "live", "collection_name": "docs"}}]})

    def _check(self, server: ServerProcess) -> None:
        self.assertEqual(server.ok("POST", "/collections/live/points/count", {}), {"count": 48})
        self.assertEqual(server.ok("POST", "/collections/docs/points/count", {"filter": {"must": [{"key": "tag", "match": {"value": "odd"}}]}}), {"count": 24})
        info = server.ok("GET", "/collections/docs")
        self.assertEqual(info["config"]["metadata"], {"model": "m1"})
        self.assertEqual(info["config"]["params"]["vectors"], {"size": 4, "distance": "Dot"})
        self.assertEqual(info["payload_schema"]["tag"]["data_type"], "keyword")
        self.assertEqual(info["payload_schema"]["tag"]["params"], {"type": "keyword", "is_tenant": True})
        self.assertEqual(server.ok("GET", "/aliases"), {"aliases": [{"alias_name": "live", "collection_name": "docs"}]})
        record = server.ok("GET", "/collections/docs/points/7")
        self.assertEqual(record["payload"], {"n": 7, "tag": "odd"})

    def test_data_survives_a_graceful_restart(self) -> None:
        server = self.start()
        self._populate(server)
        self.assertEqual(server.terminate(), 0)
        self._check(self.start())

    def test_acknowledged_writes_survive_a_crash(self) -> None:
        server = self.start()
        self._populate(server)
        server.kill()
        self._check(self.start())

    def test_named_vectors_are_listed_in_qdrant_order(self) -> None:
        # Qdrant keeps named vectors in a BTreeMap (VectorsConfig::Multi in
        # lib/collection/src/operations/types.rs, CollectionParams.sparse_vectors in
        # lib/collection/src/config.rs): its collection info lists them sorted by name.
        server = self.start()
        server.ok("PUT", "/collections/n", {
            "vectors": {name: {"size": 2, "distance": "Cosine"} for name in ("text", "image", "audio")},
            "sparse_vectors": {"text-bm25-en-porter-v2": {"modifier": "idf"}, "a-sparse": {}},
        })
        qdrant_order = (["audio", "image", "text"], ["a-sparse", "text-bm25-en-porter-v2"])

        def listed(server: ServerProcess) -> tuple:
            params = server.ok("GET", "/collections/n")["config"]["params"]
            return list(params["vectors"]), list(params["sparse_vectors"])

        self.assertEqual(listed(server), qdrant_order)
        self.assertEqual(server.terminate(), 0)
        # A collection stored in creation order (by a server before this one) is listed the same.
        (directory,) = (self.storage / "collections").iterdir()
        meta = json.loads((directory / "collection.json").read_text())
        for key in ("vectors", "sparse_vectors"):
            meta["config"]["params"][key] = dict(reversed(meta["config"]["params"][key].items()))
        (directory / "collection.json").write_text(json.dumps(meta))
        self.assertEqual(listed(self.start()), qdrant_order)

    def test_deleted_collection_stays_deleted(self) -> None:
        server = self.start()
        self._populate(server)
        self.assertIs(server.ok("DELETE", "/collections/docs"), True)
        server.kill()
        restarted = self.start()
        self.assertEqual(restarted.ok("GET", "/collections"), {"collections": []})
        self.assertEqual(restarted.ok("GET", "/aliases"), {"aliases": []})
        self.assertEqual(list((self.storage / "collections").iterdir()), [])


class ProcessTest(ServerTestCase):
    def test_port_in_use_exits_with_code_2(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            sock.listen()
            port = sock.getsockname()[1]
            proc = subprocess.run(
                [PYTHON, str(SERVER), "--port", str(port), "--storage", str(self.storage)],
                capture_output=True, text=True, timeout=60,
            )
        self.assertEqual(proc.returncode, 2)
        self.assertIn(f"port {port}", proc.stderr)
        self.assertEqual(proc.stdout, "")

    def test_second_server_on_same_storage_is_refused(self) -> None:
        self.start()
        proc = subprocess.run([PYTHON, str(SERVER), "--port", "0", "--storage", str(self.storage)], capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 3)
        self.assertIn("in use", proc.stderr)

    def test_api_key_is_required_except_for_health(self) -> None:
        server = self.start(api_key="s3cret")
        status, body = server.call("GET", "/collections")
        self.assertEqual((status, body), (401, "Must provide an API key or an Authorization bearer token"))
        status, _ = server.call("GET", "/collections", headers={"api-key": "wrong"})
        self.assertEqual(status, 401)
        status, body = server.call("GET", "/collections", headers={"api-key": "s3cret"})
        self.assertEqual(status, 200)
        status, _ = server.call("GET", "/collections", headers={"Authorization": "Bearer s3cret"})
        self.assertEqual(status, 200)
        for path in ("/", "/healthz", "/livez", "/readyz"):
            self.assertEqual(server.call("GET", path)[0], 200, path)


class BehaviourTest(ServerTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.server = self.start()
        self.server.ok("PUT", "/collections/c", {"vectors": {"size": 2, "distance": "Cosine"}})

    def test_bool_match_does_not_match_integers(self) -> None:
        # qdrant-edge-py reads Python's True as the integer 1 unless the server works around it.
        self.server.ok("PUT", "/collections/c/points?wait=true", {"points": [
            {"id": 1, "vector": [1, 0], "payload": {"flag": True}},
            {"id": 2, "vector": [0, 1], "payload": {"flag": 1}},
            {"id": 3, "vector": [1, 1], "payload": {"flag": False}},
        ]})
        scroll = self.server.ok("POST", "/collections/c/points/scroll", {"filter": {"must": [{"key": "flag", "match": {"value": True}}]}})
        self.assertEqual([p["id"] for p in scroll["points"]], [1])
        scroll = self.server.ok("POST", "/collections/c/points/scroll", {"filter": {"must": [{"key": "flag", "match": {"value": 1}}]}})
        self.assertEqual([p["id"] for p in scroll["points"]], [2])
        status, body = self.server.call("POST", "/collections/c/points/count", {"filter": {"must": [{"key": "flag", "match": {"any": [True]}}]}})
        self.assertEqual(status, 400, body)

    def test_alias_changes_are_all_or_nothing(self) -> None:
        status, body = self.server.call("POST", "/collections/aliases", {"actions": [
            {"create_alias": {"alias_name": "a1", "collection_name": "c"}},
            {"create_alias": {"alias_name": "a2", "collection_name": "missing"}},
        ]})
        self.assertEqual(status, 404)
        self.assertEqual(body["status"]["error"], "Not found: Collection `missing` doesn't exist!")
        self.assertEqual(self.server.ok("GET", "/aliases"), {"aliases": []})

    def test_alias_name_rules(self) -> None:
        status, _ = self.server.call("POST", "/collections/aliases", {"actions": [{"create_alias": {"alias_name": "c", "collection_name": "c"}}]})
        self.assertEqual(status, 409)
        self.server.ok("POST", "/collections/aliases", {"actions": [{"create_alias": {"alias_name": "al", "collection_name": "c"}}]})
        status, body = self.server.call("PUT", "/collections/al", {"vectors": {"size": 2, "distance": "Dot"}})
        self.assertEqual(status, 400, body)
        # Deleting through an alias deletes nothing (Qdrant takes the name literally).
        self.assertIs(self.server.ok("DELETE", "/collections/al"), False)
        self.assertEqual(self.server.ok("GET", "/collections/c/exists"), {"exists": True})
        status, body = self.server.call("POST", "/collections/aliases", {"actions": [{"rename_alias": {"old_alias_name": "nope", "new_alias_name": "x"}}]})
        self.assertEqual((status, body["status"]["error"]), (404, "Not found: Alias nope does not exists!"))

    def test_metadata_merges_on_update(self) -> None:
        self.server.ok("PATCH", "/collections/c", {"metadata": {"a": 1, "b": 2}})
        self.server.ok("PATCH", "/collections/c", {"metadata": {"b": None, "c": 3}, "optimizers_config": {"indexing_threshold": 20000}})
        config = self.server.ok("GET", "/collections/c")["config"]
        self.assertEqual(config["metadata"], {"a": 1, "c": 3})
        self.assertEqual(config["optimizer_config"]["indexing_threshold"], 20000)
        self.assertEqual(self.server.ok("POST", "/collections/c/points/count", {}), {"count": 0})

    def test_named_vectors(self) -> None:
        self.server.ok("PUT", "/collections/n", {"vectors": {"text": {"size": 2, "distance": "Dot"}, "image": {"size": 3, "distance": "Euclid"}}})
        self.server.ok("PUT", "/collections/n/points?wait=true", {"points": [
            {"id": 1, "vector": {"text": [1, 0], "image": [0, 0, 1]}},
            {"id": 2, "vector": {"text": [0, 1]}},
        ]})
        hits = self.server.ok("POST", "/collections/n/points/query", {"query": [0, 0, 1], "using": "image", "with_vector": ["image"]})
        self.assertEqual([(h["id"], h["vector"]) for h in hits["points"]], [(1, {"image": [0.0, 0.0, 1.0]})])
        status, body = self.server.call("PUT", "/collections/n/points?wait=true", {"points": [{"id": 3, "vector": {"text": [1, 0, 0]}}]})
        self.assertEqual((status, body["status"]["error"]), (400, "Wrong input: Vector dimension error: expected dim: 2, got 3"))

    def test_unsupported_requests_are_refused_not_ignored(self) -> None:
        for method, path, body, status in (
            ("PUT", "/collections/s", {"vectors": {"size": 2, "distance": "Dot"}, "quantization_config": {"product": {"compression": "x16"}}}, 501),
            ("POST", "/collections/c/points/query", {"query": {"discover": {"target": [1, 0], "context": []}}}, 501),
            ("POST", "/collections/c/points/query", {"query": {"recommend": {"positive": [1]}}}, 501),
            ("POST", "/collections/c/points/query", {"query": [1, 0], "shard_key": "x"}, 501),
            ("GET", "/collections/c/snapshots", None, 501),
            ("GET", "/no/such/route", None, 404),
            ("PUT", "/collections/bad*name", {"vectors": {"size": 2, "distance": "Dot"}}, 422),
        ):
            got, payload = self.server.call(method, path, body)
            self.assertEqual(got, status, f"{method} {path}: {payload}")
            self.assertIn("error", payload["status"], payload)

    def test_ids_are_validated_and_uuids_normalised(self) -> None:
        for bad in (-1, 1.5, "not-a-uuid", True, 2**64):
            status, body = self.server.call("PUT", "/collections/c/points?wait=true", {"points": [{"id": bad, "vector": [1, 0]}]})
            self.assertEqual(status, 400, f"{bad!r}: {body}")
        self.server.ok("PUT", "/collections/c/points?wait=true", {"points": [
            {"id": "{6F9619FF-8B86-D011-B42D-00C04FC964FF}", "vector": [1, 0]},
            {"id": 2**64 - 1, "vector": [0, 1]},
        ]})
        scroll = self.server.ok("POST", "/collections/c/points/scroll", {"limit": 10})
        self.assertEqual([p["id"] for p in scroll["points"]], [2**64 - 1, "6f9619ff-8b86-d011-b42d-00c04fc964ff"])
        status, body = self.server.call("POST", "/collections/c/points/count", {"filter": {"must": [{"has_id": ["xyz"]}]}})
        self.assertEqual(status, 400, body)
        status, _ = self.server.call("PUT", "/collections/c/points?wait=true", body=None)
        self.assertEqual(status, 400)


if __name__ == "__main__":
    unittest.main()
