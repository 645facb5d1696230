# Every target sets itself up: a fresh clone needs only Python 3.11+ and `make`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_STATE := .demo
TCTL := $(BIN)/tctl --store $(DEMO_STATE)/store.db --fleet examples/bookinfo/fleet

.PHONY: demo lint test bench clean compile

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

# Bytecode for tctl's own modules, as installing a package writes it: the install above is
# editable, and where PYTHONDONTWRITEBYTECODE is set every tctl process (a test's, a
# benchmark's, yours) would otherwise compile the ~90 modules it imports again, 0.3-0.4 s of CPU.
compile: $(STAMP)
	@$(BIN)/python -m compileall -q tctl_py

# The use case on the bundled example: a three-cluster snapshot fleet (examples/bookinfo/fleet).
demo: compile
	@mkdir -p $(DEMO_STATE)
	@echo "== validate the configuration and the East-West gateway"
	$(TCTL) validate -f examples/bookinfo/config -f examples/bookinfo/eastwest-gateway.yaml
	@echo "== apply the configuration (organization, tenant, workspace, setting, clusters)"
	$(TCTL) apply -f examples/bookinfo/config
	@echo "== cluster-3 has no bookinfo: the exposed services reach it as ServiceEntries"
	$(TCTL) get serviceentries -n xcp-multicluster --cluster cluster-3
	@echo "== cluster-2 runs bookinfo too: shadow WorkloadEntries fail over to cluster-1"
	$(TCTL) get workloadentries -n bookinfo --cluster cluster-2
	@echo "== the fleet"
	$(TCTL) clusters
	@echo "== will failover work? every exposed service in every cluster"
	$(TCTL) status
	@echo "== the picture: docs/images/bookinfo.mmd (Mermaid) and, with Graphviz, bookinfo.svg"
	@mkdir -p docs/images
	$(TCTL) graph -o mermaid > docs/images/bookinfo.mmd
	@if command -v dot >/dev/null 2>&1; then $(TCTL) graph -o dot | dot -Tsvg > docs/images/bookinfo.svg; \
	else echo "(Graphviz's dot is not installed: docs/images/bookinfo.svg not refreshed)"; fi
	@echo "== next: run the README's commands on the demo's store and fleet with"
	@echo "export TCTL_STORE=$(DEMO_STATE)/store.db TCTL_FLEET=examples/bookinfo/fleet"

# Lint and types first: a test run on code that does not pass them is not worth waiting for.
lint: $(STAMP)
	$(BIN)/ruff check tctl_py tests benchmarks
	$(BIN)/ruff format --check tctl_py tests benchmarks
	$(BIN)/mypy

test: lint compile
	$(BIN)/python -m pytest -q

bench: compile
	$(BIN)/python benchmarks/validate_bench.py
	$(BIN)/python benchmarks/fleet_bench.py
	$(BIN)/python benchmarks/fleet_bench.py --replicated
	$(BIN)/python benchmarks/apply_bench.py
	$(BIN)/python benchmarks/watch_bench.py

clean:
	rm -rf $(VENV) $(DEMO_STATE)
