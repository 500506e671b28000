"""Qdrant filter JSON -> qdrant_edge filter objects.

Follows segment::types::Filter and Condition (Qdrant 1.19): `must`/`should`/`must_not` take one
condition or a list, `min_should` needs `min_count >= 1`, a filter rejects unknown fields, and a
condition with a `key` is a field condition (which must set at least one check).
"""

from __future__ import annotations

from typing import Any

import qdrant_edge as qe

from . import errors
from .schema import (
    I64_MAX,
    I64_MIN,
    describe,
    expect_bool,
    expect_list,
    expect_object,
    expect_str,
    is_int,
    is_number,
    join_path,
    point_id,
)

_FILTER_KEYS = ("should", "min_should", "must", "must_not")

_CONDITION_EXPECTING = (
    'Expected some form of condition, which can be a field condition (like {"key": ..., "match": ... }), '
    "or some other mentioned in the documentation: "
    "https://qdrant.tech/documentation/concepts/filtering/#filtering-conditions"
)


class _EngineBool:
    """A boolean that qdrant_edge reads as a bool match value rather than as the integer 0/1.

    qdrant-edge-py 0.9.0 extracts a match value as `String | Integer | Bool` in that order, and
    Python's `True` passes the integer extraction, so `{"match": {"value": true}}` would match
    the number 1 instead of `true`. PyO3 extracts `bool` from numpy's bool type by name without
    accepting it as an integer; this class presents itself under that name. `engine_bool()`
    checks at import time that the engine really reads it as a bool.
    """

    __slots__ = ("_value",)

    def __init__(self, value: bool) -> None:
        self._value = value

    def __bool__(self) -> bool:
        return self._value


_EngineBool.__module__ = "numpy"
_EngineBool.__name__ = "bool_"
_EngineBool.__qualname__ = "bool_"


def _check_engine_bool() -> bool:
    try:
        return qe.MatchValue(_EngineBool(True)).value is True and qe.MatchValue(_EngineBool(False)).value is False
    except Exception:  # noqa: BLE001 - any failure means the workaround does not apply
        return False


_ENGINE_BOOL_WORKS = _check_engine_bool()


def _match_value(value: Any, path: str) -> Any:
    if isinstance(value, bool):
        if not _ENGINE_BOOL_WORKS:
            raise errors.not_implemented("matching a boolean payload value with this qdrant-edge-py build")
        return qe.MatchValue(_EngineBool(value))
    if isinstance(value, str):
        return qe.MatchValue(value)
    if is_int(value) and I64_MIN <= value <= I64_MAX:
        return qe.MatchValue(value)
    raise errors.format_error(f"data did not match any variant of untagged enum MatchInterface at `{path}`")


def _any_variants(value: Any, path: str) -> list:
    items = expect_list(value, path)
    if all(isinstance(item, str) for item in items):
        return list(dict.fromkeys(items))
    if all(is_int(item) and I64_MIN <= item <= I64_MAX for item in items):
        return list(dict.fromkeys(items))
    raise errors.format_error(f"data did not match any variant of untagged enum AnyVariants at `{path}`")


def _match(value: Any, path: str) -> Any:
    obj = expect_object(value, path)
    # MatchInterface is untagged; serde tries the variants in this order.
    if "value" in obj:
        return _match_value(obj["value"], join_path(path, "value"))
    if "text" in obj:
        return qe.MatchText(expect_str(obj["text"], join_path(path, "text")))
    if "text_any" in obj:
        return qe.MatchTextAny(expect_str(obj["text_any"], join_path(path, "text_any")))
    if "phrase" in obj:
        return qe.MatchPhrase(expect_str(obj["phrase"], join_path(path, "phrase")))
    if "prefix" in obj:
        return qe.MatchPrefix(expect_str(obj["prefix"], join_path(path, "prefix")))
    if "any" in obj:
        return qe.MatchAny(_any_variants(obj["any"], join_path(path, "any")))
    if "except" in obj:
        return qe.MatchExcept(_any_variants(obj["except"], join_path(path, "except")))
    raise errors.format_error(f"data did not match any variant of untagged enum MatchInterface at `{path}`")


