#!/usr/bin/env bash
# Run the whole platform on embedded defaults: SQLite, Redis at $REDIS_URL or an embedded one, a
# seeded demo project, the web server, Celery workers (queues default and gpu) and beat.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python scripts/launch.py "$@"
