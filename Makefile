# Mifumo: `make run` serves it, `make test` checks it; both set up what they need first.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint typecheck layers migrate services setup bench browser env bandit audit

$(BIN)/python: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(BIN)/python

services: $(BIN)/python env
	$(BIN)/python manage.py ensure_services

migrate: services
	$(BIN)/python manage.py migrate_all --verbosity 0

setup: migrate
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py demo_setup

# .env from .env.example on the first run; any empty secret in it gets a random value.
env:
	$(PYTHON) scripts/env_secrets.py

run: setup
	scripts/run.sh

lint: $(BIN)/python
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy as configured in pyproject.toml: billing, sms and the outbox strict, the other apps checked.
typecheck: $(BIN)/python
	$(BIN)/mypy

# The import-linter contracts in pyproject.toml: DESIGN section 1's layers, providers as leaves.
layers: $(BIN)/python
	$(BIN)/lint-imports --no-cache

# bandit fails on a HIGH finding in the shipped code.
bandit: $(BIN)/python
	$(BIN)/bandit --configfile pyproject.toml --recursive . --severity-level high --quiet

# pip-audit fails on a pin with a known advisory and, with --strict, on a pin it could not look
# up (rather than skipping it). It needs a vulnerability service (PyPI's per-release JSON or
# OSV); where none answers, as on a machine that reaches only a package mirror, it fails, so
# `make test` runs bandit alone and this runs where the service is reachable.
audit: bandit
	$(BIN)/pip-audit --requirement requirements.txt --no-deps --disable-pip --strict \
		--progress-spinner off --cache-dir $(VENV)/pip-audit-cache

# Each part starts what it measures against mifumo_bench (its own gunicorn or workers; the
# import over HTTP runs scripts/run.sh, the stack of `make run`, on a port of its own).
bench: migrate
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/foundation.py
	$(BIN)/python bench/audience.py
	$(BIN)/python bench/import_http.py
	$(BIN)/python bench/sending.py
	$(BIN)/python bench/payments.py
	$(BIN)/python bench/inbound.py
	$(BIN)/python bench/conversations.py
	$(BIN)/python bench/provider_clients.py
	$(BIN)/python bench/campaigns.py
	BENCH_RECIPIENTS=1000000 $(BIN)/python bench/campaigns.py

# The developer pages' browser test drives Debian's chromium through chromedriver.
browser:
	test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver)

test: lint typecheck layers bandit services browser
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest -n 2
