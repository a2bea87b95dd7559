"""Repository paths, resolved from the package location (never the current directory).

Each can be overridden by an environment variable so that tests and reports can write elsewhere.
"""
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


class MissingDataError(FileNotFoundError):
    """User-supplied data or weights are missing; the message says what to put where."""


def _dir(env_var: str, default: Path) -> Path:
    """The folder named by ``env_var`` (else ``default``), created if missing; a clear error if it cannot be."""
    path = Path(os.environ.get(env_var, default))
    source = f"{env_var}={path}" if env_var in os.environ else str(path)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"{source} is a file, not a folder; point {env_var} to a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PermissionError(f"cannot create the folder {source} ({error.strerror}); set {env_var} to a "
                              f"writable folder") from None
    return path


def repo_root() -> Path:
    return REPO_ROOT


def data_dir() -> Path:
    """Embedded data and user-supplied data (``$XAI_DATA_DIR``, default ``<repo>/data``)."""
    return _dir("XAI_DATA_DIR", REPO_ROOT / "data")


def cache_dir() -> Path:
    """Generated datasets, trained models and computed maps (``<data_dir>/cache``)."""
    return _dir("XAI_CACHE_DIR", data_dir() / "cache")


def task_cache_dir() -> Path:
    """Results of graph tasks (``$XAI_TASK_CACHE_DIR``, default ``<cache_dir>/tasks``)."""
    return _dir("XAI_TASK_CACHE_DIR", cache_dir() / "tasks")


def figures_dir() -> Path:
    """Figures written by notebooks (``$XAI_FIGURES_DIR``, default ``<repo>/figures``)."""
    return _dir("XAI_FIGURES_DIR", REPO_ROOT / "figures")


def reports_dir() -> Path:
    """Executed notebooks, HTML and recorded results (``$XAI_REPORTS_DIR``, default ``<repo>/reports``)."""
    return _dir("XAI_REPORTS_DIR", REPO_ROOT / "reports")


def notebooks_dir() -> Path:
    return REPO_ROOT / "notebooks"
