# Two commands for a newcomer: `make run` and `make test`. Both set up what is missing
# first: Debian packages (as root; otherwise the exact command to run is printed),
# the virtual environment and the Python dependencies.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# WeasyPrint needs Pango; Chinese PDFs need a CJK font and HarfBuzz's subsetter.
SYSTEM_PACKAGES := fonts-noto-cjk libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0

.PHONY: run test lint check-format format setup system-deps clean

# The worker sends the demo's reminders to var/outbox/ (no mail server needed); it stops with serve.
run: setup
	@$(BIN)/dpa db upgrade
	@$(BIN)/dpa demo load
	@$(BIN)/dpa worker & worker=$$!; trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; $(BIN)/dpa serve

test: setup lint
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff check --fix app tests bench
	$(BIN)/ruff format app tests bench

setup: system-deps $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --editable '.[dev]'
	touch $(STAMP)

system-deps:
	@missing=""; \
	for pkg in $(SYSTEM_PACKAGES); do \
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
