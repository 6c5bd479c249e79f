#!/usr/bin/env bash
# Runs the web server, a Celery worker and Celery beat in the foreground, each supervised: one
# that dies (a crash, an OOM kill) is started again a second later while the others go on
# serving. Ctrl-C (or TERM) stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
RUN_DIR=${RUN_DIR:-.run}
mkdir -p "$RUN_DIR"
trap 'trap - INT TERM EXIT; kill 0 2>/dev/null; wait' INT TERM EXIT

supervise() {
  local name=$1 status
  shift
  while true; do
    "$@" && status=0 || status=$?
    echo "run.sh: $name exited with status $status; starting it again in 1 s" >&2
    sleep 1
  done
}

supervise web "$BIN/gunicorn" -c mifumo/gunicorn.conf.py mifumo.wsgi:application \
  --bind "127.0.0.1:${PORT:-8000}" --workers "${WEB_WORKERS:-4}" \
  --access-logfile - &
supervise worker "$BIN/celery" -A mifumo worker --loglevel INFO \
  --queues default,transactional,sends,webhooks,imports --concurrency "${CELERY_CONCURRENCY:-2}" \
  --hostname "mifumo@%h" &
supervise beat "$BIN/celery" -A mifumo beat --loglevel INFO \
  --schedule "$RUN_DIR/celerybeat-schedule" &
wait
