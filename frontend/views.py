"""Serves the single-page app's index.html (built by Vite into frontend/dist); assets are static files."""

from pathlib import Path

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.csrf import ensure_csrf_cookie

DIST = Path(settings.BASE_DIR) / "frontend" / "dist"


@ensure_csrf_cookie
def index(request, path=""):
    page = DIST / "index.html"
    if not page.exists():
        return HttpResponse(
            "<!doctype html><title>RLHF platform</title><p>The web UI is not built yet: run "
            "<code>npm --prefix frontend ci &amp;&amp; npm --prefix frontend run build</code>. "
            'The API is at <a href="/api/docs/">/api/docs/</a>, admin at <a href="/admin/">/admin/</a>.</p>',
            status=200,
        )
    return HttpResponse(page.read_text(encoding="utf-8"))
