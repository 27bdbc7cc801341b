"""Test-session services, set up before Django reads its settings.

- Database: DATABASE_URL when set (CI: PostgreSQL), else SQLite under var/.
- Broker: REDIS_URL when it answers (CI: the machine's Redis), else an embedded redis-server.
Nothing is mocked: integration tests use these real services.
"""

import atexit
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(1, str(ROOT / "platform"))

from broker import ensure_redis  # noqa: E402  (platform/broker.py)

_url, _process = ensure_redis(ROOT / "var" / "test-redis")
os.environ["REDIS_URL"] = _url
os.environ["CELERY_BROKER_URL"] = _url
os.environ.setdefault("LOGIN_THROTTLE_RATE", "1000/min")
if _process is not None:
    atexit.register(_process.kill)

# pytest-django may have read the settings before this file ran: point them at the same broker.
from django.conf import settings as django_settings  # noqa: E402

django_settings.REDIS_URL = django_settings.CELERY_BROKER_URL = django_settings.CELERY_RESULT_BACKEND = _url
