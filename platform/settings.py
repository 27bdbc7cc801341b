"""Django settings for the RLHF platform.

Every setting comes from the environment with a working default, so `manage.py runserver` just works
on SQLite. `DJANGO_ENV=production` (or DEBUG=0) turns on the hardened settings that `check --deploy`
expects. platform/ is a plain directory on sys.path (no __init__.py): `import platform` must keep
finding the standard library's module, which Django, Celery and torch all import.
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
PRODUCTION = not DEBUG

_DEV_SECRET = "dev-only-insecure-secret-key-change-me-in-production-0123456789"
SECRET_KEY = os.environ.get("SECRET_KEY", _DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SECRET_KEY must be set in the environment when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
ARTIFACT_ROOT = Path(os.environ.get("ARTIFACT_ROOT", VAR_DIR / "artifacts"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "labeling",
    "training",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "web.middleware.ContentSecurityPolicyMiddleware",
    "web.middleware.RequestLimitsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "urls"
WSGI_APPLICATION = "wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: DATABASE_URL, default an SQLite file under var/. Connections are reused (CONN_MAX_AGE):
# docs/design.md (database connections) records that this alone doubled a labeling tool's throughput.
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=600, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # JIT compilation costs ~200 ms on set-based statements like pair expansion and never pays
    # off for this OLTP workload.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
    # The labeler's hot statements (db/sql.py) bind their parameters on the server, so psycopg
    # prepares each after 5 runs on a connection and PostgreSQL stops parsing and planning it anew
    # (about half of its CPU per next + submit). Every other query keeps Django's client-side
    # binding, which never prepares, so bulk inserts are not held to 65,535 bound parameters.
    # Behind a pooler in transaction mode that cannot keep prepared statements (PgBouncer before
    # 1.21), set DATABASE_PREPARE_THRESHOLD=off.
    threshold = os.environ.get("DATABASE_PREPARE_THRESHOLD", "5").strip().lower()
    if threshold != "off" and not threshold.isdigit():
        raise ImproperlyConfigured(f"DATABASE_PREPARE_THRESHOLD must be a number of runs or 'off', not {threshold!r}")
    DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", None if threshold == "off" else int(threshold))
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # WAL lets readers run beside the writer; IMMEDIATE transactions take the write lock up front, so
    # two labelers asking for work at once are serialised instead of both reading the same free task.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"].setdefault("TEST", {})["NAME"] = str(VAR_DIR / "test_db.sqlite3")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every start when it is missing
STATICFILES_DIRS = [d for d in [BASE_DIR / "frontend" / "dist"] if d.exists()]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

# Request size limits: a ranking is tiny; an import file is bounded. A body over API_MAX_BODY_BYTES
# gets a JSON 413 before it is read (web/middleware.py); a gzip'd import stops with a 413 once it has
# decompressed IMPORT_MAX_DECOMPRESSED_BYTES (a 63 KB gzip can expand to 64 MB).
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024))
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000
API_MAX_BODY_BYTES = int(os.environ.get("API_MAX_BODY_BYTES", DATA_UPLOAD_MAX_MEMORY_SIZE))
IMPORT_MAX_DECOMPRESSED_BYTES = int(os.environ.get("IMPORT_MAX_DECOMPRESSED_BYTES", 4 * DATA_UPLOAD_MAX_MEMORY_SIZE))

# REST API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "accounts.authentication.TokenAuthentication",  # DRF's, with the user's roles in the same query
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # The edge (web/): every body through these parsers, every answer through a renderer that can't
    # fail on stored text, every page through bounded limit/offset, every error through one handler.
    "DEFAULT_PARSER_CLASSES": ["web.parsers.JSONObjectParser", "web.parsers.CheckedFormParser",
                               "web.parsers.CheckedMultiPartParser"],
    "DEFAULT_RENDERER_CLASSES": ["web.renderers.SafeJSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_PAGINATION_CLASS": "web.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"login": os.environ.get("LOGIN_THROTTLE_RATE", "10/min")},
    # Throttles identify a client by REMOTE_ADDR; behind N reverse proxies set NUM_PROXIES=N. Left
    # unset, DRF would trust any client-sent X-Forwarded-For, and a forged one dodges login throttling.
    "NUM_PROXIES": int(os.environ.get("NUM_PROXIES", 0)),
    "EXCEPTION_HANDLER": "web.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "RLHF platform API",
    "DESCRIPTION": "Labeling (prompts, guidelines, demonstrations, rankings), training data and training jobs.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI assets come from the sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several serializers share field names (kind, split, state) over different choice sets: name
    # each set, so the schema is stable and `check --deploy` has no warnings.
    "ENUM_NAME_OVERRIDES": {
        "TaskKindEnum": "labeling.models.TaskKind",
        "WorkKindEnum": ["ranking", "comparison", "demonstration", "any"],
        "SnapshotKindEnum": "training.models.SnapshotKind",
        "ModelKindEnum": "training.models.ModelKind",
        "JobKindEnum": "training.models.JobKind",
        "JobStateEnum": "training.models.JobState",
        "AssignmentStateEnum": "labeling.models.AssignmentState",
        "ReviewStateEnum": "labeling.models.ReviewState",
        "SplitEnum": "labeling.models.Split",
    },
}

# Cache: Redis when configured (shared by gunicorn workers for throttling), else local memory.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: Redis broker; queues `default` (CPU work) and `gpu` (training, sampling). The state that
# matters (job state, pairs) lives in the database; the result backend is only a convenience.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL or "redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Celery's Django fixup closes the worker's database connection after every task unless DB_REUSE_MAX
# is set (then every N tasks): each pair expansion connected afresh, ~13 ms of PostgreSQL CPU per
# labeling cycle. celery_app checks the kept connection around each task as Django does around each
# request (CONN_MAX_AGE, errors), so a broken or old one is still replaced.
CELERY_DB_REUSE_MAX = int(os.environ.get("CELERY_DB_REUSE_MAX", 1000))

# Labeling defaults
LEASE_MINUTES = int(os.environ.get("LEASE_MINUTES", 30))
MAX_TEXT_LENGTH = int(os.environ.get("MAX_TEXT_LENGTH", 100_000))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 31536000))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