def _range(value: Any, path: str) -> Any:
    obj = expect_object(value, path)
    bounds = {k: obj.get(k) for k in ("gt", "gte", "lt", "lte") if obj.get(k) is not None}
    # RangeInterface: any string bound makes it a datetime range (RFC 3339).
    if any(isinstance(v, str) for v in bounds.values()):
        for key, bound in bounds.items():
            if not isinstance(bound, str):
                raise errors.format_error(f"invalid type: {describe(bound)}, expected a datetime string at `{join_path(path, key)}`")
        return qe.RangeDateTime(**bounds)
    for key, bound in bounds.items():
        if not is_number(bound):
            raise errors.format_error(f"data did not match any variant of untagged enum RangeInterface at `{join_path(path, key)}`")
    return qe.RangeFloat(**{k: float(v) for k, v in bounds.items()})


def _values_count(value: Any, path: str) -> Any:
    obj = expect_object(value, path)
    bounds = {}
    for key in ("gt", "gte", "lt", "lte"):
        if obj.get(key) is not None:
            bound = obj[key]
            if not is_int(bound) or bound < 0:
                raise errors.format_error(f"invalid type: {describe(bound)}, expected usize at `{join_path(path, key)}`")
            bounds[key] = bound
    return qe.ValuesCount(**bounds)


def _geo_point(value: Any, path: str) -> Any:
    obj = expect_object(value, path)
    for key in ("lon", "lat"):
        if key not in obj:
            raise errors.format_error(f"missing field `{key}` at `{path}`")
        if not is_number(obj[key]):
            raise errors.format_error(f"invalid type: {describe(obj[key])}, expected f64 at `{join_path(path, key)}`")
    return qe.GeoPoint(lon=float(obj["lon"]), lat=float(obj["lat"]))


def _geo_line(value: Any, path: str) -> list:
    obj = expect_object(value, path)
    points = expect_list(obj.get("points"), join_path(path, "points"))
    return [_geo_point(p, join_path(join_path(path, "points"), i)) for i, p in enumerate(points)]


def _field_condition(obj: dict, path: str) -> Any:
    key = obj["key"]
    if not isinstance(key, str):
        raise errors.format_error(f"Filter condition 'key' must be a string at `{path}`")
    kwargs: dict = {}
    if obj.get("match") is not None:
        kwargs["match"] = _match(obj["match"], join_path(path, "match"))
    if obj.get("range") is not None:
        kwargs["range"] = _range(obj["range"], join_path(path, "range"))
    if obj.get("values_count") is not None:
        kwargs["values_count"] = _values_count(obj["values_count"], join_path(path, "values_count"))
    if obj.get("geo_bounding_box") is not None:
        box = expect_object(obj["geo_bounding_box"], join_path(path, "geo_bounding_box"))
        kwargs["geo_bounding_box"] = qe.GeoBoundingBox(
            top_left=_geo_point(box.get("top_left"), join_path(path, "geo_bounding_box.top_left")),
            bottom_right=_geo_point(box.get("bottom_right"), join_path(path, "geo_bounding_box.bottom_right")),
        )
    if obj.get("geo_radius") is not None:
        radius = expect_object(obj["geo_radius"], join_path(path, "geo_radius"))
        if not is_number(radius.get("radius")):
            raise errors.format_error(f"invalid type: {describe(radius.get('radius'))}, expected f64 at `{path}.geo_radius.radius`")
        kwargs["geo_radius"] = qe.GeoRadius(
            center=_geo_point(radius.get("center"), join_path(path, "geo_radius.center")),
            radius=float(radius["radius"]),
        )
    if obj.get("geo_polygon") is not None:
        polygon = expect_object(obj["geo_polygon"], join_path(path, "geo_polygon"))
        exterior = _geo_line(polygon.get("exterior"), join_path(path, "geo_polygon.exterior"))
        interiors = None
        if polygon.get("interiors") is not None:
            rings = expect_list(polygon["interiors"], join_path(path, "geo_polygon.interiors"))
            interiors = [_geo_line(r, join_path(path, f"geo_polygon.interiors[{i}]")) for i, r in enumerate(rings)]
        kwargs["geo_polygon"] = qe.GeoPolygon(exterior=exterior, interiors=interiors)
    if obj.get("is_empty") is not None:
        kwargs["is_empty"] = expect_bool(obj["is_empty"], join_path(path, "is_empty"))
    if obj.get("is_null") is not None:
        kwargs["is_null"] = expect_bool(obj["is_null"], join_path(path, "is_null"))
    if not kwargs:
        raise errors.validation_error(path, "At least one field condition must be specified")
    return qe.FieldCondition(key=key, **kwargs)


