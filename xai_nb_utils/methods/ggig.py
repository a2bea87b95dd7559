"""Geometrically guided saliency maps (Rahman, Lewis & Plis): G3, GGIG and GEG, plus IG without (x - x') scaling.

* **G3** (Algorithm 1): gradient ascent on the raw class logit from x; the pixel-wise maximum of the input gradients
  met on the way.
* **GGIG** (Algorithm 2): G3 from every point of the straight path baseline -> x (``steps + 1`` points), then the
  pixel-wise maximum over the points (``aggregate="max"``) or the trapezoid mean the authors' code also offers.
* **GEG** (Algorithm 3): input gradients of perturbed models M' = M + N(0, sigma^2 I) (every float parameter,
  absolute std ``sigma``) that keep the prediction and do not lower the class score; pixel-wise maximum. Perturbed
  weights are evaluated with ``torch.func.functional_call``, one draw at a time on the images still waiting for
  models, so the model is never copied.
* **IG unscaled**: captum's integrated gradients with ``multiply_by_inputs=False`` (the path-averaged gradient, as
  the paper uses for its comparison).

Maps are signed input gradients (N, C, H, W); the paper compares absolute values rescaled to [0, 1]
(see :mod:`xai_nb_utils.metrics.similarity`). All methods follow the registry signature ``fn(model, x, target,
**kw)`` and do not change the model's train/eval mode. An image's map does not depend on the other images of its
batch: G3 and GGIG ascend each image on its own, and GEG's only randomness, the perturbed models, is the same
seeded sequence for every image (as if each image drew from its own generator seeded with ``seed``).

The paper's settings and the notebook's study (similarity tables, randomisation, checkerboard backgrounds,
sensitivity sweeps) are in :mod:`xai_nb_utils.studies.ggig_study`.
"""
from dataclasses import dataclass

import torch
from torch.func import functional_call

from xai_nb_utils.core.evaluation import chunk_rows
from xai_nb_utils.core.params import check_choice, check_float, check_int
from xai_nb_utils.core.tensors import as_targets
from xai_nb_utils.methods.registry import register_method

GGIG_AGGREGATES = ("max", "trapezoid")
GEG_AGGREGATES = ("max", "mean")
GEG_ACCEPT_SCORES = ("probability", "logit")


