"""GAX paper (Tjoa & Guan, "Improving DNN Classification Confidence using Heatmap-based XAI"): the method.

Two parts:

* the pieces of the **AX process** on existing methods (section 3): the heatmap of a registry method w.r.t. the
  *predicted* class, normalised by max|h| (:func:`ax_heatmap`), combined with the image (``x + h`` or ``x * h``,
  ``metrics.ax_combine``) and scored with the foundation's CO score (eq. 1, ``metrics.co_score_from_outputs``) on
  raw logits or softmax (:func:`as_output`);
* **GAX**, the generative AX heatmap ``h = tanh(w * x + b)`` optimised with Adam to raise the CO score (eq. 6),
  batched with per-image stopping; registered in the explainer registry as ``"gax"``.

The AX score tables, the systems and the figures of notebooks 02 and 03 are study code (``studies.gax_systems``,
``studies.ax_co_gaps``, ``studies.gax_heatmaps``); the gap statistics are in ``metrics.error_detection``.

Pixel-space convention. The authors' code computes the baseline output on the *normalised* image but the augmented
output on the *unnormalised* one (OFFICIAL_CODE_NOTES). We do not copy that: our models normalise internally, so
both ``DNN(x)`` and ``DNN(x + h)`` are computed on [0, 1] pixel-space inputs passed through the same model (``x + h``
is not clipped, as in the paper). The GAX similarity term divides by ``x``, which is why it needs ``x`` in [0, 1].
"""
from dataclasses import dataclass, field

import torch
from xai_nb_utils.core.progress import tqdm

from xai_nb_utils.core.params import check_choice, check_float, check_int
from xai_nb_utils.core.evaluation import predicted_classes
from xai_nb_utils.methods.registry import explain, register_method
from xai_nb_utils.metrics.perturbation import co_score_from_outputs

COMBINATIONS = ("add", "mul")  # x + h and x * h (metrics.ax_combine)
OUTPUTS = ("logit", "softmax")  # metrics.co_score: raw logits (paper default) or softmax


# ------------------------------------------------------------------------------------------------- AX process


def normalize_max_abs(h: torch.Tensor) -> torch.Tensor:
    """``h / max|h|`` with one maximum per sample, taken globally over all its channels and pixels (features)."""
    scale = h.detach().flatten(1).abs().amax(1).clamp_min(1e-12)
    return h / scale.view(-1, *([1] * (h.dim() - 1)))


def ax_heatmap(model: torch.nn.Module, x: torch.Tensor, method: str, **kwargs) -> torch.Tensor:
    """AX heatmap of a registry method: attribution w.r.t. the *predicted* class, normalised by the global max|h| of
    each sample, broadcast to ``x``'s shape (a one-channel map, e.g. LayerGradCam, is repeated over channels)."""
    maps = explain(method, model, x, predicted_classes(model, x), **kwargs).detach()
    return normalize_max_abs(maps).expand_as(x)


def as_output(logits: torch.Tensor, output: str) -> torch.Tensor:
    """The outputs the CO score is taken on: the raw ``"logit"`` or its ``"softmax"``."""
    return logits.softmax(1) if output == "softmax" else logits


# -------------------------------------------------------------------------------------------------------- GAX


@dataclass
class GaxResult:
    """What :func:`gax` returns (all on CPU).

    ``heatmaps`` (N,...) the final ``h``; ``co`` (N, max_iter + 1) the CO score at each iteration (iteration 0 is the
    initial ``h = tanh(x + b)``), NaN after the image stopped; ``iterations`` (N,) the optimisation steps taken
    (the iterations to the target for converged images, ``max_iter`` otherwise); ``converged`` (N,) whether the
    target was reached; ``snapshots`` {iteration: (N,...) heatmaps}, an image that stopped earlier keeps its final
    heatmap.
    """

    heatmaps: torch.Tensor
    co: torch.Tensor
    iterations: torch.Tensor
    converged: torch.Tensor
    snapshots: dict = field(default_factory=dict)
    target: float = float("nan")

    @property
    def share_converged(self) -> float:
        return float(self.converged.float().mean())


