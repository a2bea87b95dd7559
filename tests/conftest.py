"""Test-wide settings: generated files go to temporary folders, the data/model cache stays shared."""
import os

import pytest

os.environ.setdefault("XAI_HEADLESS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _generated_files_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("XAI_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("XAI_FIGURES_DIR", str(tmp_path / "figures"))
