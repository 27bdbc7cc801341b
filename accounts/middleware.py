"""A database that is down or restarting answers 503 with Retry-After, not a 500: clients retry, and
nothing acknowledged was lost (an acknowledgement is only sent after the commit)."""

import logging

from django.db import InterfaceError, OperationalError, close_old_connections
from django.http import JsonResponse

log = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, (OperationalError, InterfaceError)) and _looks_like_outage(exception):
            log.warning("database unavailable: %s", exception)
            close_old_connections()
            response = JsonResponse({"detail": "The database is unavailable; retry shortly."}, status=503)
            response["Retry-After"] = "2"
            return response
        return None


def _looks_like_outage(exception):
    text = str(exception).lower()
    markers = ("connection", "server closed", "terminating", "could not connect", "shutting down",
               "the database system is", "database is locked", "connection refused", "no connection")
    return any(marker in text for marker in markers)
