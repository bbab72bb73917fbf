# The README's two set-up commands: `make demo` (the main job) and `make test` (the test suite).
# Each builds what it needs on a fresh clone: the virtual environment, the package with its
# dependencies, and the Neo4j jars (resolved from Maven Central into the user's cache).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.circuitstore-installed

.PHONY: demo test jars chromium

# The main job: start the server, store the example graphs, compute the graphs of the planted-
# circuit model offline (docs/planted-circuit.md) beside them, ask questions of both, and test a
# planted graph on its model (Texas's features swapped for California's).
GRAPHS ?= ../shared/graphs
DALLAS := clt-hp-the-capital-of-201020250035-20251020-003525
OAKLAND := capital_oakland-20251026-163348
PLANTED := .state/planted
# The model name its graphs record (circuitstore.compute.planted.MODEL_NAME).
PLANTED_MODEL := planted-capitals-v1

demo: jars
	$(BIN)/circuitstore server start
	$(BIN)/circuitstore import $(GRAPHS)/*/*.json
	$(BIN)/circuitstore demo-model $(PLANTED)
	$(BIN)/circuitstore ingest --model planted --prompts $(PLANTED)/prompts.txt > $(PLANTED)/ingested.txt
	cat $(PLANTED)/ingested.txt
	$(BIN)/circuitstore graphs
	$(BIN)/circuitstore query paths -p graph=$(DALLAS) -p 'source= Dallas' -p 'target= Austin' -p k=5
	$(BIN)/circuitstore query shared-features -p graphs=$(DALLAS),$(OAKLAND) -p k=10
	$(BIN)/circuitstore query paths -p 'source= Dallas' -p 'target= Austin' -p k=5 \
		-p graph=$$(grep "containing Dallas is'" $(PLANTED)/ingested.txt | cut -d' ' -f2)
	$(BIN)/circuitstore query recurrence -p 'target= Austin' -p model=$(PLANTED_MODEL) -p paths=8
	$(BIN)/circuitstore intervene $$(grep "containing Dallas is'" $(PLANTED)/ingested.txt | cut -d' ' -f2) \
		--ablate 0_5_9 --ablate 0_18_9 --swap 0_31_9 --swap 0_12_9 \
		--swap-from $$(grep "containing Oakland is'" $(PLANTED)/ingested.txt | cut -d' ' -f2)
	$(BIN)/circuitstore query interventions
	$(BIN)/circuitstore server status

# Lint and formatting first (ruff, configured in pyproject.toml), then the tests. pytest exits 5
# when it collects no tests (e.g. a -k filter matching none): not a failure.
test: jars chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PYTEST_ARGS) || { status=$$?; [ $$status -eq 5 ] || exit $$status; }

# The end-to-end Browser test (tests/test_browser.py) drives Debian's Chromium: installed here where
# missing, as root or through passwordless sudo; where neither is possible the test says what to
# install and skips.
chromium:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then sudo=; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	  else echo "note: not root and no sudo: cannot install chromium chromium-driver for the Browser test"; exit 0; fi; \
	  if ! command -v apt-get >/dev/null; then echo "note: no apt-get: install chromium and chromedriver for the Browser test"; exit 0; fi; \
	  $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	fi

jars: $(INSTALLED)
	$(BIN)/circuitstore server resolve

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e '.[compute,draw,test]'
	touch $@
