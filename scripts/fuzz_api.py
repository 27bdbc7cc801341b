#!/usr/bin/env python
"""The long Schemathesis run: every operation of /api/schema/, as every role (anonymous, labeler,
admin, ML engineer), with many generated valid and invalid requests. Fails on any 5xx or any
documented response that doesn't match the schema. Then the hostile cases (lone surrogates, NUL, huge
integers, Unicode digits, non-object and oversized bodies) on every operation and role, and every list
and export read back: any 5xx fails. (The test suite runs the same with a few examples:
tests/security/test_fuzz_api.py.)

    scripts/fuzz_api.py [--max-examples 100] [--seed 0 | --random] [--json report.json]

Runs in-process on a fresh SQLite database in a temp dir (or --database-url), seeded with a little of
everything so detail routes find real objects. Exit status 1 when anything failed.
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-examples", type=int, default=100, help="generated requests per operation, role and mode")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--random", action="store_true", help="a different run each time (no fixed seed)")
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temp dir")
    parser.add_argument("--json", help="also write the report here")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="rlhf-fuzz-"))
    os.environ.setdefault("VAR_DIR", str(workdir))
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{workdir / 'fuzz.sqlite3'}"
    os.environ["LOGIN_THROTTLE_RATE"] = "1000000/min"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
    from broker import ensure_redis  # platform/broker.py: $REDIS_URL if it answers, else an embedded one

    broker_url, broker_process = ensure_redis(workdir / "redis")
    os.environ["REDIS_URL"] = os.environ["CELERY_BROKER_URL"] = os.environ["CELERY_RESULT_BACKEND"] = broker_url
    import django

    django.setup()
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    from django.test import Client
    from drf_spectacular.generators import SchemaGenerator
    from rest_framework.authtoken.models import Token

    from tests.security.fuzzing import fuzz, hostile_fuzz, read_everything_back
    from tests.security.test_fuzz_api import seed_everything
    from tests.support.builders import client_as

    try:
        call_command("migrate", verbosity=0)
        headers = seed_everything()
        report = fuzz(get_wsgi_application(), headers, max_examples=args.max_examples,
                      seed=None if args.random else args.seed, anonymous_examples=max(1, args.max_examples // 10))
        # then the hostile cases on every operation and role, and every list and export read back
        from django.conf import settings

        wsgi_headers = {role: {"HTTP_AUTHORIZATION": h["Authorization"]} if h else {} for role, h in headers.items()}
        bystander = Token.objects.create(user=client_as("labeler").user).user_id
        client, schema = Client(raise_request_exception=False), SchemaGenerator().get_schema(request=None, public=True)
        hostile = hostile_fuzz(client, schema, wsgi_headers, ids={"id": 1, "user_id": bystander},
                               max_body_bytes=settings.API_MAX_BODY_BYTES)
        read_everything_back(client, schema, wsgi_headers, hostile)
    finally:
        if broker_process is not None:
            broker_process.kill()
    summary = report.as_dict()
    summary["failure_list"] = sorted(set(f.split("\n")[0] for f in report.failures))
    summary["hostile"] = {**hostile.as_dict(), "server_error_list": hostile.server_errors[:100]}
    print(json.dumps(summary, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps({**summary, "failures_full": report.failures}, indent=2))
    failed = report.failures or any(status >= 500 for status in report.by_status) or hostile.server_errors
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
