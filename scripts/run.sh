#!/usr/bin/env bash
# Runs the web server, a Celery worker and Celery beat in the foreground; Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
mkdir -p .run
trap 'trap - INT TERM EXIT; kill 0 2>/dev/null; wait' INT TERM EXIT
# --timeout: starting a campaign to a million contacts creates its messages in the request
# (18-23 s measured); gunicorn's default of 30 s would leave it no margin.
$BIN/gunicorn mifumo.wsgi:application --bind "127.0.0.1:${PORT:-8000}" \
  --workers "${WEB_WORKERS:-4}" --timeout 120 --access-logfile - &
$BIN/celery -A mifumo worker --loglevel INFO --queues default,sends,webhooks,imports \
  --concurrency "${CELERY_CONCURRENCY:-2}" --hostname "mifumo@%h" &
$BIN/celery -A mifumo beat --loglevel INFO --schedule .run/celerybeat-schedule &
wait -n
