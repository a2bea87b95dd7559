"""Test-wide settings: generated files go to temporary folders, the data/model cache stays shared."""
import os

import pytest

os.environ.setdefault("XAI_HEADLESS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _generated_files_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("XAI_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("XAI_FIGURES_DIR", str(tmp_path / "figures"))


def pytest_collection_modifyitems(items):
    """The notebook runs (the longest tests) first, those on the paper path before the smoke ones: under `make
    test`'s work stealing the last tests to run are then short unit tests, so both workers end near the same time."""
    def long_first(item):
        if item.get_closest_marker("notebook") is None:
            return 2
        return 0 if "paper_path" in item.name else 1

    items.sort(key=long_first)  # stable: the collection order within each group
