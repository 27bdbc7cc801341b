#!/usr/bin/env bash
# Label Studio 1.23 in its own virtualenv, for benchmarks/labeling_vs_label_studio.py only.
#     benchmarks/label_studio/setup.sh [VENV]      # default var/label-studio-venv
# Never installs into the project's .venv: Label Studio pins its own Django and DRF.
# The benchmark itself creates the database, runs migrations and makes users (bench_setup.py).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="${1:-$ROOT/var/label-studio-venv}"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install -r "$ROOT/benchmarks/label_studio/requirements.txt"
"$VENV/bin/python" -c "import label_studio; print('label-studio', label_studio.__version__)"
