#!/usr/bin/env bash
# Build the web UI into frontend/dist (served by Django under /static/). Idempotent: `npm ci` only when
# node_modules is missing or older than package-lock.json, `npm run build` only when a source file is
# newer than the last build. FORCE=1 rebuilds anyway.
set -euo pipefail
cd "$(dirname "$0")/../frontend"

stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  npm ci --no-audit --no-fund
fi

built=dist/index.html
if [ "${FORCE:-0}" = "1" ] || [ ! -f "$built" ] || \
   [ -n "$(find src index.html vite.config.ts tsconfig.json package-lock.json -newer "$built" -print -quit)" ]; then
  npm run build
else
  echo "frontend/dist is up to date"
fi
