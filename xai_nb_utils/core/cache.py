"""Atomic, self-checking on-disk caches for datasets, trained models and computed results.

A cache file is written to a temporary name and renamed, so an interrupted run never leaves a partial file under
the final name; a file that still fails to load (corrupt, truncated, older format) is treated as missing and
rebuilt. Building an entry holds a lock file beside it (``<name>.lock``), so concurrent runs on one cache build
each entry once: the second waits and then loads what the first saved.

:func:`cached_computation` stores what a function returns under a key of its arguments (:func:`fingerprint`) and
of the package's source code, so a warm rerun of a notebook loads its maps and scores instead of computing them
again, and any edit of the package computes them afresh.
"""
import dataclasses
import functools
import hashlib
import inspect
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from filelock import FileLock
from torch import nn

from xai_nb_utils.core.paths import task_cache_dir


def config_key(config: dict) -> str:
    """Short stable hash of a JSON-able configuration (the cache key)."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_torch(obj: Any, path: Path) -> None:
    """``torch.save`` with an integrity envelope, written atomically."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    payload = buffer.getvalue()
    envelope = io.BytesIO()
    torch.save({"sha256": hashlib.sha256(payload).hexdigest(), "payload": payload}, envelope)
    atomic_write_bytes(path, envelope.getvalue())


def load_torch(path: Path, map_location="cpu") -> Any | None:
    """Load what :func:`save_torch` wrote (tensors onto ``map_location``; None: the device they were saved from);
    ``None`` when missing or corrupt."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        envelope = torch.load(path, map_location="cpu", weights_only=False)
        payload = envelope["payload"]
        if hashlib.sha256(payload).hexdigest() != envelope["sha256"]:
            return None
        return torch.load(io.BytesIO(payload), map_location=map_location, weights_only=False)
    except Exception:
        return None


def _is_current(obj: Any, required_keys: tuple) -> bool:
    return obj is not None and (not required_keys or (isinstance(obj, dict) and set(required_keys) <= set(obj)))


def cached_torch(path: Path, build: Callable[[], Any], required_keys: tuple = (), map_location="cpu") -> Any:
    """Return the object cached at ``path`` (tensors loaded onto ``map_location``, see :func:`load_torch`),
    building and saving it when missing, corrupt or of an older format (a dict without one of ``required_keys``).
    Concurrent callers build it once (a lock per entry)."""
    path = Path(path)
    obj = load_torch(path, map_location)
    if _is_current(obj, required_keys):
        return obj
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        obj = load_torch(path, map_location)  # another process may have built it while this one waited
        if not _is_current(obj, required_keys):
            obj = build()
            save_torch(obj, path)
    return obj


def _tensor_bytes(t: torch.Tensor) -> bytes:
    """The values in row-major order, whatever the strides (numpy has no bfloat16: as float32, the dtype is
    hashed beside them)."""
    t = t.detach().cpu()
    return (t.float() if t.dtype == torch.bfloat16 else t).numpy().tobytes()


def _digest(value, digest) -> None:
    """Feed ``value`` into ``digest`` (see :func:`fingerprint`)."""
    if hasattr(value, "__fingerprint__"):
        _digest(value.__fingerprint__(), digest)
    elif value is None or isinstance(value, (bool, int, float, str)):
        digest.update(repr(value).encode())
    elif isinstance(value, torch.Tensor):
        digest.update(f"tensor {value.dtype} {tuple(value.shape)} {value.device.type}".encode())
        digest.update(_tensor_bytes(value))
    elif isinstance(value, np.ndarray):
        digest.update(f"array {value.dtype} {value.shape}".encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, nn.Module):
        digest.update(f"module {type(value).__qualname__} {value.training}".encode())
        for name, tensor in value.state_dict().items():
            digest.update(name.encode())
            _digest(tensor, digest)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        digest.update(type(value).__qualname__.encode())
        for f in dataclasses.fields(value):
            digest.update(f.name.encode())
            _digest(getattr(value, f.name), digest)
    elif isinstance(value, (list, tuple)):
        digest.update(f"{type(value).__name__} {len(value)}".encode())
        for item in value:
            _digest(item, digest)
    elif isinstance(value, dict):
        digest.update(f"dict {len(value)}".encode())
        for key in sorted(value, key=repr):
            _digest(key, digest)
            _digest(value[key], digest)
    elif isinstance(value, (torch.device, torch.dtype)):
        digest.update(str(value).encode())
    elif callable(value) and hasattr(value, "__qualname__"):
        digest.update(f"callable {value.__module__}.{value.__qualname__}".encode())
    else:
        raise TypeError(f"cannot fingerprint a {type(value).__qualname__}: give it a __fingerprint__() method "
                        f"returning what determines it, or pass something it is made of")


def fingerprint(value) -> str:
    """Short stable hash of what a computation depends on: tensors and arrays by dtype, shape, device type and
    values; modules by class, train/eval mode and ``state_dict``; objects with ``__fingerprint__()`` by what it
    returns; dataclasses by their fields; lists, tuples and dicts by their items; numbers, strings, devices and
    functions (by name) as they are. Anything else is a TypeError."""
    digest = hashlib.sha256()
    _digest(value, digest)
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def source_fingerprint() -> str:
    """Hash of every ``.py`` file of the package (and of torch's version): part of each computed result's key."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(torch.__version__.encode())
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cached_result(kind: str, config: dict, build, map_location="cpu"):
    """``build()`` stored under ``<task_cache_dir>/<kind>/`` (default ``data/cache/tasks``) by a key of ``config``
    (atomic write, one writer per entry), or the stored result (tensors onto ``map_location``)."""
    return cached_torch(task_cache_dir() / kind / f"{config_key(config)}.pt", build, map_location=map_location)


def cached_computation(kind: str):
    """Decorator: the function's result is stored under ``<task_cache_dir>/<kind>/`` (default
    ``data/cache/tasks``) with a key of its name, its arguments (:func:`fingerprint`, defaults filled in) and
    :func:`source_fingerprint`, and loaded (onto the device it was computed on) by the next call with the same
    arguments. Only for functions whose result their arguments determine (seeded, no global random state); what
    they measure while computing (seconds per image) is what the first call measured."""
    def decorator(fn):
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def cached(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            key = {"function": f"{fn.__module__}.{fn.__qualname__}", "source": source_fingerprint(),
                   "arguments": fingerprint(dict(bound.arguments))}
            return cached_result(kind, key, lambda: fn(*args, **kwargs), map_location=None)

        return cached

    return decorator
