"""Request limits and response headers for the whole site.

RequestLimitsMiddleware, under /api/ only:
- a body over API_MAX_BODY_BYTES (by its Content-Length) is a JSON 413 before anything reads it
  (DRF would read it whole; Django's own DATA_UPLOAD_MAX_MEMORY_SIZE check answers an HTML 400);
- a query parameter holding a NUL or a lone surrogate is a JSON 400 naming it (PostgreSQL refuses
  NUL in any text it is compared with).

ContentSecurityPolicyMiddleware sets Content-Security-Policy on every response (Django 5.2 has none
built in): scripts and styles only from this origin, no inline script, no framing, no plugins. The
Vite-built UI loads its module script and stylesheet from /static/, the API docs use drf-spectacular's
split view (its script as a file), and Django admin has no inline scripts.
"""

from django.conf import settings
from django.http import JsonResponse

from labeling.text import first_bad_text

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


class RequestLimitsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            refusal = self.refusal(request)
            if refusal is not None:
                return refusal
        return self.get_response(request)

    @staticmethod
    def refusal(request):
        raw = request.META.get("CONTENT_LENGTH") or "0"
        if not raw.isascii() or not raw.strip().isdigit():
            return JsonResponse({"detail": "Content-Length must be a whole number of bytes."}, status=400)
        limit = settings.API_MAX_BODY_BYTES
        if int(raw) > limit:
            return JsonResponse({"detail": f"The request body is {int(raw)} bytes; at most {limit}."}, status=413)
        found = first_bad_text({key: request.GET.getlist(key) for key in request.GET})
        if found:
            field, problem = found
            return JsonResponse({field.split(".")[0] or "query": [f"the query parameter {problem}"]}, status=400)
        return None


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        return response
