"""Validation of papermill parameters, seeding, device choice, and the per-notebook ``Run`` context."""
import os
import random
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from xai_nb_utils.core.results import Recorder

PROFILES = ("smoke", "default", "paper")
DEVICES = ("auto", "cpu", "cuda")
PAPER_SCALES = ("full", "tiny")
#: the paper scale of this process, set by :func:`setup` (like the seeds): "tiny" makes ``by_profile`` give the
#: smoke values on ``paper``, so every size, training schedule and model of the paper code path shrinks at once
_paper_scale = {"value": "full"}


def check_choice(name: str, value: Any, allowed: Sequence) -> Any:
    """Return ``value`` if it is one of ``allowed``, else raise a ValueError naming the parameter."""
    if value not in allowed:
        raise ValueError(f"parameter {name!r} = {value!r} is not allowed; choose one of {list(allowed)}")
    return value


def check_int(name: str, value: Any, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"parameter {name!r} must be an integer, got {value!r}")
    _check_range(name, value, minimum, maximum)
    return int(value)


def check_float(name: str, value: Any, minimum: float | None = None, maximum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"parameter {name!r} must be a number, got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"parameter {name!r} must be a finite number, got {value!r}")
    _check_range(name, value, minimum, maximum)
    return float(value)


def _check_range(name, value, minimum, maximum):
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"parameter {name!r} = {value!r} must lie in [{minimum}, {maximum}]")


def by_profile(profile: str, smoke: Any, default: Any, paper: Any = None) -> Any:
    """The value for ``profile`` (validated): ``paper`` falls back to ``default`` when it has no value of its own,
    and takes the ``smoke`` value when this process runs the paper profile at ``paper_scale="tiny"`` (see
    :func:`setup`). The one place where a profile name is interpreted."""
    check_choice("profile", profile, PROFILES)
    if profile == "paper" and _paper_scale["value"] == "tiny":
        return smoke
    return {"smoke": smoke, "default": default, "paper": default if paper is None else paper}[profile]


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` picks CUDA when present, else CPU; ``"cuda"`` without a GPU is an error."""
    check_choice("device", device, DEVICES)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("parameter 'device' = 'cuda' but no CUDA device is available; use 'auto' or 'cpu'")
    return torch.device(device)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch; also turn TF32 off so CUDA gradients match CPU ones to float32 precision."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def is_headless() -> bool:
    """True under the papermill runner and the notebook tests (they set ``XAI_HEADLESS=1``)."""
    return os.environ.get("XAI_HEADLESS", "0") == "1"


@dataclass
class Run:
    """What every notebook derives from its common parameters."""

    notebook: str
    profile: str
    device: torch.device
    seed: int
    recorder: Recorder = field(repr=False)

    def pick(self, smoke: Any, default: Any, paper: Any = None) -> Any:
        """The value for this run's profile (see :func:`by_profile`)."""
        return by_profile(self.profile, smoke, default, paper)

    def record(self, key: str, value: Any) -> Any:
        return self.recorder.record(key, value)

    def claim(self, name: str, passed: bool, detail: str = "") -> bool:
        return self.recorder.claim(name, passed, detail)


def setup(notebook: str, profile: str = "default", device: str = "auto", seed: int = 0,
          paper_scale: str = "full") -> Run:
    """Validate the common parameters, seed everything, choose the device and open the results recorder.
    ``paper_scale="tiny"`` (profile ``paper`` only) keeps the paper's data and code path at the smoke sizes, so
    that tests can run it against small fixture data; it holds for the whole process (:func:`by_profile`)."""
    check_choice("profile", profile, PROFILES)
    check_choice("paper_scale", paper_scale, PAPER_SCALES)
    if paper_scale != "full" and profile != "paper":
        raise ValueError(f"parameter 'paper_scale' = {paper_scale!r} applies to profile 'paper' only "
                         f"(this run: profile {profile!r}); leave it at 'full'")
    seed = check_int("seed", seed, minimum=0)
    _paper_scale["value"] = paper_scale
    torch_device = resolve_device(device)
    seed_everything(seed)
    recorder = Recorder(notebook, profile=profile, seed=seed, device=str(torch_device), paper_scale=paper_scale)
    return Run(notebook, profile, torch_device, seed, recorder)
