# Mifumo: `make run` serves it, `make test` checks it; both set up what they need first.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint migrate services setup bench browser

$(BIN)/python: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(BIN)/python

services: $(BIN)/python .env
	$(BIN)/python manage.py ensure_services

migrate: services
	$(BIN)/python manage.py migrate_all --verbosity 0

setup: migrate
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py demo_setup

.env:
	cp .env.example .env

run: .env setup
	scripts/run.sh

lint: $(BIN)/python
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: migrate
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/foundation.py
	$(BIN)/python bench/audience.py
	$(BIN)/python bench/sending.py
	$(BIN)/python bench/campaigns.py
	BENCH_RECIPIENTS=1000000 $(BIN)/python bench/campaigns.py

# The developer pages' browser test drives Debian's chromium through chromedriver.
browser:
	test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver)

test: lint services browser
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest -n 2
