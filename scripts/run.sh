#!/usr/bin/env bash
# Runs the web server, a Celery worker and Celery beat in the foreground; Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
mkdir -p .run
trap 'trap - INT TERM EXIT; kill 0 2>/dev/null; wait' INT TERM EXIT
$BIN/gunicorn mifumo.wsgi:application --bind "127.0.0.1:${PORT:-8000}" \
  --workers "${WEB_WORKERS:-4}" --access-logfile - &
$BIN/celery -A mifumo worker --loglevel INFO --queues default,sends,webhooks,imports \
  --concurrency "${CELERY_CONCURRENCY:-2}" --hostname "mifumo@%h" &
$BIN/celery -A mifumo beat --loglevel INFO --schedule .run/celerybeat-schedule &
wait -n
