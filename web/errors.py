"""Every API error, one shape, mapped in one place.

The shape is DRF's own, which the web UI reads (frontend/src/logic/errors.ts): a JSON object whose
keys are the request's fields, each with a list of messages (nested for nested fields:
{"config": {"lr": ["must be > 0"]}}), or "detail" / "non_field_errors" for the request as a whole.

- `exception_handler` (DRF's EXCEPTION_HANDLER) maps the domain's errors (labeling.errors.DomainError:
  RuleError 400, Conflict 409, TooLarge 413, training's JobError) by their `status` and `field`, a
  missing object to 404, a number past 64 bits to 404 (an id in the URL) or 400, a database outage to
  503, Django's oversized-body errors to 413.
- `json_error_view` answers Django's own 400/403/404/500 under /api/ (errors raised outside DRF's
  views, e.g. an unknown URL or a body over DATA_UPLOAD_MAX_MEMORY_SIZE) with the same shape.
"""

from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig, TooManyFieldsSent
from django.db import DataError, InterfaceError, OperationalError
from django.http import JsonResponse
from django.views.defaults import bad_request, page_not_found, permission_denied, server_error
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from accounts.middleware import _looks_like_outage
from labeling.errors import DomainError


def error_body(field, message):
    """{field: [message]} with a dotted field nested; {"detail": message} without a field."""
    if not field:
        return {"detail": message}
    body = [message]
    for part in reversed(field.split(".")):
        body = {part: body}
    return body


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        set_rollback()
        # a conflict is about the object's state, not a field the client can fix: {"detail": ...}
        field = None if exc.status == 409 else exc.field
        return Response(error_body(field, exc.message), status=exc.status)
    if isinstance(exc, ObjectDoesNotExist):
        exc = exceptions.NotFound()
    elif isinstance(exc, OverflowError) or (isinstance(exc, DataError) and "out of range" in str(exc)):
        # a number past the database's 64 bits (SQLite raises OverflowError, PostgreSQL a DataError):
        # an id in the URL that can't exist is a 404, any other number a 400
        exc = exceptions.NotFound() if _huge_id_in_url(context) else exceptions.ValidationError(
            {"detail": "A number in the request is out of range."})
    elif isinstance(exc, RequestDataTooBig):
        exc = TooLargeError("The request body is over the size limit.")
    elif isinstance(exc, TooManyFieldsSent):
        exc = exceptions.ValidationError({"non_field_errors": ["too many form fields"]})
    elif isinstance(exc, (OperationalError, InterfaceError)) and _looks_like_outage(exc):
        response = Response({"detail": "The database is unavailable; retry shortly."}, status=503)
        response["Retry-After"] = "2"
        return response
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):  # ValidationError("message"): one shape
        response.data = {"non_field_errors": response.data}
    return response


def _huge_id_in_url(context):
    values = (context.get("kwargs") or {}).values()
    return any(str(v).isascii() and str(v).isdigit() and int(v) >= 2**63 for v in values)


class TooLargeError(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is over the size limit."
    default_code = "too_large"


_DJANGO_VIEWS = {400: bad_request, 403: permission_denied, 404: page_not_found, 500: server_error}
_MESSAGES = {400: "Bad request.", 403: "Permission denied.", 404: "Not found.", 500: "Server error."}


def json_error_view(status):
    """Django's handlerNNN: JSON under /api/, Django's usual page elsewhere (admin, UI)."""

    def view(request, exception=None):
        if request.path.startswith("/api/"):
            if isinstance(exception, RequestDataTooBig):
                return JsonResponse({"detail": "The request body is over the size limit."}, status=413)
            return JsonResponse({"detail": _MESSAGES[status]}, status=status)
        if status == 500:
            return server_error(request)
        return _DJANGO_VIEWS[status](request, exception)

    view.__name__ = f"json_error_{status}"
    return view
