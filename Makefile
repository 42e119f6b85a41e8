# Two commands do everything on a fresh machine: `make demo` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PYTHON := $(BIN)/python

.PHONY: test demo lint venv node bench clean

$(VENV)/.stamp-deps: requirements.txt requirements-dev.txt
	@command -v $(PY) >/dev/null 2>&1 || { echo "need $(PY) (or run: make PY=python3 ...)"; exit 2; }
	test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(PYTHON) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.stamp-deps

node_modules/.stamp-azurite: package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

node: node_modules/.stamp-azurite

lint: venv
	$(BIN)/ruff check .

test: venv node lint
	$(PYTHON) -m pytest

demo: venv node
	$(PYTHON) -m scanner.demo

bench: venv node
	for b in bench/bench_*.py; do echo "== $$b"; $(PYTHON) $$b || exit 1; done

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache demo-output
