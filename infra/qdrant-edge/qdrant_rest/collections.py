"""Collections (one EdgeShard each), name resolution through aliases, and the periodic flush.

Concurrency: qdrant-edge-py 0.9.0 keeps the GIL for the whole of every engine call, so engine
calls never overlap and a long one (e.g. `optimize`) stalls every other thread. The Rust shard
is internally synchronised, so data operations only share a collection's lock; closing or
re-opening a shard takes it exclusively, after which late requests see "doesn't exist".
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import qdrant_edge as qe

from . import config as cfg
from . import errors
from .aliases import AliasTable
from .storage import COLLECTION_FILE, SHARD_DIR, StorageLayout, read_json, write_json_atomic


class RWLock:
    """Many readers or one writer; a waiting writer holds back new readers."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if self._readers == 0:
                    self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


class Collection:
    def __init__(self, name: str, directory: Path, config: dict, index_params: dict, shard: Any, next_op: int = 0) -> None:
        self.name = name
        self.directory = directory
        self.config = config
        # field -> params object as the client gave it (the engine only reports the type).
        self.index_params = index_params
        self._shard = shard
        self._lock = RWLock()
        self._closed = False
        self._dirty = False
        self._last_flush = time.monotonic()
        self._op_lock = threading.Lock()
        # Operation ids are counted here (the engine does not expose its WAL position) and
        # saved with each flush, so they keep growing across restarts.
        self._next_op = next_op
        self._saved_op = next_op
        # Serialises changes to `config`/`index_params` and their file.
        self.meta_lock = threading.Lock()

    @contextlib.contextmanager
    def use(self) -> Iterator[Any]:
        """The open shard, or 404 if the collection was deleted meanwhile."""
        with self._lock.shared():
            if self._closed:
                raise errors.collection_not_found(self.name)
            yield self._shard

    def update(self, operation: Any) -> int:
        """Apply one engine update; returns the operation id reported to the client."""
        with self.use() as shard:
            try:
                shard.update(operation)
            except errors.ApiError:
                raise
            except Exception as exc:  # noqa: BLE001 - engine errors are classified, not leaked
                raise errors.from_engine(exc) from exc
            self._dirty = True
            with self._op_lock:
                op_id = self._next_op
                self._next_op += 1
            return op_id

    def flush_if_due(self, now: float) -> None:
        if not self._dirty or now - self._last_flush < cfg.flush_interval_sec(self.config):
            return
        self.flush()

    def flush(self) -> None:
        with self._lock.shared():
            if self._closed:
                return
            self._dirty = False
            self._last_flush = time.monotonic()
            self._shard.flush()
            self._save_op_counter()

    def _save_op_counter(self) -> None:
        if self._next_op != self._saved_op:
            with self.meta_lock:
                self.save()

    def save(self) -> None:
        """Write name, config, index params and the op counter; callers hold `meta_lock`."""
        next_op = self._next_op
        write_json_atomic(
            self.directory / COLLECTION_FILE,
            {
                "name": self.name,
                "config": self.config,
                "payload_index_params": self.index_params,
                "next_operation_id": next_op,
            },
        )
        self._saved_op = next_op

    def reconfigure(self, new_config: dict, reload_engine: bool) -> None:
        """Persist a new config; re-open the shard with it when engine settings changed."""
        with self._lock.exclusive(), self.meta_lock:
            if self._closed:
                raise errors.collection_not_found(self.name)
            old = self.config
            self.config = new_config
            try:
                self.save()
            except Exception:
                self.config = old
                raise
            if reload_engine:
                self._reopen(old, new_config)

    def _reopen(self, old_config: dict, new_config: dict) -> None:
        path = str(self.directory / SHARD_DIR)
        self._shard.flush()
        self._shard.close()
        try:
            # EdgeShard.load overwrites the persisted engine config with the one given.
            self._shard = qe.EdgeShard.load(path, cfg.edge_config(new_config))
        except Exception as exc:
            self._shard = qe.EdgeShard.load(path, cfg.edge_config(old_config))
            self.config = old_config
            self.save()
            raise errors.from_engine(exc) from exc

    def close(self, flush: bool = True) -> None:
        """Close the shard once in-flight requests are done; `flush=False` when it is being deleted."""
        with self._lock.exclusive():
            if self._closed:
                return
            self._closed = True
            try:
                if flush and self._dirty:
                    self._shard.flush()
                if flush:
                    self._save_op_counter()
            finally:
                self._shard.close()


