"""Every Django process (web, commands) sends tasks through the project's Celery app and broker."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_plain_django_process_uses_the_project_celery_app():
    code = ("import os, sys; sys.path[:0] = ['.', 'platform']; os.environ['DJANGO_SETTINGS_MODULE'] = 'settings';"
            "import django; django.setup(); from celery import current_app;"
            "from labeling.tasks import expand_ranking_pairs as t;"
            "print(current_app.main, t.app.conf.broker_url, t.app.amqp.router.route({}, t.name)['queue'].name)")
    env = dict(os.environ, REDIS_URL="redis://127.0.0.1:6399/3", CELERY_BROKER_URL="")
    env.pop("CELERY_BROKER_URL")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert out == ["rlhf", "redis://127.0.0.1:6399/3", "default"]