def logit_gradient(model, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Gradient of the raw target logit with respect to the input, per image (vanilla gradient, signed)."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        score = model(x).gather(1, target.view(-1, 1)).sum()
        return torch.autograd.grad(score, x)[0]


def _ascent_max(model, x, target, iterations: int, lr: float, chunk: int | None) -> torch.Tensor:
    """For each row of ``x``: ascend the target logit ``iterations`` times, return the pixel-wise max gradient.
    Rows go in chunks of :func:`core.evaluation.chunk_rows` (each row ascends on its own)."""
    maps, size = [], chunk_rows(x.device, chunk)
    for start in range(0, len(x), size):
        point, t = x[start:start + size].detach(), target[start:start + size]
        best = None
        for _ in range(iterations):
            grad = logit_gradient(model, point, t)
            best = grad if best is None else torch.maximum(best, grad)
            point = point + lr * grad
        maps.append(best)
    return torch.cat(maps)


@register_method("g3", "input", "gradient")
def g3(model, x, target, iterations: int = 200, lr: float = 1e-4, chunk: int | None = None) -> torch.Tensor:
    """Geometrically guided gradients (Algorithm 1). ``iterations=1`` is the vanilla gradient."""
    iterations = check_int("iterations", iterations, minimum=1)
    lr = check_float("lr", lr, minimum=0.0)
    return _ascent_max(model, x, as_targets(target, len(x), x.device), iterations, lr, chunk)


def path_points(x: torch.Tensor, baseline, steps: int) -> torch.Tensor:
    """The ``steps + 1`` points baseline + k/steps (x - baseline), k = 0..steps, as (N, steps + 1, C, H, W)."""
    baseline = torch.zeros_like(x) if baseline is None else torch.as_tensor(baseline, dtype=x.dtype,
                                                                           device=x.device).expand_as(x)
    alphas = torch.linspace(0, 1, steps + 1, dtype=x.dtype, device=x.device).view(1, -1, *[1] * (x.dim() - 1))
    return baseline.unsqueeze(1) + alphas * (x - baseline).unsqueeze(1)


@register_method("ggig", "input", "gradient")
def ggig(model, x, target, steps: int = 50, iterations: int = 200, lr: float = 1e-4, baseline=None,
         aggregate: str = "max", chunk: int | None = None) -> torch.Tensor:
    """Geometrically guided integrated gradients (Algorithm 2).

    ``aggregate="max"``: pixel-wise max over all path points and iterations (the paper);
    ``"trapezoid"``: per-point max over iterations, then the trapezoid mean over the path (authors' variant; with
    ``iterations=1`` it is the unscaled integrated gradient). ``baseline`` None means zeros (the paper's x' = 0).
    """
    steps = check_int("steps", steps, minimum=1)
    iterations = check_int("iterations", iterations, minimum=1)
    lr = check_float("lr", lr, minimum=0.0)
    check_choice("aggregate", aggregate, GGIG_AGGREGATES)
    target = as_targets(target, len(x), x.device)
    points = path_points(x, baseline, steps)
    per_point = _ascent_max(model, points.flatten(0, 1), target.repeat_interleave(steps + 1), iterations, lr,
                            chunk).view(points.shape)
    if aggregate == "max":
        return per_point.amax(dim=1)
    return ((per_point[:, :-1] + per_point[:, 1:]) / 2).mean(dim=1)


@dataclass
class GEGResult:
    """GEG maps with the sampling statistics per image."""

    maps: torch.Tensor  # (N, C, H, W)
    accepted: torch.Tensor  # (N,) accepted models used (<= n_models)
    draws: torch.Tensor  # (N,) models drawn until n_models were accepted or the budget ran out

    @property
    def acceptance_rate(self) -> torch.Tensor:
        return self.accepted.float() / self.draws.float()


def perturbed_parameters(model, sigma: float, count: int, generator: torch.Generator) -> dict:
    """``count`` draws of the model's float parameters plus N(0, sigma^2) noise, stacked on a leading dim.

    Noise is drawn one model at a time (parameters in ``named_parameters`` order), so the k-th draw does not
    depend on how draws are chunked.
    """
    params = {name: p.detach() for name, p in model.named_parameters() if p.is_floating_point()}
    noise = [{name: torch.randn(p.shape, generator=generator, device=p.device, dtype=p.dtype) for name, p in
              params.items()} for _ in range(count)]
    return {name: p + sigma * torch.stack([draw[name] for draw in noise]) for name, p in params.items()}


def _class_score(logits: torch.Tensor, target: torch.Tensor, accept_on: str) -> torch.Tensor:
    if accept_on == "probability":
        logits = logits.softmax(dim=-1)
    return logits.gather(-1, target.expand(*logits.shape[:-1]).unsqueeze(-1)).squeeze(-1)


def geg_explain(model, x, target, n_models: int = 200, sigma: float = 1e-3, max_draws: int = 2000,
                accept_on: str = "probability", aggregate: str = "max", seed: int = 0,
                max_rows: int | None = None) -> GEGResult:
    """Geometric ensemble gradients (Algorithm 3) with a draw budget.

    A perturbed model is accepted for an image when its prediction equals the unperturbed prediction and its
    target score (softmax probability by default, as in the authors' code; or the raw logit) is not lower. The
    gradient collected is that of the perturbed model's raw target logit. Each image uses its first ``n_models``
    accepted draws among at most ``max_draws``; all images share the same seeded sequence of perturbed models,
    so a batch gives the same maps as images one by one. An image with no accepted draw gets the unperturbed
    model's gradient (its ``accepted`` is 0). Each draw is one forward + backward pass of the images that still
    need models, at most ``max_rows`` at a time (None: :func:`core.evaluation.chunk_rows` of the device;
    ``benchmarks/bench_geg.py`` times it against the plain deep-copy loop).
    """
    n_models = check_int("n_models", n_models, minimum=1)
    sigma = check_float("sigma", sigma, minimum=0.0)
    max_draws = check_int("max_draws", max_draws, minimum=1)
    check_choice("accept_on", accept_on, GEG_ACCEPT_SCORES)
    check_choice("aggregate", aggregate, GEG_AGGREGATES)
    target = as_targets(target, len(x), x.device)
    block = chunk_rows(x.device, max_rows)
    results = [_geg_block(model, x[i:i + block].detach(), target[i:i + block], n_models, sigma, max_draws,
                          accept_on, aggregate, seed) for i in range(0, len(x), block)]
    return GEGResult(*(torch.cat([getattr(r, name) for r in results]) for name in ("maps", "accepted", "draws")))


def _geg_block(model, x, target, n_models, sigma, max_draws, accept_on, aggregate, seed) -> GEGResult:
    with torch.no_grad():
        logits = model(x)
    prediction, score = logits.argmax(1), _class_score(logits, target, accept_on)
    generator = torch.Generator(device=x.device).manual_seed(seed)
    accepted = torch.zeros(len(x), dtype=torch.long, device=x.device)
    draws = torch.full((len(x),), max_draws, dtype=torch.long, device=x.device)
    combined = torch.full_like(x, -torch.inf) if aggregate == "max" else torch.zeros_like(x)
    for draw in range(1, max_draws + 1):
        waiting = (accepted < n_models).nonzero().squeeze(1)  # images that still need accepted models
        if len(waiting) == 0:
            break
        params = {name: p[0] for name, p in perturbed_parameters(model, sigma, 1, generator).items()}
        with torch.enable_grad():
            inputs = x[waiting].clone().requires_grad_(True)
            out = functional_call(model, params, (inputs,))
            grads = torch.autograd.grad(out.gather(1, target[waiting].view(-1, 1)).sum(), inputs)[0]
        out = out.detach()
        ok = (out.argmax(1) == prediction[waiting]) & (_class_score(out, target[waiting], accept_on)
                                                      >= score[waiting])
        images, grads = waiting[ok], grads[ok]
        combined[images] = torch.maximum(combined[images], grads) if aggregate == "max" else combined[images] + grads
        accepted[images] += 1
        draws[images[accepted[images] == n_models]] = draw
    if aggregate == "mean":
        combined = combined / accepted.clamp(min=1).view(-1, *[1] * (x.dim() - 1))
    none = accepted == 0
    if bool(none.any()):
        combined[none] = logit_gradient(model, x[none], target[none])
    return GEGResult(combined, accepted, draws)


@register_method("geg", "input", "gradient")
def geg(model, x, target, **kwargs) -> torch.Tensor:
    """GEG maps only (the registry entry); see :func:`geg_explain` for arguments and statistics."""
    return geg_explain(model, x, target, **kwargs).maps


@register_method("ig_unscaled", "input", "gradient")
def ig_unscaled(model, x, target, baseline=None, n_steps: int = 51, method: str = "riemann_trapezoid",
                chunk: int | None = None) -> torch.Tensor:
    """Captum integrated gradients without the (x - x') factor: the path integral of the input gradient.

    Defaults mirror the authors' IG (51 path points, trapezoid rule). Captum's trapezoid weights sum to
    (n_steps - 1) / n_steps instead of 1, a constant factor that the [0, 1] rescaling of the evaluation removes.
    """
    from captum.attr import IntegratedGradients

    target = as_targets(target, len(x), x.device)
    baselines = torch.zeros_like(x) if baseline is None else baseline
    explainer = IntegratedGradients(model, multiply_by_inputs=False)
    return explainer.attribute(x.detach(), baselines=baselines, target=target, n_steps=n_steps, method=method,
                               internal_batch_size=chunk_rows(x.device, chunk)).detach()