def _payload_field(value: Any, path: str) -> str:
    obj = expect_object(value, path)
    if "key" not in obj:
        raise errors.format_error(f"missing field `key` at `{path}`")
    return expect_str(obj["key"], join_path(path, "key"))


def _condition(value: Any, path: str) -> Any:
    if not isinstance(value, dict):
        raise errors.format_error(f"{_CONDITION_EXPECTING} at `{path}`")
    if "key" in value:
        return _field_condition(value, path)
    if "is_empty" in value:
        return qe.IsEmptyCondition(_payload_field(value["is_empty"], join_path(path, "is_empty")))
    if "is_null" in value:
        return qe.IsNullCondition(_payload_field(value["is_null"], join_path(path, "is_null")))
    if "has_id" in value:
        ids = expect_list(value["has_id"], join_path(path, "has_id"))
        return qe.HasIdCondition({point_id(i, join_path(path, "has_id")) for i in ids})
    if "has_vector" in value:
        return qe.HasVectorCondition(expect_str(value["has_vector"], join_path(path, "has_vector")))
    if "nested" in value:
        nested = expect_object(value["nested"], join_path(path, "nested"))
        if "key" not in nested or "filter" not in nested:
            raise errors.format_error(f"missing field `{'key' if 'key' not in nested else 'filter'}` at `{path}.nested`")
        return qe.NestedCondition(
            key=expect_str(nested["key"], join_path(path, "nested.key")),
            filter=parse_filter(nested["filter"], join_path(path, "nested.filter")),
        )
    if "slice" in value:
        raise errors.not_implemented("the `slice` filter condition")
    if all(k in _FILTER_KEYS for k in value):
        return parse_filter(value, path)
    raise errors.format_error(f"{_CONDITION_EXPECTING} at `{path}`")


def _conditions(value: Any, path: str) -> Any:
    if value is None:
        return None
    # MaybeOneOrMany: a single condition is accepted in place of a list.
    items = value if isinstance(value, list) else [value]
    return [_condition(item, join_path(path, i)) for i, item in enumerate(items)]


def parse_filter(value: Any, path: str = "filter") -> Any:
    """A Qdrant `Filter` object as a qdrant_edge.Filter."""
    obj = expect_object(value, path, "struct Filter")
    for key in obj:
        if key not in _FILTER_KEYS:
            expected = ", ".join(f"`{k}`" for k in _FILTER_KEYS)
            raise errors.format_error(f"unknown field `{key}`, expected one of {expected} at `{path}`")
    min_should = None
    if obj.get("min_should") is not None:
        ms_path = join_path(path, "min_should")
        ms = expect_object(obj["min_should"], ms_path)
        for key in ("conditions", "min_count"):
            if key not in ms:
                raise errors.format_error(f"missing field `{key}` at `{ms_path}`")
        count = ms["min_count"]
        if not is_int(count) or count < 0:
            raise errors.format_error(f"invalid type: {describe(count)}, expected usize at `{ms_path}.min_count`")
        if count < 1:
            raise errors.validation_error(f"{ms_path}.min_count", "min_count must be greater than 0")
        conditions = expect_list(ms["conditions"], join_path(ms_path, "conditions"))
        min_should = qe.MinShould(
            [_condition(c, join_path(join_path(ms_path, "conditions"), i)) for i, c in enumerate(conditions)],
            count,
        )
    return qe.Filter(
        must=_conditions(obj.get("must"), join_path(path, "must")),
        should=_conditions(obj.get("should"), join_path(path, "should")),
        must_not=_conditions(obj.get("must_not"), join_path(path, "must_not")),
        min_should=min_should,
    )


def optional_filter(obj: dict, key: str = "filter", path: str = "") -> Any:
    value = obj.get(key)
    if value is None:
        return None
    return parse_filter(value, join_path(path, key))


def exclude_ids(flt: Any, ids: list) -> Any:
    """`filter AND NOT has_id(ids)`: Qdrant excludes the points a query refers to by id."""
    exclusion = qe.HasIdCondition(set(ids))
    if flt is None:
        return qe.Filter(must_not=[exclusion])
    return qe.Filter(must=[flt], must_not=[exclusion])
