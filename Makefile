# Two commands do all set-up on a fresh machine:
#   make bench   installs wattprint with the benchmark stack and runs the quick preset
#   make test    installs wattprint with everything the tests need, runs ruff and mypy, then the tests
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# torch 2.13.0's CPU build; a plain `torch` would pull several GB of CUDA build on machines without it.
TORCH ?= torch==2.13.0
BENCH_ARGS ?=

.PHONY: bench test lint install install-test doctor demo clean browser

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	touch $@

$(VENV)/.installed-bench: $(VENV)/.created pyproject.toml
	$(PIP) install -q "$(TORCH)"
	$(PIP) install -q -e ".[bench,parquet]"
	touch $@

$(VENV)/.installed-test: $(VENV)/.created pyproject.toml
	$(PIP) install -q "$(TORCH)"
	$(PIP) install -q -e ".[all,test]"
	touch $@

install: $(VENV)/.installed-bench
install-test: $(VENV)/.installed-test

bench: install
	$(VENV)/bin/wattprint doctor
	$(VENV)/bin/wattprint bench --preset quick $(BENCH_ARGS)

# Debian's chromium drives the HTML report test; Playwright's own browser download cannot work offline.
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || \
	  echo "chromium not installed: the browser test will be skipped"

# ruff (style, import order, complexity limit) and mypy (types of src/), as configured in pyproject.toml
lint: install-test
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy

test: install-test browser lint
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) build dist src/*.egg-info
