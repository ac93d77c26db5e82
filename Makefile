# Two commands for a newcomer: `make run` and `make test`. Both set up what is missing
# first: Debian packages (as root; otherwise the exact command to run is printed),
# the virtual environment and the Python dependencies, at the versions and hashes of the
# lock files (`make run` only what the service needs, `make test` the developer tools too).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
# Where `make run` serves, set on the command line (not read from the environment, where HOST
# often names the machine): make run HOST=0.0.0.0 PORT=8080
HOST := 127.0.0.1
PORT := 8000
# WeasyPrint needs Pango; Chinese PDFs need a CJK font and HarfBuzz's subsetter.
SYSTEM_PACKAGES := fonts-noto-cjk libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0
# The tests also look at the documents: pdftoppm, pdffonts, pdftotext (poppler-utils) and a DOCX
# laid out by LibreOffice headless (tests/unit/test_agreement_pages.py); and the browser tests
# drive Debian's chromium (Playwright's own browser download is not used). `make test` only.
TEST_PACKAGES := poppler-utils libreoffice-writer-nogui chromium wrk
# How the lock files are made (make lock; make lock LOCK_FLAGS=--upgrade for newer versions).
COMPILE := $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock" --quiet $(LOCK_FLAGS)

.PHONY: run test test-slow lint check-format format setup setup-run setup-dev lock system-deps system-deps-dev clean

# The reminder worker runs beside the server (the demo's reminders go to var/outbox/) and stops
# with it. A second make run prints a new demo token (the first keeps working) and, while the
# first server runs on var/dpa.db, stops there, naming it.
run: setup-run
	@echo "make run: serving on $(HOST):$(PORT) (choose with: make run HOST=0.0.0.0 PORT=8080)"
	@$(BIN)/dpa db upgrade
	@$(BIN)/dpa demo load
	@$(BIN)/dpa serve --host '$(HOST)' --port '$(PORT)' --reminders

# The quick suite, in TEST_WORKERS processes (pytest-xdist; PostgreSQL: a database each); the
# tests that start servers, command-line processes or a browser are `make test-slow`. CI runs both.
TEST_WORKERS ?= 3
test: setup-dev lint
	$(BIN)/pytest -n $(TEST_WORKERS) -m "not slow and not browser"

test-slow: setup-dev
	$(BIN)/pytest -n $(TEST_WORKERS) -m "slow or browser"

lint: setup-dev
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

format: setup-dev
	$(BIN)/ruff check --fix app tests bench
	$(BIN)/ruff format app tests bench

setup: setup-dev
setup-run: system-deps $(RUN_STAMP)
setup-dev: system-deps-dev $(DEV_STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Exactly the locked versions, checked against their hashes; then the project itself, without
# dependencies. `pip check` catches a dependency added to pyproject.toml but not to the lock.
define install
	$(BIN)/pip install --quiet --require-hashes --requirement $(1)
	$(BIN)/pip install --quiet --no-deps --editable .
	@$(BIN)/pip check >/dev/null || { $(BIN)/pip check; echo "$(1) does not match pyproject.toml: run make lock"; exit 1; }
	touch $@
endef

$(RUN_STAMP): requirements.lock pyproject.toml | $(BIN)/python
	$(call install,requirements.lock)

$(DEV_STAMP): requirements-dev.lock pyproject.toml | $(BIN)/python
	$(call install,requirements-dev.lock)

# After changing the dependencies in pyproject.toml; the dev lock keeps the runtime lock's versions.
# Needs only uv (pinned in the dev lock), not an environment that matches the new pyproject.toml.
lock: $(BIN)/uv
	$(COMPILE) --output-file requirements.lock
	$(COMPILE) --extra dev --constraint requirements.lock --output-file requirements-dev.lock

$(BIN)/uv: | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes --no-deps \
	  --requirement <(awk '/^uv==/ { on = 1 } on { print } on && !/\\$$/ { exit }' requirements-dev.lock)

system-deps: PACKAGES := $(SYSTEM_PACKAGES)
system-deps-dev: PACKAGES := $(SYSTEM_PACKAGES) $(TEST_PACKAGES)
system-deps system-deps-dev:
	@missing=""; \
	for pkg in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "ok installed" || missing="$$missing $$pkg"; \
	done; \
	$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else \
	    echo "missing system packages:$$missing"; \
	    echo "run: sudo apt-get update && sudo apt-get install -y --no-install-recommends$$missing"; \
	    exit 1; \
	  fi; \
	fi

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
