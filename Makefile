# The README's two commands: `make demo` (main job) and `make test` (tests).
# Both create .venv with the pinned versions of requirements.lock on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export LSLAPICFG := $(CURDIR)/tests/lsl_api.cfg

.PHONY: venv demo test test-all test-xcb system-packages lint bench bench-live bench-gui bench-startup demo-model clean

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

# The window's tests again on a real X server (Xvfb) with Qt's X11 (xcb) platform, as a lab's
# Linux desktop runs it; needs xvfb-run and the libraries of XCB_PACKAGES (`make system-packages`).
XCB_PACKAGES := libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 \
	libxcb-randr0 libxcb-shape0 libxcb-xkb1 libxcb-xinerama0 libxkbcommon-x11-0 libegl1 libgl1 \
	libfontconfig1 libdbus-1-3
test-xcb: $(STAMP)
	@command -v xvfb-run >/dev/null || { echo "make test-xcb: xvfb-run not found (Debian/Ubuntu: make system-packages)"; exit 1; }
	QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1920x1200x24" $(BIN)/python -m pytest \
		-m "gui and (slow or not slow)" tests/bci_app/gui tests/bci_app/test_cli_exit.py tests/bci_app/test_demo.py

# Debian/Ubuntu system packages of the window (Qt's X11 libraries) and of test-xcb (Xvfb); as root.
system-packages:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends xvfb xauth $(XCB_PACKAGES)

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python benchmarks/train_throughput.py

bench-live: $(STAMP)
	$(BIN)/python benchmarks/live_latency.py

bench-startup: $(STAMP)
	$(BIN)/python benchmarks/startup.py

bench-gui: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/gui_fps.py

# Rebuild the shipped demo model from synthetic data (10-20 minutes on a 2-core CPU).
demo-model: $(STAMP)
	BIN=$(BIN) bash models/pretrained/make_demo_model.sh

clean:
	rm -rf $(VENV) .demo
