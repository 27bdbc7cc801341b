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
# Tests log in far more often than a person: raise the login rate in place (DRF's throttle classes hold a
# reference to this dict), and give this session its own cache keys so that throttle counts left in a
# shared Redis by an earlier run never carry over.
django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"] = os.environ["LOGIN_THROTTLE_RATE"]
django_settings.CACHES["default"]["KEY_PREFIX"] = f"test-{os.getpid()}"
if django_settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
    django_settings.CACHES["default"]["LOCATION"] = _url
