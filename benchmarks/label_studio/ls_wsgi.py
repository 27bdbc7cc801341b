"""Label Studio's WSGI application with persistent database connections, for the benchmark.

Label Studio reads no CONN_MAX_AGE from the environment, and without one every request opens a new
PostgreSQL connection (that alone halves its throughput). Runs inside Label Studio's own virtualenv:
    gunicorn ls_wsgi:application --pythonpath <label_studio package folder>,benchmarks/label_studio
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings.label_studio")

from django.conf import settings  # noqa: E402

# Before the first connection is made: Django's connection handler reads DATABASES lazily.
settings.DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("LS_CONN_MAX_AGE", "600"))

from core.wsgi import application  # noqa: E402,F401
