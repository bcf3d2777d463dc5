"""API errors rendered as ``metav1.Status`` bodies, with the reasons and codes
the real API server uses."""
from __future__ import annotations

from typing import Any, Optional

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


class ApiError(Exception):
    """An error answered to the client as a Status object."""

    def __init__(self, code: int, message: str, reason: Optional[str] = None,
                 details: Optional[dict] = None, headers: Optional[dict] = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason if reason is not None else REASONS.get(code, "")
        self.details = details
        self.headers = headers or {}

    def status(self) -> dict:
        return status_body(self.code, self.message, self.reason, self.details)


def status_body(code: int, message: str, reason: str = "", details: Optional[dict] = None,
                success: bool = False) -> dict:
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                            "status": "Success" if success else "Failure"}
    if message:
        body["message"] = message
    if reason:
        body["reason"] = reason
    if details:
        body["details"] = details
    body["code"] = code
    return body


def qualified(resource: str, group: str) -> str:
    """``deployments.apps`` style name used in messages."""
    return f"{resource}.{group}" if group else resource


def _details(name: str, group: str, kind: str) -> dict:
    details = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = kind
    return details


def not_found(resource: str, group: str, name: str) -> ApiError:
    return ApiError(404, f'{qualified(resource, group)} "{name}" not found', "NotFound",
                    _details(name, group, resource))


def already_exists(resource: str, group: str, name: str) -> ApiError:
    return ApiError(409, f'{qualified(resource, group)} "{name}" already exists', "AlreadyExists",
                    _details(name, group, resource))


def conflict(resource: str, group: str, name: str, detail: str) -> ApiError:
    return ApiError(409, f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": {detail}',
                    "Conflict", _details(name, group, resource))


def stale_conflict(resource: str, group: str, name: str) -> ApiError:
    return conflict(resource, group, name, "the object has been modified; please apply your "
                    "changes to the latest version and try again")


class FieldError:
    """One cause of a 422 Invalid answer."""

    def __init__(self, field: str, kind: str, detail: str = "", value: Any = None,
                 has_value: bool = False):
        self.field = field
        self.kind = kind  # e.g. "Required value", "Invalid value", "Forbidden"
        self.detail = detail
        self.value = value
        self.has_value = has_value

    @property
    def reason(self) -> str:
        return {
            "Required value": "FieldValueRequired",
            "Invalid value": "FieldValueInvalid",
            "Unsupported value": "FieldValueNotSupported",
            "Duplicate value": "FieldValueDuplicate",
            "Forbidden": "FieldValueForbidden",
            "Too long": "FieldValueTooLong",
            "Not found": "FieldValueNotFound",
        }.get(self.kind, "FieldValueInvalid")

    def message(self) -> str:
        text = self.kind
        if self.has_value:
            text += f": {_render_value(self.value)}"
        if self.detail:
            text += f": {self.detail}"
        return text

    def __str__(self) -> str:
        return f"{self.field}: {self.message()}"


def _render_value(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value + '"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def invalid(kind: str, group: str, name: str, errors: list[FieldError]) -> ApiError:
    qualified_kind = f"{kind}.{group}" if group else kind
    rendered = [str(e) for e in errors]
    body = rendered[0] if len(rendered) == 1 else "[" + ", ".join(rendered) + "]"
    details = _details(name, group, kind)
    details["causes"] = [{"reason": e.reason, "message": e.message(), "field": e.field} for e in errors]
    return ApiError(422, f'{qualified_kind} "{name}" is invalid: {body}', "Invalid", details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, message, "BadRequest")


def plain_error(message: str) -> ApiError:
    """A Go error that is no API status (e.g. server-side apply's typed
    conversion): the server answers 500 with neither reason nor details."""
    return ApiError(500, message, "")


def method_not_allowed(verb: str, resource: str, group: str) -> ApiError:
    return ApiError(405, f"{verb} is not supported on resources of kind {qualified(resource, group)!r}",
                    "MethodNotAllowed")


def unsupported_media_type(content_type: str, accepted: list[str]) -> ApiError:
    return ApiError(415, f"the body of the request was in an unknown format - accepted media types "
                    f"include: {', '.join(accepted)}", "UnsupportedMediaType")
