"""Strict reading of request JSON, shaped after Qdrant's serde types.

Qdrant ignores unknown fields in most request structs (serde's default) but rejects them in a
few (`Filter`, the payload selectors); a wrong JSON type is a 400 "Format error", a value out of
range a 422 "Validation error". The helpers here keep that split and name the offending field.
"""

from __future__ import annotations

import math
import re
import uuid
from typing import Any, Callable, Optional, Union

from . import errors

PointId = Union[int, uuid.UUID]

U64_MAX = 2**64 - 1
I64_MIN = -(2**63)
I64_MAX = 2**63 - 1

_HEX = "[0-9a-fA-F]"
# The forms the Rust `uuid` crate parses: simple, hyphenated, braced, URN.
_UUID_FORMS = re.compile(
    rf"^(?:{_HEX}{{32}}"
    rf"|{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}"
    rf"|\{{{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}\}}"
    rf"|urn:uuid:{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}})$"
)


_NUMBER_TYPES = {int, float}
_FLOAT_ONLY = {float}


def describe(value: Any) -> str:
    """How serde names an unexpected JSON value in its error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{'true' if value else 'false'}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value!r}`"
    if isinstance(value, str):
        shown = value if len(value) <= 64 else value[:61] + "..."
        return f'string "{shown}"'
    if isinstance(value, list):
        return "a sequence"
    return "a map"


def join_path(path: str, key: Union[str, int]) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def type_error(path: str, value: Any, expected: str) -> errors.ApiError:
    where = f" at `{path}`" if path else ""
    return errors.format_error(f"invalid type: {describe(value)}, expected {expected}{where}")


def missing_field(path: str, key: str) -> errors.ApiError:
    where = f" at `{path}`" if path else ""
    return errors.format_error(f"missing field `{key}`{where}")


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def expect_object(value: Any, path: str, expected: str = "a map") -> dict:
    if not isinstance(value, dict):
        raise type_error(path, value, expected)
    return value


def expect_list(value: Any, path: str, expected: str = "a sequence") -> list:
    if not isinstance(value, list):
        raise type_error(path, value, expected)
    return value


def expect_str(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise type_error(path, value, "a string")
    return value


def expect_bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise type_error(path, value, "a boolean")
    return value


def expect_uint(value: Any, path: str, minimum: Optional[int] = None, maximum: int = U64_MAX) -> int:
    if not is_int(value) or value < 0 or value > maximum:
        raise type_error(path, value, "usize")
    if minimum is not None and value < minimum:
        raise errors.validation_error(path, f"value {value} invalid, must be {minimum} or larger")
    return value


def expect_number(value: Any, path: str) -> float:
    if not is_number(value):
        raise type_error(path, value, "f64")
    return float(value)


def get(obj: dict, key: str, path: str, convert: Callable[[Any, str], Any], default: Any = None) -> Any:
    """`obj[key]` converted, or `default` when absent or null (serde's Option<T>)."""
    value = obj.get(key)
    if value is None:
        return default
    return convert(value, join_path(path, key))


def require(obj: dict, key: str, path: str, convert: Callable[[Any, str], Any]) -> Any:
    if key not in obj:
        raise missing_field(path, key)
    return convert(obj[key], join_path(path, key))


def get_alias(obj: dict, keys: tuple, path: str, convert: Callable[[Any, str], Any], default: Any = None) -> Any:
    """A field that serde also accepts under an alias (`with_vectors`, `top`, ...)."""
    for key in keys:
        if obj.get(key) is not None:
            return convert(obj[key], join_path(path, key))
    return default


# ---- point ids -------------------------------------------------------------------------------


def parse_uuid(text: str) -> Optional[uuid.UUID]:
    if not _UUID_FORMS.match(text):
        return None
    return uuid.UUID(text)


def point_id(value: Any, path: str) -> PointId:
    """An unsigned 64-bit integer or a UUID string, as ExtendedPointId deserializes."""
    if is_int(value) and 0 <= value <= U64_MAX:
        return value
    if isinstance(value, str):
        parsed = parse_uuid(value)
        if parsed is not None:
            return parsed
    shown = value if not isinstance(value, str) else f'"{value}"'
    if isinstance(value, bool):
        shown = "true" if value else "false"
    where = f" at `{path}`" if path else ""
    raise errors.format_error(
        f"value {shown} is not a valid point ID, valid values are either an unsigned integer or a UUID{where}"
    )


def point_id_from_path(text: str) -> Optional[PointId]:
    """ExtendedPointId::from_str: a u64, else a UUID."""
    digits = text[1:] if text.startswith("+") else text
    if digits.isdigit() and digits.isascii():
        number = int(digits)
        if number <= U64_MAX:
            return number
    return parse_uuid(text)


def point_ids(value: Any, path: str) -> list:
    items = expect_list(value, path)
    return [point_id(item, join_path(path, i)) for i, item in enumerate(items)]


def render_point_id(value: Any) -> Union[int, str]:
    """Qdrant prints UUIDs lowercase and hyphenated whatever form they were given in."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        return str(uuid.UUID(value))
    return int(value)


# ---- vectors and payload ---------------------------------------------------------------------


def dense_vector(value: Any, path: str) -> list:
    items = expect_list(value, path, "a sequence of numbers")
    if not items:
        raise errors.validation_error(path or "vector", "dense vector must not be empty")
    # Type checks through map/set run in C: a 1,000 x 384 upsert is 384k numbers.
    types = set(map(type, items))
    if not types <= _NUMBER_TYPES:
        bad = next(item for item in items if type(item) not in _NUMBER_TYPES)
        raise type_error(path, bad, "f32")
    if types == _FLOAT_ONLY:
        # The usual case (clients send floats): the parsed list is used as it is, no copy.
        out = items
    else:
        try:
            out = list(map(float, items))
        except OverflowError:
            raise errors.format_error(f"number out of range at `{path}`") from None
    if not all(map(math.isfinite, out)):
        raise errors.format_error(f"number out of range at `{path}`")
    return out


def payload(value: Any, path: str) -> Optional[dict]:
    if value is None:
        return None
    return expect_object(value, path, "a JSON object (payload)")


# ---- response selection ----------------------------------------------------------------------


def with_payload(value: Any, path: str) -> Any:
    """WithPayloadInterface: bool | [keys] | {"include": [...]} | {"exclude": [...]}.

    Returns a plain Python description: bool, list of keys, or ("include"|"exclude", keys).
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, list):
        return [expect_str(item, join_path(path, i)) for i, item in enumerate(value)]
    if isinstance(value, dict):
        # PayloadSelectorInclude/Exclude deny unknown fields, so exactly one key is allowed.
        if set(value) == {"include"}:
            keys = expect_list(value["include"], join_path(path, "include"))
            return ("include", [expect_str(k, join_path(path, "include")) for k in keys])
        if set(value) == {"exclude"}:
            keys = expect_list(value["exclude"], join_path(path, "exclude"))
            return ("exclude", [expect_str(k, join_path(path, "exclude")) for k in keys])
    raise errors.format_error(f"data did not match any variant of untagged enum WithPayloadInterface at `{path}`")


