# capmon: the two commands are `make run` and `make test`; both set up everything they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
KAFKA_PORT ?= 9092
KAFKA_DATA ?= .cache/kafka-data
SPEED ?= 7200
export KAFKA_PORT KAFKA_DATA

.PHONY: help install lock run test test-slow check soak lint kafka kafka-stop topics schemas dashboards bench clean

help:
	@echo "make run         local Kafka + a capmon worker + simulated feed (SPEED=$(SPEED) x real time)"
	@echo "make test        the whole test suite (starts its own Kafka)"
	@echo "make check       before a commit: ruff and the tests that need no Kafka"
	@echo "make test-slow   the long cases: faults (3-minute broker outage, receiver down 10 minutes, slow receiver)"
	@echo "                 and the multi-minute real-worker runs (kill -9, two workers, rolling restart, live alerting)"
	@echo "make soak        a worker and the simulator at 2,000x for 30 minutes: bench/soak.csv and bench/soak.png"
	@echo "make kafka       start the local broker on 127.0.0.1:$(KAFKA_PORT); make kafka-stop stops it"
	@echo "make lint        ruff;  make schemas  regenerate streams/contract/schemas/*.json"
	@echo "make dashboards  regenerate deploy/grafana/dashboards/*.json from deploy/grafana/build.py"
	@echo "make lock        re-resolve requirements/*.txt after a change to pyproject.toml (LOCK_ARGS=--upgrade: newest)"

# Dependencies from the lock (exact versions, every file's hash; `make lock` writes it), then capmon itself.
$(VENV)/.installed: pyproject.toml requirements/dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "capmon needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes -r requirements/dev.txt
	$(BIN)/pip install -q --no-deps -e .
	@touch $@

install: $(VENV)/.installed

# The locks (uv, from PyPI, in a venv of its own): worker.txt for the image (no extras), dev.txt for `make
# install` and CI (the dev extra, at the worker's versions), build.txt for the image's build of capmon itself.
LOCK_TOOLS := .cache/lock-tools
UV_COMPILE = $(LOCK_TOOLS)/bin/uv pip compile -q --generate-hashes --universal --python-version 3.11 \
	--custom-compile-command 'make lock' $(LOCK_ARGS)
lock:
	@test -x $(LOCK_TOOLS)/bin/uv || { $(PYTHON) -m venv $(LOCK_TOOLS) && $(LOCK_TOOLS)/bin/pip install -q uv==0.13.9; }
	$(UV_COMPILE) pyproject.toml -o requirements/worker.txt
	$(UV_COMPILE) pyproject.toml --extra dev -c requirements/worker.txt -o requirements/dev.txt
	$(UV_COMPILE) requirements/build.in -o requirements/build.txt

kafka:
	@$(PYTHON) deploy/kafka/localkafka.py start

kafka-stop:
	@$(PYTHON) deploy/kafka/localkafka.py stop

topics: install kafka
	@CAPMON_KAFKA_BOOTSTRAP=127.0.0.1:$(KAFKA_PORT) $(BIN)/capmon topics

run: install kafka
	@SPEED=$(SPEED) deploy/run.sh

test: install
	@deploy/test-deps.sh
	@$(PYTHON) deploy/kafka/localkafka.py fetch
	$(BIN)/ruff check .
	CAPMON_HYPOTHESIS_PROFILE=ci $(BIN)/pytest

check: install
	$(BIN)/ruff check .
	$(BIN)/pytest -q -m "not kafka"

test-slow: install
	@deploy/test-deps.sh
	@$(PYTHON) deploy/kafka/localkafka.py fetch
	$(BIN)/pytest -m slow

lint: install
	$(BIN)/ruff check .

schemas: install
	$(BIN)/capmon schemas

dashboards: install
	$(BIN)/python deploy/grafana/build.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis *.egg-info

soak: install
	@$(PYTHON) deploy/kafka/localkafka.py fetch
	@$(BIN)/python -c 'import matplotlib' 2>/dev/null || $(BIN)/pip install -q -e '.[dev,soak]'
	$(BIN)/python -m bench.soak

bench: install
	@$(PYTHON) deploy/kafka/localkafka.py fetch
	$(BIN)/python -m bench.worker_throughput
	$(BIN)/python -m bench.failover
	$(BIN)/python -m bench.alert_latency
	$(BIN)/python -m bench.backtest
	$(BIN)/python -m bench.outlook
