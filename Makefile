# Every target creates .venv and installs the project on first use, so a fresh
# clone needs nothing but Python 3.11+.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install test unit lint bench demo broker worker clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest

unit: $(STAMP)
	$(PY) -m pytest -m "not integration"

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

bench: $(STAMP)
	$(PY) -m bench.pipeline

demo: $(STAMP)
	$(VENV)/bin/arrears demo

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
