"""The account endpoints: sign in (session or API token), sign out, who am I, and API tokens.

Every login path shares one throttle (LoginThrottle, per client address): the two API logins here and
Django admin's login (`throttled_login`, wired in urls.py); /accounts/login/ only redirects to the
UI's sign-in. Session login checks the CSRF token as every session write does (DRF exempts
unauthenticated requests otherwise), so another site cannot sign a browser in to an account of its
choosing. Each user has at most one API token; its owner and admins list and revoke it.
"""

from functools import wraps

from django.contrib.auth import authenticate, login, logout
from django.http import JsonResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.decorators import api_view, permission_classes, throttle_classes
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle

from accounts.roles import ADMIN, user_roles


class LoginThrottle(SimpleRateThrottle):
    """Login attempts per client address (rate in settings: DEFAULT_THROTTLE_RATES['login'])."""

    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def throttled_login(view):
    """The same throttle around a plain Django login view (admin's): each POST is an attempt."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method == "POST":
            throttle = LoginThrottle()
            if not throttle.allow_request(request, None):
                wait = max(1, int(throttle.wait() or 1))
                response = JsonResponse({"detail": f"Too many sign-in attempts; retry in {wait} s."}, status=429)
                response["Retry-After"] = str(wait)
                return response
        return view(request, *args, **kwargs)

    return wrapper


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, style={"input_type": "password"})


def me_payload(user):
    return {"id": user.id, "username": user.username, "roles": sorted(user_roles(user))}


@extend_schema(request=LoginSerializer, responses={200: inline_serializer("TokenOut", {"token": serializers.CharField()})})
@api_view(["POST"])
@permission_classes([AllowAny])
@throttle_classes([LoginThrottle])
def obtain_token(request):
    """Exchange a username and password for an API token (scripts). Throttled per client."""
    serializer = LoginSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    user = authenticate(request, **serializer.validated_data)
    if user is None:
        return Response({"detail": "Wrong username or password."}, status=status.HTTP_400_BAD_REQUEST)
    token, _ = Token.objects.get_or_create(user=user)
    return Response({"token": token.key, **me_payload(user)})


@extend_schema(request=LoginSerializer, responses={200: inline_serializer("LoginOut", {"username": serializers.CharField()})})
@api_view(["POST"])
@permission_classes([AllowAny])
@throttle_classes([LoginThrottle])
def session_login(request):
    """Sign in with a session cookie (the web UI): needs the CSRF token (cookie `csrftoken`, header
    X-CSRFToken) like every session write. Throttled per client."""
    SessionAuthentication().enforce_csrf(request)
    serializer = LoginSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    user = authenticate(request, **serializer.validated_data)
    if user is None:
        return Response({"detail": "Wrong username or password."}, status=status.HTTP_400_BAD_REQUEST)
    login(request, user)
    return Response(me_payload(user))


@extend_schema(request=None, responses={204: None})
@api_view(["POST"])
@permission_classes([AllowAny])
def session_logout(request):
    """Sign out of the session."""
    logout(request)
    return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(responses={200: inline_serializer("Me", {"id": serializers.IntegerField(), "username": serializers.CharField(),
                                                         "roles": serializers.ListField(child=serializers.CharField())})})
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def me(request):
    """The signed-in user and their roles."""
    return Response(me_payload(request.user))


class TokenInfo(serializers.Serializer):
    user = serializers.IntegerField(source="user_id")
    username = serializers.CharField(source="user.username")
    created = serializers.DateTimeField()
    key_ends = serializers.SerializerMethodField(help_text="The key's last 4 characters, to tell tokens apart.")

    def get_key_ends(self, token) -> str:
        return token.key[-4:]


def visible_tokens(user):
    tokens = Token.objects.select_related("user").order_by("user_id")
    return tokens if ADMIN in user_roles(user) else tokens.filter(user=user)


@extend_schema(responses={200: TokenInfo(many=True)})
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def tokens(request):
    """API tokens: your own; admins see everyone's. The keys themselves are never shown again."""
    return Response(TokenInfo(visible_tokens(request.user), many=True).data)


@extend_schema(request=None, responses={204: None})
@api_view(["DELETE"])
@permission_classes([IsAuthenticated])
def revoke_token(request, user_id):
    """Revoke the API token of user `user_id`: your own, or anyone's if you are an admin. Scripts
    using it get 401 from then on; POST auth/token/ issues a new one."""
    deleted, _ = visible_tokens(request.user).filter(user_id=user_id).delete()
    if not deleted:
        raise NotFound("No such token.")
    return Response(status=status.HTTP_204_NO_CONTENT)
