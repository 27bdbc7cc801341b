"""API-wide pieces: the exception handler (database outages become 503 inside DRF views too) and
the account endpoints (token login with throttling, who am I)."""

from django.contrib.auth import authenticate, login, logout
from django.db import InterfaceError, OperationalError
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.decorators import api_view, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.middleware import _looks_like_outage
from accounts.roles import user_roles


def exception_handler(exc, context):
    if isinstance(exc, (OperationalError, InterfaceError)) and _looks_like_outage(exc):
        response = Response({"detail": "The database is unavailable; retry shortly."}, status=503)
        response["Retry-After"] = "2"
        return response
    if isinstance(exc, RecursionError) and "decoding a JSON" in str(exc):
        # json.loads gives up on very deeply nested input with a RecursionError, which DRF's parser
        # does not turn into a ParseError: it is the client's malformed body, not a server fault.
        return Response({"detail": "JSON parse error - the body is nested too deeply."}, status=400)
    return drf_exception_handler(exc, context)


class LoginThrottle(SimpleRateThrottle):
    """Login attempts per client address (rate in settings: DEFAULT_THROTTLE_RATES['login'])."""

    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


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
    """Sign in with a session cookie (the web UI). Throttled per client."""
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
