#!/usr/bin/env python3
"""Qdrant's REST API over the Qdrant Edge engine.

    python server.py --host 127.0.0.1 --port 6333 --storage DIR [--api-key KEY] [--exit-with-parent]

Prints `qdrant-edge-server listening on http://HOST:PORT` once it accepts requests (with
`--port 0` the port is picked by the OS and printed). SIGTERM/SIGINT flush and close every
collection, then exit 0. Exit codes: 2 the port is taken, 3 the storage is used by another
server, 1 anything else that stops it from starting.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import socket
import sys
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from qdrant_rest.app import build_router  # noqa: E402
from qdrant_rest.collections import Registry  # noqa: E402
from qdrant_rest.routing import make_handler  # noqa: E402
from qdrant_rest.storage import StorageLayout, StorageLockedError  # noqa: E402

FLUSH_TICK_SEC = 1.0


def log(line: str) -> None:
    print(f"qdrant-edge-server: {line}", file=sys.stderr, flush=True)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, host: str, port: int, handler: type) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), handler)


def parse_args(argv: list) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Qdrant REST API over the Qdrant Edge engine")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6333)
    parser.add_argument("--storage", required=True, help="directory for collections and aliases")
    parser.add_argument("--api-key", default=None, help="require this key in the `api-key` header")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="stop (as on SIGTERM) when the process that started the server dies (Linux)",
    )
    return parser.parse_args(argv)


def exit_with_parent() -> bool:
    """Ask the kernel for SIGTERM when our parent dies; False if that is not possible here."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        if libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    # The parent may have died before prctl took effect; we were then re-parented.
    return os.getppid() != 1


def main(argv: list) -> int:
    args = parse_args(argv)
    if args.exit_with_parent and not exit_with_parent():
        log("--exit-with-parent: the parent process is gone (or prctl is unavailable); not starting")
        return 1
    if not 0 <= args.port <= 65535:
        log(f"--port must be between 0 and 65535, got {args.port}")
        return 1

    layout = StorageLayout(Path(args.storage).resolve())
    try:
        layout.open()
    except StorageLockedError as exc:
        log(str(exc))
        return 3
    except OSError as exc:
        log(f"cannot use storage directory {args.storage}: {exc}")
        return 1

    registry = Registry(layout, log)
    stopping = threading.Event()
    try:
        handler = make_handler(build_router(registry), args.api_key or None, stopping, args.verbose)
        try:
            httpd = Server(args.host, args.port, handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                log(f"port {args.port} on {args.host} is already in use; stop what listens there or pick another --port")
                return 2
            log(f"cannot listen on {args.host}:{args.port}: {exc}")
            return 1
        try:
            registry.load()
        except Exception as exc:  # noqa: BLE001 - reported, then a clean exit code
            log(str(exc))
            httpd.server_close()
            return 1
        return serve(httpd, registry, stopping)
    finally:
        layout.close()


def serve(httpd: Server, registry: Registry, stopping: threading.Event) -> int:
    stop = threading.Event()

    def request_stop(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    serving = threading.Thread(target=httpd.serve_forever, name="http", daemon=True)
    serving.start()

    def flush_loop() -> None:
        while not stop.wait(FLUSH_TICK_SEC):
            registry.flush_due()

    flusher = threading.Thread(target=flush_loop, name="flush", daemon=True)
    flusher.start()

    host, port = httpd.server_address[:2]
    shown_host = f"[{host}]" if ":" in host else host
    print(f"qdrant-edge-server listening on http://{shown_host}:{port}", flush=True)

    while not stop.wait(0.5):
        pass
    log("stopping: flushing and closing collections")
    stopping.set()
    httpd.shutdown()
    httpd.server_close()
    flusher.join(timeout=5)
    registry.close_all()
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