class Registry:
    """Collections by name plus the alias table; the only place names are resolved."""

    def __init__(self, layout: StorageLayout, log: Any = None) -> None:
        self._layout = layout
        self._log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self._collections: dict = {}
        self._aliases = AliasTable(layout.aliases_file)
        # `_meta` serialises create/delete/alias changes; `_map` guards the dicts briefly.
        self._meta = threading.Lock()
        self._map = threading.Lock()

    # ---- start and stop -----------------------------------------------------------------------

    def load(self) -> None:
        for directory in self._layout.collection_dirs():
            meta_file = directory / COLLECTION_FILE
            if not meta_file.exists():
                # A create that crashed before its config was written: nothing was acknowledged.
                self._log(f"removing incomplete collection directory {directory}")
                self._layout.discard(directory)
                continue
            meta = read_json(meta_file)
            name = meta["name"]
            try:
                shard = qe.EdgeShard.load(str(directory / SHARD_DIR))
            except Exception as exc:
                raise RuntimeError(f"cannot load collection `{name}` from {directory}: {exc}") from exc
            self._collections[name] = Collection(
                name, directory, cfg.in_qdrant_order(meta["config"]), meta.get("payload_index_params", {}), shard, meta.get("next_operation_id", 0)
            )
        self._aliases.load(set(self._collections))

    def close_all(self) -> None:
        with self._map:
            collections = list(self._collections.values())
        for collection in collections:
            try:
                collection.close()
            except Exception as exc:  # noqa: BLE001 - keep closing the others
                self._log(f"closing collection `{collection.name}` failed: {exc}")

    def flush_due(self) -> None:
        now = time.monotonic()
        with self._map:
            collections = list(self._collections.values())
        for collection in collections:
            try:
                collection.flush_if_due(now)
            except Exception as exc:  # noqa: BLE001 - a failed flush is retried next round
                self._log(f"flushing collection `{collection.name}` failed: {exc}")

    # ---- lookups ------------------------------------------------------------------------------

    def resolve(self, name: str) -> Collection:
        """A collection by its name or by an alias of it (TableOfContent::resolve_name)."""
        with self._map:
            target = self._aliases.get(name)
            collection = self._collections.get(target if target is not None else name)
        if collection is None:
            raise errors.collection_not_found(target if target is not None else name)
        return collection

    def names(self) -> list:
        with self._map:
            return sorted(self._collections)

    def all_aliases(self) -> list:
        with self._map:
            # Qdrant lists aliases collection by collection, in collection-name order.
            return [
                {"alias_name": alias, "collection_name": name}
                for name in sorted(self._collections)
                for alias in self._aliases.aliases_of(name)
            ]

    def aliases_of(self, name: str) -> list:
        # Like Qdrant: the name is taken literally (no alias resolution, no existence check).
        with self._map:
            return [{"alias_name": alias, "collection_name": name} for alias in self._aliases.aliases_of(name)]

    # ---- changes ------------------------------------------------------------------------------

    def create(self, name: str, config: dict) -> None:
        with self._meta:
            with self._map:
                if name in self._collections:
                    raise errors.already_exists(f"Collection `{name}` already exists!")
                if self._aliases.contains(name):
                    raise errors.bad_input(f"Can't create collection with name {name}. Alias with the same name already exists")
            directory = self._layout.new_collection_dir()
            try:
                shard = qe.EdgeShard.create(str(directory / SHARD_DIR), cfg.edge_config(config))
                collection = Collection(name, directory, config, {}, shard)
                collection.save()
            except Exception as exc:
                self._layout.discard(directory)
                if isinstance(exc, errors.ApiError):
                    raise
                raise errors.from_engine(exc) from exc
            with self._map:
                self._collections[name] = collection

    def delete(self, name: str) -> bool:
        """Qdrant's delete takes the name literally: deleting through an alias deletes nothing."""
        with self._meta:
            with self._map:
                collection = self._collections.get(name)
                self._aliases.remove_collection(name)
                if collection is None:
                    return False
                del self._collections[name]
            collection.close(flush=False)
            self._layout.discard(collection.directory)
            return True

    def update_aliases(self, actions: list) -> None:
        with self._meta, self._map:
            self._aliases.apply(actions, lambda n: n in self._collections)
