"""Test-wide settings: generated files go to temporary folders, the data/model cache stays shared."""
import os

import pytest

os.environ.setdefault("XAI_HEADLESS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _generated_files_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("XAI_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("XAI_FIGURES_DIR", str(tmp_path / "figures"))


#: the tour's smoke run trains every shared smoke model; the paper-path runs need almost none of them, so they keep
#: the other worker busy meanwhile instead of waiting on a model's lock
FIRST = "test_notebook_runs_on_smoke_profile[00_workbench_tour]"
#: unit-test modules whose tests start notebook kernels or Dask clusters (tens of seconds each)
LONG_MODULES = ("test_dask_benchmark.py", "test_concurrency_and_resume.py")


def pytest_collection_modifyitems(items):
    """The longest tests first: the tour's smoke run (:data:`FIRST`), the notebook runs on the paper path, the other
    notebook runs, the modules of :data:`LONG_MODULES`, then the unit tests. `make test` hands the workers one test
    at a time in this order (``--dist load --maxschedchunk 1``), so the long ones spread over both workers and the
    last to run are short: both workers end near the same time."""
    def long_first(item):
        if item.name == FIRST:
            return 0
        if item.get_closest_marker("notebook") is not None:
            return 1 if "paper_path" in item.name else 2
        return 3 if item.path.name in LONG_MODULES else 4

    items.sort(key=long_first)  # stable: the collection order within each group
