# Two commands from an empty checkout: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTEST := $(PY) -m pytest -q -p no:cacheprovider --timeout=900

.PHONY: demo test test-fast install lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/transferkit demo

# The whole suite: what CI runs (.ci/run).
test: $(STAMP)
	bash scripts/install_browser.sh
	$(PYTEST)

# The developer loop: every module, without the slow, browser and multi-process tests.
test-fast: $(STAMP)
	$(PYTEST) -m "not slow and not browser and not distributed"

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) build dist src/*.egg-info
