# Quick start: `make build` builds the KB end to end; `make test` runs the whole test suite.
# Both create .venv with everything the project needs on first use.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: build test lint docs clean

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "Python 3.11 is needed (set PY=...)"; exit 2; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

build: $(STAMP)
	$(BIN)/kb build

test: $(STAMP)
	bash scripts/ensure-chromium.sh
	$(BIN)/ruff check kb tests
	$(BIN)/lint-imports
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check kb tests

docs: $(STAMP)
	$(BIN)/kb docs

clean:
	rm -rf dist .dist.builds build-cache .pytest_cache
