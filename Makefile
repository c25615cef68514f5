# Every target creates .venv and installs the project on first use, so a fresh
# clone needs nothing but Python 3.11+.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install kafka test unit lint bench demo broker worker clean

# The Apache Kafka broker for the real-cluster tests (streams/kafka_cluster.py),
# fetched from Maven Central once; without mvn or java the fetch is skipped and
# those tests skip, saying why.
KAFKA_LIB := var/kafka/lib
KAFKA_STAMP := var/kafka/.fetched-stamp

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

$(KAFKA_STAMP): deploy/kafka/pom.xml
	@if command -v mvn >/dev/null && command -v java >/dev/null; then \
		rm -rf $(KAFKA_LIB) && \
		mvn -q -B -f deploy/kafka/pom.xml dependency:copy-dependencies \
			-DincludeScope=runtime -DoutputDirectory=$(CURDIR)/$(KAFKA_LIB) && \
		touch $@; \
	else \
		echo "mvn or java missing: Kafka not fetched, the real-cluster tests will skip"; \
	fi

kafka: $(KAFKA_STAMP)

test: $(STAMP) $(KAFKA_STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest

unit: $(STAMP)
	$(PY) -m pytest -m "not integration"

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

bench: $(STAMP) $(KAFKA_STAMP)
	$(PY) -m bench.pipeline

demo: $(STAMP)
	$(VENV)/bin/arrears demo

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis var/kafka
