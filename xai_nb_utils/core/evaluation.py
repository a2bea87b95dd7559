"""The one path for evaluating a model on many rows (perturbation curves, IG paths, GEG draws, DRE scoring).

Rows go through the model in chunks of :func:`chunk_rows` rows: on a CPU a forward of a few dozen rows keeps the
activations in cache, and one of hundreds is slower per row (``benchmarks/bench_evaluation.py`` measures it); on a
GPU large chunks fill the device. Forward passes that need no gradient run under ``torch.inference_mode()``.
Image models are kept in ``channels_last`` memory format (:func:`fast_layout`), which makes convolutions on this
CPU 1.4-1.8x faster with the same values to float rounding.
"""
import torch

from xai_nb_utils.core.validate import check_positive_int

#: rows per forward pass by device type (see the module docstring and benchmarks/bench_evaluation.py)
CHUNK_ROWS = {"cpu": 64, "cuda": 1024}


def chunk_rows(device: torch.device | str, rows: int | None = None) -> int:
    """``rows`` when given, else the default chunk size for ``device``'s type (:data:`CHUNK_ROWS`)."""
    if rows is not None:
        return check_positive_int("chunk", rows)
    return CHUNK_ROWS.get(torch.device(device).type, CHUNK_ROWS["cuda"])


def fast_layout(model: torch.nn.Module) -> torch.nn.Module:
    """Put a model with 4-d convolution weights in ``channels_last`` memory format (in place; returned)."""
    if any(p.dim() == 4 for p in model.parameters()):
        model.to(memory_format=torch.channels_last)
    return model


def evaluate_rows(model, make_rows, n_rows: int, device, reduce=None, chunk: int | None = None) -> torch.Tensor:
    """``reduce(model(make_rows(first, stop)), first, stop)`` for consecutive chunks ``first:stop`` of ``n_rows``
    rows built on demand (so they never all exist at once), concatenated, without autograd. ``reduce`` None
    returns the logits; a reduction such as picking the target score keeps one chunk of logits in memory."""
    size = chunk_rows(device, chunk)
    outputs = []
    with torch.inference_mode():
        for first in range(0, n_rows, size):
            stop = min(first + size, n_rows)
            logits = model(make_rows(first, stop))
            outputs.append(logits if reduce is None else reduce(logits, first, stop))
    return torch.cat(outputs)


def evaluate(model, rows: torch.Tensor, reduce=None, chunk: int | None = None) -> torch.Tensor:
    """:func:`evaluate_rows` on the rows of a tensor."""
    return evaluate_rows(model, lambda first, stop: rows[first:stop], len(rows), rows.device, reduce, chunk)


def predict_logits(model, x: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
    """The model's logits on ``x``, evaluated in chunks without autograd."""
    return evaluate(model, x, chunk=chunk)


def predicted_classes(model, x: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
    """The model's predicted class per sample, (N,)."""
    return predict_logits(model, x, chunk).argmax(1)


def forward_in_chunks(model, rows: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
    """``model(rows)`` computed in chunks of :func:`chunk_rows` rows and concatenated, keeping autograd: for
    objectives differentiated through many rows (iGOS++'s integrated paths), faster per row than one big pass."""
    size = chunk_rows(rows.device, chunk)
    return torch.cat([model(rows[first:first + size]) for first in range(0, len(rows), size)])

