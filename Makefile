# Two commands do everything on a fresh machine: `make demo` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PYTHON := $(BIN)/python

.PHONY: test demo lint venv node bench clean checkov chromium azcli

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

test: venv node lint chromium checkov azcli
	$(PYTHON) -m pytest

demo: venv node
	$(PYTHON) -m scanner.demo

bench: venv node
	for b in bench/bench_*.py; do echo "== $$b"; $(PYTHON) $$b || exit 1; done

# Bicep security scan. checkov pins its own Bicep parser (pycep-parser 0.5), which clashes with
# ours, so it lives in its own venv. Any failure (install offline, unparsable file, failed check)
# fails the build: a scan that did not run must never look like a pass.
# webhook-settings.bicep holds no resources and uses a lambda that checkov's parser cannot read.
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := .venv-checkov

$(CHECKOV_VENV)/.stamp-checkov-$(CHECKOV_VERSION):
	@command -v $(PY) >/dev/null 2>&1 || { echo "need $(PY) (or run: make PY=python3 ...)"; exit 2; }
	test -x $(CHECKOV_VENV)/bin/python || $(PY) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --disable-pip-version-check -q checkov==$(CHECKOV_VERSION) \
	  || { echo "checkov: could not install checkov==$(CHECKOV_VERSION) into $(CHECKOV_VENV): the Bicep scan did NOT run" >&2; exit 1; }
	touch $@

checkov: $(CHECKOV_VENV)/.stamp-checkov-$(CHECKOV_VERSION)
	@out=$$($(CHECKOV_VENV)/bin/checkov -d infra --framework bicep --skip-download --compact --quiet \
	    --skip-path 'webhook-settings\.bicep' 2>&1); rc=$$?; echo "$$out"; \
	if echo "$$out" | grep -q "Parsing errors"; then echo "checkov: some Bicep files could not be parsed (above)" >&2; exit 1; fi; \
	if ! echo "$$out" | grep -Eq "Passed checks: [1-9]"; then echo "checkov: no checks ran on infra/" >&2; exit 1; fi; \
	exit $$rc

# The real Azure CLI for tests/integration/test_az_commands.py: every `az` command the scanner prints
# runs against the fake ARM. azure-cli pins its own SDKs, so it lives in its own venv (about a
# minute and 730 MB). A failed install fails the build: commands no test ran must not look proven.
AZCLI_VERSION := 2.91.0
AZCLI_VENV := .venv-azcli

$(AZCLI_VENV)/.stamp-azcli-$(AZCLI_VERSION):
	@command -v $(PY) >/dev/null 2>&1 || { echo "need $(PY) (or run: make PY=python3 ...)"; exit 2; }
	test -x $(AZCLI_VENV)/bin/python || $(PY) -m venv $(AZCLI_VENV)
	$(AZCLI_VENV)/bin/python -m pip install --disable-pip-version-check -q azure-cli==$(AZCLI_VERSION) \
	  || { echo "azcli: could not install azure-cli==$(AZCLI_VERSION) into $(AZCLI_VENV): the az command tests cannot run" >&2; exit 1; }
	touch $@

azcli: $(AZCLI_VENV)/.stamp-azcli-$(AZCLI_VERSION)

# The report page test needs headless Chromium (Debian package `chromium`). Installed here when
# missing; if that is impossible the test skips and says why.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  echo "installing chromium (Debian package) for tests/integration/test_report_chromium.py"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
	  { $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; } >/dev/null 2>&1 \
	    || echo "WARNING: could not install chromium; the report page browser test will be skipped" >&2; }

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(AZCLI_VENV) node_modules .pytest_cache .ruff_cache demo-output
