"""Atomic, self-checking on-disk caches for datasets, trained models and computed maps.

A cache file is written to a temporary name and renamed, so an interrupted run never leaves a partial file under
the final name; a file that still fails to load (corrupt, truncated, older format) is treated as missing and
rebuilt. Building an entry holds a lock file beside it (``<name>.lock``), so concurrent runs on one cache build
each entry once: the second waits and then loads what the first saved.
"""
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import torch
from filelock import FileLock


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


def load_torch(path: Path) -> Any | None:
    """Load what :func:`save_torch` wrote; ``None`` when missing or corrupt."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        envelope = torch.load(path, map_location="cpu", weights_only=False)
        payload = envelope["payload"]
        if hashlib.sha256(payload).hexdigest() != envelope["sha256"]:
            return None
        return torch.load(io.BytesIO(payload), map_location="cpu", weights_only=False)
    except Exception:
        return None


def _is_current(obj: Any, required_keys: tuple) -> bool:
    return obj is not None and (not required_keys or (isinstance(obj, dict) and set(required_keys) <= set(obj)))


def cached_torch(path: Path, build: Callable[[], Any], required_keys: tuple = ()) -> Any:
    """Return the object cached at ``path``, building and saving it when missing, corrupt or of an older format
    (a dict without one of ``required_keys``). Concurrent callers build it once (a lock per entry)."""
    path = Path(path)
    obj = load_torch(path)
    if _is_current(obj, required_keys):
        return obj
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        obj = load_torch(path)  # another process may have built it while this one waited
        if not _is_current(obj, required_keys):
            obj = build()
            save_torch(obj, path)
    return obj