def with_vector(value: Any, path: str) -> Any:
    """WithVector: bool | [vector names]."""
    if isinstance(value, bool):
        return value
    if isinstance(value, list):
        return [expect_str(item, join_path(path, i)) for i, item in enumerate(value)]
    raise errors.format_error(f"data did not match any variant of untagged enum WithVector at `{path}`")


# ---- query string ----------------------------------------------------------------------------


def query_bool(params: dict, key: str, default: bool) -> bool:
    raw = params.get(key)
    if raw is None:
        return default
    if raw == "true":
        return True
    if raw == "false":
        return False
    raise errors.deserialize_error(f"provided string was not `true` or `false` while parsing `{key}`")


def query_uint(params: dict, key: str, minimum: Optional[int] = None) -> Optional[int]:
    raw = params.get(key)
    if raw is None:
        return None
    if not raw.isdigit():
        raise errors.deserialize_error(f"invalid digit found in string while parsing `{key}`")
    value = int(raw)
    if minimum is not None and value < minimum:
        raise errors.validation_error(key, f"value {value} invalid, must be {minimum} or larger", "query parameters")
    return value


def query_ordering(params: dict) -> None:
    raw = params.get("ordering")
    if raw is not None and raw not in ("weak", "medium", "strong"):
        raise errors.deserialize_error(f"unknown variant `{raw}`, expected one of `weak`, `medium`, `strong`")


def query_consistency(params: dict) -> None:
    raw = params.get("consistency")
    if raw is None or raw in ("majority", "quorum", "all") or raw.isdigit():
        return
    raise errors.deserialize_error(f"invalid read consistency `{raw}`")
