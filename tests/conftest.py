"""Test-wide settings: generated files go to temporary folders, the data/model cache stays shared."""
import os

import pytest

os.environ.setdefault("XAI_HEADLESS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _generated_files_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("XAI_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("XAI_FIGURES_DIR", str(tmp_path / "figures"))



#: unit-test modules whose tests start notebook kernels or Dask clusters (tens of seconds each)
LONG_MODULES = ("test_dask_benchmark.py", "test_concurrency_and_resume.py")


def pytest_collection_modifyitems(items):
    """The longest tests first: the notebook runs, then the modules of :data:`LONG_MODULES`, then the unit tests.
    `make test` hands the workers one test at a time in this order (``--dist load --maxschedchunk 1``), so the long
    ones spread over both workers and the last to run are short: both workers end near the same time."""
    def long_first(item):
        if item.get_closest_marker("notebook") is not None:
            return 0
        return 1 if item.path.name in LONG_MODULES else 2

    items.sort(key=long_first)  # stable: the collection order within each group
