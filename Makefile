# footfall — one command each for a fresh Debian/Ubuntu machine:
#   make demo   installs everything and runs the whole chain on the sample clip
#   make test   installs everything and runs lint, type checks and the tests
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
APT_PACKAGES := mosquitto mosquitto-clients influxdb opencv-doc fonts-dejavu-core chromium docker-compose strace \
	python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp gstreamer1.0-plugins-base \
	gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-libav
SAMPLE_CLIP := /usr/share/doc/opencv-doc/examples/data/vtest.avi
export YOLO_OFFLINE := 1
export YOLO_AUTOINSTALL := False
export PIP_DISABLE_PIP_VERSION_CHECK := 1

GRAFANA_CHECKER := tests/dashboards/grafana

.PHONY: setup system-packages python-packages models grafana-checker demo test lint typecheck pytest benchmarks mutation clean

setup: system-packages python-packages models

system-packages:
	@missing=""; for package in $(APT_PACKAGES); do \
	  dpkg -s $$package >/dev/null 2>&1 || missing="$$missing $$package"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@# Debian's packaging starts the services system-wide where systemd runs; footfall starts its own.
	@# python3-gi and gst-rtsp-server: tests/integration/rtsp_camera.py (Debian's /usr/bin/python3) serves the test stream.

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch 2.14.1 / torchvision 0.29.1 are the releases that install offline here (see DEVELOPERS.md).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q -e '.[edge,aggregator,dev]'
	touch $@

python-packages: $(VENV)/.installed

models: $(VENV)/.installed
	$(BIN)/footfall edge export --if-missing

# The dashboard tests run Grafana's own @grafana/data in Node (tests/dashboards/grafana: 13.2,
# and 11.6 in data-11.6/), installed from the committed lockfiles; Debian's nodejs and npm
# where node is missing.
%/node_modules/.package-lock.json: %/package-lock.json
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends nodejs npm; }
	npm ci --prefix $* --no-audit --no-fund --loglevel=error

grafana-checker: $(GRAFANA_CHECKER)/node_modules/.package-lock.json \
	$(GRAFANA_CHECKER)/data-11.6/node_modules/.package-lock.json

demo: setup
	$(BIN)/footfall demo --video $(SAMPLE_CLIP)

lint: python-packages
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: python-packages
	$(BIN)/mypy protocol command_line footfall edge aggregator dashboards

pytest: setup grafana-checker
	$(BIN)/pytest -q

test: setup lint typecheck pytest

benchmarks: setup
	$(BIN)/python benchmarks/edge_speed.py
	$(BIN)/python benchmarks/aggregator_throughput.py
	$(BIN)/python benchmarks/impact_speed.py

# Mutation score of the modules that decide counts and delivery (tests/mutation_score.py), on a
# copy of the committed tree in build/mutation. Not part of `make test`: it reruns the covering
# tests for every mutant (README, "Mutation testing"). One module: make mutation
# MODULES=edge/counting/counters.py; some functions of it: ONLY='*_handle*' (mutant-name globs)
MUTMUT_VERSION := 3.8.1
mutation: setup
	$(BIN)/pip install -q mutmut==$(MUTMUT_VERSION)
	$(BIN)/python -m tests.mutation_score $(foreach module,$(MODULES),--module $(module)) \
		$(foreach glob,$(ONLY),--only '$(glob)')

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build *.egg-info $(GRAFANA_CHECKER)/node_modules $(GRAFANA_CHECKER)/data-11.6/node_modules
