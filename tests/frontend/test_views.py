"""Django serves the built single-page app: index.html at every UI path (with the CSRF cookie the
app sends back on writes), its bundled assets under /static/, and nothing from elsewhere."""

import re
import urllib.request

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def fetch(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers, response.read()


def test_index_is_served_at_ui_paths_with_a_csrf_cookie(frontend_dist, client):
    for path in ("/", "/work", "/ml/jobs/3", "/manage/import"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert b'<div id="app"></div>' in response.content
        assert "csrftoken" in response.cookies


def test_api_and_admin_paths_are_not_taken_by_the_ui(frontend_dist, client):
    assert client.get("/api/no-such-endpoint/").status_code == 404
    assert b'id="app"' not in client.get("/admin/login/").content


def test_every_asset_is_bundled_and_served_from_static(frontend_dist, live_server):
    _, _, body = fetch(live_server.url + "/")
    html = body.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith("/static/assets/") for a in assets), assets
    for asset in assets:
        status, headers, content = fetch(live_server.url + asset)
        assert status == 200 and content, asset
        text = content.decode(errors="replace")
        # No CDN or remote font: everything the page needs comes from this server.
        assert not re.search(r"(?:src|href)=\"https?://|@import url\(\"?https?://|cdn\.jsdelivr|unpkg\.com|googleapis", text), asset
