"""URL map: the REST API under /api/, Django admin under /admin/, the single-page UI at /.

Django's own error pages answer JSON under /api/ (web.errors.json_error_view). Admin's login is
throttled like the API's; /accounts/login/ (settings.LOGIN_URL) sends the browser to the UI's sign-in.
"""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.api import throttled_login
from web.errors import json_error_view

urlpatterns = [
    path("admin/login/", throttled_login(admin.site.login)),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # the split view serves Swagger UI's setup script as a file: no inline script, so the CSP holds
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("accounts.urls")),
    path("api/", include("labeling.urls")),
    path("api/", include("training.urls")),
    path("accounts/login/", RedirectView.as_view(url="/login", query_string=True), name="login"),
    path("", include("frontend.urls")),
]

handler400 = json_error_view(400)
handler403 = json_error_view(403)
handler404 = json_error_view(404)
handler500 = json_error_view(500)
