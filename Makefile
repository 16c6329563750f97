# The README's two commands: `make demo` (main job) and `make test` (tests).
# Both create .venv with the pinned versions of requirements.lock on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export LSLAPICFG := $(CURDIR)/tests/lsl_api.cfg

.PHONY: venv demo test test-all lint bench bench-live bench-gui demo-model clean

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e . || $(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m bci_app.demo

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

test-all: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -m "slow or not slow"

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python benchmarks/train_throughput.py

bench-live: $(STAMP)
	$(BIN)/python benchmarks/live_latency.py

bench-gui: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/gui_fps.py

# Rebuild the shipped demo model from synthetic data (10-20 minutes on a 2-core CPU).
demo-model: $(STAMP)
	BIN=$(BIN) bash models/pretrained/make_demo_model.sh

clean:
	rm -rf $(VENV) .demo
