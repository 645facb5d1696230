# Every target sets itself up: a fresh clone needs only Python 3.11+ and `make`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_STATE := .demo
TCTL := $(BIN)/tctl --store $(DEMO_STATE)/store.db

.PHONY: demo test test-fast bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

demo: $(STAMP)
	@mkdir -p $(DEMO_STATE)
	$(TCTL) validate -f examples/bookinfo/config -f examples/bookinfo/eastwest-gateway.yaml
	$(TCTL) apply -f examples/bookinfo/config
	$(TCTL) get organizations
	$(TCTL) get workspaces --org tse --tenant tse -o wide
	$(TCTL) get workspacesettings bookinfo-ws-settings --org tse --tenant tse --workspace bookinfo-ws -o yaml

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/validate_bench.py

clean:
	rm -rf $(VENV) $(DEMO_STATE)
