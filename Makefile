# convscope. Two commands do everything on a fresh machine:
#   make serve   create .venv, install convscope (CPU build of torch unless a GPU is present), start it
#   make test    the same install plus the test tools, Chromium, nginx and redis-server, then lint and every test
#                (in a random order), then the computation's tests again on one thread
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
HOST ?=
PORT ?=

.PHONY: serve test lint format bench install install-test chromium nginx redis clean

$(BIN)/python:
	$(PYTHON) scripts/check-python.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.torch: | $(BIN)/python
	scripts/install-torch.sh $(BIN)/python $(TORCH_VERSION)
	@touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.torch
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

serve: install
	$(BIN)/convscope serve $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT))

chromium:
	@scripts/ensure-chromium.sh

nginx:
	@scripts/ensure-nginx.sh

redis:
	@scripts/ensure-redis.sh

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Every test at torch's default thread count, then the computation's tests again with one
# thread: float results must agree with their references whatever the kernels' split.
test: install-test chromium nginx redis lint
	$(BIN)/python -m pytest
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q tests/ops tests/nets tests/explain

bench: install-test
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) artifacts .pytest_cache .ruff_cache .hypothesis
