"""Collection aliases: parsing of `POST /collections/aliases` and the alias table.

Qdrant applies the actions of one request in order under one lock, so no request ever sees a
half-applied change. It persists after every action, so a failing action leaves the earlier
ones applied; this server goes further and applies all actions or none, persisting the new
table with one atomic file replace.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from . import errors
from .schema import expect_list, expect_object, expect_str, join_path, missing_field
from .storage import read_json, write_json_atomic


def parse_actions(body: dict) -> list:
    """ChangeAliasesOperation -> [("create", alias, collection) | ("delete", alias) | ("rename", old, new)]."""
    if "actions" not in body:
        raise missing_field("", "actions")
    actions = []
    for i, raw in enumerate(expect_list(body["actions"], "actions")):
        path = join_path("actions", i)
        action = expect_object(raw, path)
        # AliasOperations is untagged: the first variant whose required field is present wins.
        if "create_alias" in action:
            op = expect_object(action["create_alias"], join_path(path, "create_alias"))
            for key in ("collection_name", "alias_name"):
                if key not in op:
                    raise missing_field(join_path(path, "create_alias"), key)
            actions.append((
                "create",
                expect_str(op["alias_name"], join_path(path, "create_alias.alias_name")),
                expect_str(op["collection_name"], join_path(path, "create_alias.collection_name")),
            ))
        elif "delete_alias" in action:
            op = expect_object(action["delete_alias"], join_path(path, "delete_alias"))
            if "alias_name" not in op:
                raise missing_field(join_path(path, "delete_alias"), "alias_name")
            actions.append(("delete", expect_str(op["alias_name"], join_path(path, "delete_alias.alias_name"))))
        elif "rename_alias" in action:
            op = expect_object(action["rename_alias"], join_path(path, "rename_alias"))
            for key in ("old_alias_name", "new_alias_name"):
                if key not in op:
                    raise missing_field(join_path(path, "rename_alias"), key)
            actions.append((
                "rename",
                expect_str(op["old_alias_name"], join_path(path, "rename_alias.old_alias_name")),
                expect_str(op["new_alias_name"], join_path(path, "rename_alias.new_alias_name")),
            ))
        else:
            raise errors.format_error(f"data did not match any variant of untagged enum AliasOperations at `{path}`")
    return actions


class AliasTable:
    """alias -> collection name, persisted as one JSON object."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._mapping: dict = {}

    def load(self, existing_collections: set) -> None:
        mapping = read_json(self._path) if self._path.exists() else {}
        # A crash between removing a collection and rewriting this file leaves dangling aliases.
        kept = {a: c for a, c in mapping.items() if c in existing_collections}
        self._mapping = kept
        if kept != mapping or not self._path.exists():
            write_json_atomic(self._path, kept)

    def get(self, alias: str) -> Any:
        return self._mapping.get(alias)

    def contains(self, alias: str) -> bool:
        return alias in self._mapping

    def items(self) -> list:
        return list(self._mapping.items())

    def aliases_of(self, collection: str) -> list:
        return [alias for alias, target in self._mapping.items() if target == collection]

    def apply(self, actions: list, collection_exists: Callable[[str], bool]) -> None:
        """Apply every action to a copy with Qdrant's checks; commit only if all succeed."""
        mapping = dict(self._mapping)
        for action in actions:
            kind = action[0]
            if kind == "create":
                _, alias, collection = action
                if not collection_exists(collection):
                    raise errors.collection_not_found(collection)
                if collection_exists(alias):
                    raise errors.already_exists(f"Collection `{alias}` already exists!")
                mapping[alias] = collection
            elif kind == "delete":
                mapping.pop(action[1], None)
            else:
                _, old, new = action
                if old not in mapping:
                    raise errors.not_found(f"Alias {old} does not exists!")
                mapping[new] = mapping.pop(old)
        if mapping != self._mapping:
            write_json_atomic(self._path, mapping)
        self._mapping = mapping

    def remove_collection(self, collection: str) -> None:
        mapping = {a: c for a, c in self._mapping.items() if c != collection}
        if mapping != self._mapping:
            write_json_atomic(self._path, mapping)
            self._mapping = mapping
