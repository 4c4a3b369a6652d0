#!/usr/bin/env bash
# Packaging smoke test of the reference app, as a server would get it: build the wheel with
# `pip wheel app_src`, install it with its production extras into a fresh venv, run
# `flask deploy` twice against SQLite (second run must report no change) and serve /healthz
# through gunicorn from the installed wheel.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
work=$(mktemp -d)
trap 'kill "${gpid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
quiet() { "$@" 2>&1 | { grep -v -e "^WARNING: Location" -e "^ *$" || true; }; }

quiet "$PYTHON" -m pip wheel -q --no-deps "$root/app_src" -w "$work/dist"
wheel=$(ls "$work"/dist/flasky-*.whl)
echo "built $(basename "$wheel")"
"$PYTHON" -m venv "$work/venv"
quiet "$work/venv/bin/pip" install -q "${wheel}[production]"

mkdir "$work/release" && cd "$work/release"
cat > .env <<ENV
FLASK_CONFIG=production
SECRET_KEY=smoke-test-secret
DATABASE_URL=sqlite:///$work/smoke.sqlite
FLASKY_RELEASE=smoke-1
ENV
first=$("$work/venv/bin/flask" --app flasky.wsgi deploy | tail -1)
second=$("$work/venv/bin/flask" --app flasky.wsgi deploy | tail -1)
[ "$first" = changed=true ] && [ "$second" = changed=false ] \
  || { echo "flask deploy: first run '$first', second run '$second'"; exit 1; }
echo "flask deploy: first run $first, second run $second"

sock="$work/gunicorn.sock"
"$work/venv/bin/gunicorn" --bind "unix:$sock" --workers 2 flasky.wsgi:app >"$work/gunicorn.log" 2>&1 &
gpid=$!
# Up to 5 minutes: in CI the checks run on idle CPU only (scripts/test.sh), and may wait for it.
for _ in $(seq 1500); do [ -S "$sock" ] && break; sleep 0.2; done
body=$(curl -fsS --unix-socket "$sock" http://localhost/healthz) \
  || { cat "$work/gunicorn.log"; exit 1; }
echo "gunicorn /healthz: $body"
grep -q '"release":"smoke-1"' <<<"$body" && grep -q '"status":"ok"' <<<"$body"
