"""Errors with the HTTP status codes and message prefixes that real Qdrant uses.

Qdrant renders a storage error as `<prefix>: <description>` (see StorageError's Display in
lib/storage/src/content_manager/errors.rs) and maps each kind to one status code. Request
parsing errors come from actix' extractors: 400 "Format error in JSON body: ..." when the
body does not deserialize, 422 "Validation error in JSON body: [...]" when a value is out of
range.
"""

from __future__ import annotations


class ApiError(Exception):
    """An error answered as `{"status": {"error": message}, "time": ...}` with `status_code`."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


def bad_input(description: str) -> ApiError:
    return ApiError(400, f"Wrong input: {description}")


def bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad request: {description}")


def already_exists(description: str) -> ApiError:
    # Qdrant words "already exists" as wrong input, but answers 409 Conflict.
    return ApiError(409, f"Wrong input: {description}")


def not_found(description: str) -> ApiError:
    return ApiError(404, f"Not found: {description}")


def collection_not_found(name: str) -> ApiError:
    return not_found(f"Collection `{name}` doesn't exist!")


def service_error(description: str) -> ApiError:
    return ApiError(500, f"Service internal error: {description}")


def format_error(description: str, where: str = "JSON body") -> ApiError:
    return ApiError(400, f"Format error in {where}: {description}")


def deserialize_error(description: str, where: str = "query parameters") -> ApiError:
    return ApiError(400, f"Deserialize error in {where}: {description}")


def validation_error(field: str, description: str, where: str = "JSON body") -> ApiError:
    return ApiError(422, f"Validation error in {where}: [{field}: {description}]")


def not_implemented(feature: str) -> ApiError:
    # Real Qdrant never answers 501; this server does for valid Qdrant requests that the Edge
    # engine (or this server) cannot serve, so a caller is never told "ok" for something ignored.
    return ApiError(501, f"Not implemented: {feature} is not supported by this Qdrant Edge server")


# Messages of segment's OperationError (lib/segment/src/common/operation_error.rs) that Qdrant
# converts to "Wrong input" (CollectionError::BadInput).
_BAD_INPUT_PREFIXES = (
    "Vector dimension error",
    "Not existing vector name error",
    "Payload type does not match",
    "Unable to infer type",
    "Validation failed",
    "Wrong usage of sparse vectors",
    "Wrong usage of multi vectors",
    "No range index for `order_by` key",
    "No appropriate index for faceting",
    "Expected ",
    "The expression ",
    "invalid JSON path",
    "failed to parse",
)


def from_engine(exc: BaseException) -> ApiError:
    """Classify an exception raised by qdrant_edge the way Qdrant classifies OperationError."""
    message = str(exc).strip() or type(exc).__name__
    if message.startswith("No point with id "):
        # OperationError::PointIdError becomes CollectionError::PointNotFound ("... found").
        return not_found(f"{message} found")
    if isinstance(exc, (ValueError, TypeError, OverflowError)):
        return bad_input(message)
    if message.startswith(_BAD_INPUT_PREFIXES):
        return bad_input(message)
    if message.startswith("Service runtime error: "):
        return service_error(message[len("Service runtime error: "):])
    return service_error(message)
