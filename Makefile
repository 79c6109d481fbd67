# Two commands: `make run` (install, then run the service on config.yaml) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install run test browser bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: install
	$(BIN)/worker --config config.yaml run

test: install browser
	$(BIN)/ruff check worker tests benchmarks
	$(BIN)/ruff format --check worker tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest

# Headless Chromium for tests/test_browser.py: Debian's chromium, installed when missing (as root
# or through sudo -n), quietly; nothing to do once it is there. If it cannot be, the test skips.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo "sudo -n"); export DEBIAN_FRONTEND=noninteractive; \
	  $$sudo apt-get install -y -qq chromium >/dev/null 2>&1 || \
	  { $$sudo apt-get update -qq >/dev/null 2>&1 && $$sudo apt-get install -y -qq chromium >/dev/null 2>&1; } || \
	  echo "chromium could not be installed: tests/test_browser.py will be skipped"; }

bench: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/extract.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
