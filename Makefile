# mipshop: `make run` runs the main job, `make test` runs the tests. Both set themselves up
# on a fresh machine (a .venv with the package, and for the tests the dev extras and tshark).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench tshark clean

run: $(VENV)/.installed
	$(BIN)/mipshop compare

test: $(VENV)/.installed-dev tshark
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src
	$(BIN)/pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/codec.py
	$(BIN)/python bench/sim.py

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@ $(VENV)/.installed

# The tshark interop tests need Wireshark's dissectors. Install Debian's tshark when it is
# missing and we are root (CI is); otherwise say how, and the tshark tests will fail loudly.
tshark:
	@command -v tshark >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing tshark (apt-get)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark >/dev/null; \
	  else \
	    echo "tshark is missing: run 'sudo apt-get install tshark' (the tshark tests need it)" >&2; \
	    exit 1; \
	  fi; }

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .ruff_cache .hypothesis
