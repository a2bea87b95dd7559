# Two commands for a newcomer: `make report` (run the workbook) and `make test`.
# Both set up .venv, the package and its Jupyter kernel the first time and reuse them afterwards.

PYTHON_BOOT ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.setup-stamp
KERNEL := xai-workbook
PROFILE ?= default
DEVICE ?= auto
# notebooks run at once (each kernel gets its share of the cores as torch threads)
JOBS ?= 2

.PHONY: setup report smoke explore test test-browser bench clean-cache

setup: $(STAMP)

# Re-runs only when pyproject.toml changed (or the venv is new).
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (xai workbook)"
	touch $(STAMP)

report: setup
	$(PY) -m xai_nb_utils.report --profile $(PROFILE) --device $(DEVICE) --jobs $(JOBS) --resume

smoke: setup
	$(PY) -m xai_nb_utils.report --profile smoke --device $(DEVICE) --jobs $(JOBS)

# The explorer app (notebooks/explorer.ipynb) served by Voila on 127.0.0.1; Ctrl-C stops it.
EXPLORE_PORT ?= 8866
explore: setup
	@echo "explorer: http://127.0.0.1:$(EXPLORE_PORT)/ (profile $(PROFILE); Ctrl-C stops it)"
	XAI_EXPLORER_PROFILE=$(PROFILE) $(VENV)/bin/voila notebooks/explorer.ipynb --no-browser --Voila.ip=127.0.0.1 --port=$(EXPLORE_PORT)

# Two workers, each handed the next test when it is free (the longest first, tests/conftest.py), so both end near
# the same time. One thread per process, so the two workers do not fight over the two cores.
TEST_WORKERS ?= 2
test: setup
	OMP_NUM_THREADS=1 $(PY) -m pytest -n $(TEST_WORKERS) --dist load --maxschedchunk 1 --durations=25 -m "not browser"

# The widgets in JupyterLab and the offline reports, in headless Chromium (Debian: apt-get install chromium).
# Playwright comes with the dev extra (setup) and drives that browser; it downloads none of its own.
CHROMIUM ?= /usr/bin/chromium
test-browser: setup
	@test -x $(CHROMIUM) || { echo "test-browser needs Chromium at $(CHROMIUM): apt-get install -y chromium"; exit 1; }
	CHROMIUM=$(CHROMIUM) OMP_NUM_THREADS=1 $(PY) -m pytest -n 0 -m browser tests/browser --durations=10

# Timings and ratios against the peers and floors (benchmarks/README.md); not part of `make test`.
BENCHMARKS := bench_evaluation bench_insertion_deletion bench_batching bench_igos bench_opticam bench_methods
bench: setup
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	@for b in $(BENCHMARKS); do echo "== benchmarks/$$b.py"; OMP_NUM_THREADS=1 $(PY) benchmarks/$$b.py || exit 1; done

clean-cache:
	rm -rf data/cache
