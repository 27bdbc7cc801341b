from django.urls import path

from accounts import api

urlpatterns = [
    path("auth/token/", api.obtain_token, name="auth-token"),
    path("auth/login/", api.session_login, name="auth-login"),
    path("auth/logout/", api.session_logout, name="auth-logout"),
    path("auth/me/", api.me, name="auth-me"),
    path("auth/tokens/", api.tokens, name="auth-tokens"),
    path("auth/tokens/<int:user_id>/", api.revoke_token, name="auth-token-revoke"),
]