@torch.enable_grad()  # also when called inside a no_grad block
def gax(
    model: torch.nn.Module,
    x: torch.Tensor,
    target: torch.Tensor,
    co_target: float = 48.0,
    max_iter: int = 200,
    lr: float = 0.1,
    betas=(0.9, 0.999),
    similarity_factor: float = 100.0,
    eps: float = 1e-4,
    bias: float | None = 0.01,
    output: str = "logit",
    snapshot_iterations=(),
    progress: bool = False,
) -> GaxResult:
    """Generative AX: optimise ``h = tanh(w * x + b)`` so that the CO score of ``x + h`` reaches ``co_target``.

    ``w`` (shape of ``x``) starts at ones; ``b`` (shape of ``x``, trainable) starts at ``bias`` (0.01, the paper's
    bias for images with many zeros; ``None`` drops it, the paper's ImageNet variant ``tanh(w * x)``). Loss per image
    ``-CO + similarity_factor / mean((h - x + eps)^2 / (x + eps))`` (eq. 6), Adam(``lr``, ``betas``). Each image stops
    as soon as its CO score reaches ``co_target`` (checked before each step, as in the authors' loop) or after
    ``max_iter`` steps (the authors' loop has no cap). Images are independent: the loss is summed over the batch,
    Adam works per element and a stopped image's parameters are frozen, so the result does not depend on the batch.
    ``x`` must be in [0, 1] (pixel space); ``target`` is the class whose CO score is raised (the paper: the ground
    truth of correctly predicted images).
    """
    check_choice("output", output, OUTPUTS)
    co_target = check_float("co_target", co_target)
    max_iter = check_int("max_iter", max_iter, minimum=0)
    lr = check_float("lr", lr, minimum=0.0)
    if x.min() < 0 or x.max() > 1:
        raise ValueError("gax needs x in [0, 1] pixel space (the similarity loss divides by x)")
    target = torch.as_tensor(target, device=x.device).long().expand(len(x))
    model.eval()
    x = x.detach()
    weights = torch.ones_like(x, requires_grad=True)
    offsets = torch.full_like(x, 0.0 if bias is None else float(bias), requires_grad=bias is not None)
    parameters = [weights] + ([offsets] if bias is not None else [])
    optimizer = torch.optim.Adam(parameters, lr=lr, betas=tuple(betas))
    heatmap = lambda index: torch.tanh(weights[index] * x[index] + offsets[index])
    outputs = lambda inputs: as_output(model(inputs), output)
    with torch.no_grad():
        before = outputs(x)  # DNN(x) does not change during the optimisation

    n = len(x)
    co_history = torch.full((n, max_iter + 1), float("nan"))
    iterations = torch.full((n,), max_iter, dtype=torch.long)
    converged = torch.zeros(n, dtype=torch.bool)
    active = torch.ones(n, dtype=torch.bool, device=x.device)
    snapshot_iterations = sorted({int(i) for i in snapshot_iterations if 0 <= int(i) <= max_iter})
    snapshots = {}
    for step in tqdm(range(max_iter + 1), desc="GAX", disable=not progress):
        if step in snapshot_iterations:
            with torch.no_grad():
                snapshots[step] = heatmap(slice(None)).cpu()
        index = active.nonzero().squeeze(1)
        if len(index) == 0:
            break
        h = heatmap(index)
        co = co_score_from_outputs(before[index], outputs(x[index] + h), target[index])
        co_history[index.cpu(), step] = co.detach().float().cpu()
        reached = (co.detach() >= co_target).cpu()
        done_now = index.cpu()[reached | (step == max_iter)]
        converged[index.cpu()[reached]] = True
        iterations[index.cpu()[reached]] = step
        active[done_now.to(x.device)] = False
        if step == max_iter or bool(reached.all()):
            continue
        keep = (~reached).to(x.device)
        similarity = ((h - x[index] + eps) ** 2 / (x[index] + eps)).flatten(1).mean(1)
        loss = (-co + similarity_factor / similarity)[keep].sum()
        frozen = [p.detach()[~active].clone() for p in parameters]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            for p, values in zip(parameters, frozen):
                p[~active] = values
    for step in snapshot_iterations:
        snapshots.setdefault(step, heatmap(slice(None)).detach().cpu())
    return GaxResult(heatmap(slice(None)).detach().cpu(), co_history, iterations, converged, snapshots, co_target)


def explain_gax(model: torch.nn.Module, x: torch.Tensor, target: torch.Tensor, **kwargs) -> torch.Tensor:
    """Registry entry ``"gax"``: the final GAX heatmaps (N,C,H,W) on ``x``'s device; ``kwargs`` go to :func:`gax`."""
    return gax(model, x, target, **kwargs).heatmaps.to(x.device)


register_method("gax", "input", "optimisation", "GAX (Tjoa & Guan): tanh(w * x + b) optimised to raise the CO score.")(
    explain_gax)
