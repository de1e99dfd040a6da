# onestop — the two commands: `make run` and `make test` (see README).
# uv (pinned, from PyPI) installs the locked dependencies of uv.lock into .venv.

PYTHON ?= python3.11
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)

.PHONY: run serve otp test lint audit install install-dev system-deps system-deps-test diagram openapi clean

# The web server and one background worker together: Ctrl-C stops both.
run: install system-deps
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo
	@bash -c 'DEBUG=1 $(PY) manage.py run_worker & worker=$$!; \
	  trap "kill $$worker 2>/dev/null; wait $$worker 2>/dev/null" EXIT; \
	  DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)'

# As in production (DEBUG=0): refuses without SECRET_KEY, ALLOWED_HOSTS, ONESTOP_PUBLIC_URL and
# the audit signing key (from the environment or the env file ONESTOP_ENV_FILE, default .env),
# migrates, collects the static files, then gunicorn (gunicorn.conf.py) and WORKERS workers;
# Ctrl-C stops them all.
# docs/deployment.md.
# HOST, PORT, WORKERS given to make (`make serve PORT=9000 WORKERS=2`) are passed on; otherwise
# the environment's or the env file's apply (defaults 127.0.0.1, 8000, 1).
SERVE_VARS = $(foreach v,HOST PORT WORKERS,$(if $(filter command line environment,$(origin $(v))),$(v)=$($(v))))
serve: install system-deps
	$(SERVE_VARS) $(PY) -m onestop.serve

# The current code of the demo staff's authenticator (the published demo key of
# dossiers/demo/seeding.py): type it after the password when logging in as a demo official.
otp:
	@$(PY) -c "import re, pathlib; from django_otp.oath import totp; \
	  k = re.search(r'DEMO_TOTP_KEY = \"(\w+)\"', pathlib.Path('dossiers/demo/seeding.py').read_text())[1]; \
	  print(f'{totp(bytes.fromhex(k)):06d}')"

test: install-dev system-deps-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Static security checks: bandit over the code (clean, with each exception marked # nosec and
# why), pip-audit over the locked dependencies.
audit: install-dev
	$(VENV)/bin/bandit -q -r onestop dossiers citizens -x '*/migrations/*'
	bash .ci/dependency-audit

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

$(UV):
	@$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || { \
	  echo "Python's venv module is missing: install it with 'apt-get install python3-venv' (or python3.11-venv)."; exit 1; }
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

install: $(UV)
	$(UV) sync --locked --no-dev

install-dev: $(UV)
	$(UV) sync --locked

system-deps:
	@bash .ci/system-deps runtime

system-deps-test:
	@bash .ci/system-deps test

# The state diagram of docs/, generated from the FSM transitions (django-fsm's graph_transitions).
diagram: install-dev
	DEBUG=1 $(PY) manage.py describe_workflow > docs/workflow.md
	DEBUG=1 $(PY) manage.py graph_transitions dossiers.Dossier.status > docs/state-diagram.dot
	@command -v dot >/dev/null && dot -Tsvg docs/state-diagram.dot -o docs/state-diagram.svg || \
	  echo "graphviz 'dot' not installed: docs/state-diagram.svg not refreshed"

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .ruff_cache

# The committed OpenAPI schema (a test fails when it differs from the code).
openapi: install-dev
	DEBUG=1 $(PY) manage.py spectacular --validate --fail-on-warn --file docs/openapi.yaml
