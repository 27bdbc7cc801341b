from django.urls import path, re_path

from frontend import views

urlpatterns = [
    path("", views.index, name="ui"),
    re_path(r"^(?P<path>(?!api/|admin/|static/|accounts/).*)$", views.index, name="ui-route"),
]
