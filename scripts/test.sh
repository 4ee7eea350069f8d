#!/usr/bin/env bash
# The whole suite: lint, then pytest on SQLite, then on PostgreSQL when one answers at
# TEST_DATABASE_URL (CI requires it). Called by `make test`, which CI runs through .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PG_URL="${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}"

echo "== ruff =="
$BIN/ruff check .
$BIN/ruff format --check .

echo "== pytest on SQLite =="
env -u TEST_DATABASE_URL $BIN/pytest "$@"

postgres_answers() {
  $BIN/python - "$PG_URL" <<'PY' >/dev/null 2>&1
import sys, psycopg
psycopg.connect(sys.argv[1], connect_timeout=3).close()
PY
}

if ! postgres_answers && [ "${CI:-}" = "true" ] && command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "PostgreSQL is not answering; starting the local cluster"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  for _ in $(seq 1 20); do postgres_answers && break; sleep 0.5; done
fi

if postgres_answers; then
  echo "== pytest on PostgreSQL ($PG_URL) =="
  TEST_DATABASE_URL="$PG_URL" $BIN/pytest "$@"
elif [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL does not answer at $PG_URL: CI must run the suite on both databases" >&2
  exit 1
else
  echo "== PostgreSQL not answering at $PG_URL: suite ran on SQLite only =="
fi
