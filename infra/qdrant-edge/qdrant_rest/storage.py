"""On-disk layout under --storage, and crash-safe file writes.

    <storage>/.lock                      held (flock) by the running server
    <storage>/aliases.json               {"alias": "collection", ...}
    <storage>/collections/<id>/collection.json   name + Qdrant-shaped config (written last)
    <storage>/collections/<id>/shard/            the EdgeShard
    <storage>/.trash/                    collections being deleted; emptied on start

Collection directories are named by a random id, not by the collection name: a Qdrant name may
hold characters a file name cannot, and a name can be reused right after a delete.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any, Optional

COLLECTION_FILE = "collection.json"
SHARD_DIR = "shard"


class StorageLockedError(RuntimeError):
    pass


def write_json_atomic(path: Path, data: Any) -> None:
    """Write to a temp file, fsync, rename over `path`, fsync the directory: all or nothing."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    payload = json.dumps(data, ensure_ascii=False, allow_nan=False, indent=1).encode("utf-8")
    with open(tmp, "wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_json(path: Path) -> Any:
    with open(path, "rb") as handle:
        return json.loads(handle.read().decode("utf-8"))


class StorageLayout:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.collections = root / "collections"
        self.trash = root / ".trash"
        self.aliases_file = root / "aliases.json"
        self._lock_handle: Optional[Any] = None

    def open(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock()
        self.collections.mkdir(exist_ok=True)
        self.trash.mkdir(exist_ok=True)
        # Deletes interrupted by a crash finish now.
        for leftover in self.trash.iterdir():
            shutil.rmtree(leftover, ignore_errors=True)
        for leftover in self.root.glob(".*.tmp"):
            leftover.unlink(missing_ok=True)

    def _lock(self) -> None:
        handle = open(self.root / ".lock", "a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise StorageLockedError(f"storage directory {self.root} is in use by another qdrant-edge server") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._lock_handle = handle

    def close(self) -> None:
        if self._lock_handle is not None:
            self._lock_handle.close()
            self._lock_handle = None

    def new_collection_dir(self) -> Path:
        path = self.collections / uuid.uuid4().hex
        path.mkdir()
        return path

    def collection_dirs(self) -> list:
        return sorted(p for p in self.collections.iterdir() if p.is_dir())

    def discard(self, path: Path) -> None:
        """Move a collection directory out of sight at once; delete it in the background.

        The rename is what makes a delete durable: `.trash` is emptied again on every start.
        """
        target = self.trash / f"{path.name}-{uuid.uuid4().hex[:8]}"
        os.replace(path, target)
        fsync_dir(self.collections)
        threading.Thread(target=shutil.rmtree, args=(target, True), name="discard", daemon=True).start()
