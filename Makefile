# The suite's commands. Everything installs into .venv (and the TypeScript client's node_modules); nothing is
# needed beyond python3, make and Node.js with npm.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run demo test bench clean

install: $(STAMP)

# Every service folder (*-svc) is installed editable beside the packages requirements-dev.txt names.
SERVICES := $(wildcard *-svc)

$(STAMP): requirements-dev.txt constraints.txt $(wildcard */pyproject.toml) clients/typescript/package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --no-compile -r requirements-dev.txt -c constraints.txt $(foreach dir,$(SERVICES),-e ./$(dir))
	@# Bytecode on every core at once (pip compiles one file after another: 90 s of the install on two cores, this
	@# 50 s). Like pip's own step, it passes over files it cannot compile (torch ships Python 3.12 test files).
	$(PY) -m compileall -q -j 0 $(VENV)/lib > /dev/null || true
	cd clients/typescript && npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

run: install          ## the suite on real upstreams, at http://localhost:8080
	$(PY) -m devstack run

demo: install         ## the suite with every upstream pointed at the sandbox (no internet needed)
	$(PY) -m devstack demo

test: install         ## the linter, then every test (they start their own servers on free ports)
	$(PY) -m ruff check .
	$(PY) -m pytest -q --durations=25

bench: install        ## benchmarks (need wrk: apt-get install wrk); figures in docs/benchmarks.md
	$(PY) -m bench.gateway_cache
	$(PY) -m bench.price_cache
	$(PY) -m bench.ws_fanout
	$(PY) -m bench.ai
	$(PY) -m bench.backtest
	$(PY) -m bench.chain
	$(PY) -m bench.deadlines

clean:
	rm -rf .run $(VENV)
