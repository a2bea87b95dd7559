"""I-GOS and iGOS++ (Khorram, Lawson & Li, AAAI 2021): saliency masks optimised with integrated gradients.

Conventions (stated once, used everywhere here):

* The masking operator is ``core.tensors.perturb(image, M, baseline) = image * M + baseline * (1 - M)`` (the
  paper's Phi(I, I~, M)), in [0, 1] pixel space, with a Gaussian-blurred copy of the image as the baseline.
* Masks live at ``mask_size`` x ``mask_size``, start at ones, are bilinearly upsampled and clamped to [0, 1].
  A LOW mask value marks an important pixel. The saliency ``maps`` returned through the explainer registry are
  ``1 - M`` upsampled to the input size, so there HIGH = important, as for every other method.
* Class scores are softmax probabilities of the target class (the paper's choice).
* The objective is written with integrated gradients as an interval objective (eq. 3): a deletion term
  ``D(M) = mean_s f_c(Phi(I, I~, s/S * M) + noise)`` and an insertion term
  ``N(M) = -mean_s f_c(Phi(I~, I, s/S * M) + noise)`` (eq. 5), s = 1..S. Their autograd gradient with respect
  to M is the paper's integrated gradient, so eq. (6)'s total gradient is the gradient of
  ``D(M_x) + N(M_y) + D(M_xy) + N(M_xy) + g(M_xy)`` with ``g = lambda1 * mean|1 - M| + lambda2 * smoothness(M)``.
* L1 and TV are means over mask elements (as in the authors' code), so lambda values do not scale with resolution.
  L1 is written ``mean(1 - M)``, equal to ``mean|1 - M|`` on [0, 1] but with gradient ``-lambda1 / n`` at the initial
  M = 1, where the authors' ``abs`` has gradient 0 (their first step ignores the size penalty).

Differences from the authors' code (khorrams/IGOS_pp), each deliberate:

* Their code halves the IG part of the total gradient but not of the line-search objective; we follow eq. (4)/(6)
  exactly, so the search direction is the gradient of the objective the line search checks.
* Each image draws its noise from its own generator, seeded with ``core.tensors.image_seeds(x, seed)`` (the
  registry's contract), and has its own line search and warm start: an image's masks do not depend on which other
  images share its batch (the authors' code runs one image at a time).
* One noise draw per iteration is shared by the gradient and its line search (their line search draws fresh
  noise at every trial, which makes the Armijo test itself random); noise std is in [0,1] pixel units (theirs,
  0.2, is in ImageNet-normalised units, about 0.045 in pixels).
* The bilateral weights use the image downsampled to the mask resolution (the issue's choice; they upsample the
  mask to the image), with ``exp(-dI^2 / sigma)`` on pixel values as their code (the paper writes sigma^2).
  "btv" is the average of plain TV and bilateral TV, as in their code and the paper's supplement.
* When no step >= ``min_step`` satisfies the Armijo condition the image takes no step (theirs takes the last,
  tiny, step).
* ``warm_start=True`` (our default, to save compute) starts each image's line search at
  ``min(initial_step, previous accepted step / step_decay)`` instead of ``initial_step`` every time; the search is
  otherwise the same. ``warm_start=False`` is the authors' search.
* I-GOS is the authors' re-implementation used for their comparisons (IGOS_pp ``methods.IGOS``): deletion
  objective, plain TV, noise, Armijo over the IG interval from an initial step of 8. The original I-GOS code
  (zhongangqi/IGOS) checks Armijo at the mask itself from a step of 200 (``armijo_on="mask"``,
  ``initial_step=200``); on confident predictions that version often finds no acceptable step at all (the
  softmax is flat at the mask), and its mid-run L1 re-weighting heuristic is not reproduced.
"""
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from xai_nb_utils.core.evaluation import forward_in_chunks
from xai_nb_utils.core.params import check_choice, check_float, check_int
from xai_nb_utils.core.tensors import (baseline_image, blur_kernel_for, image_seeds, neighbour_differences, perturb,
                                       total_variation)
from xai_nb_utils.methods.registry import register_method

OBJECTIVES = ("deletion", "insertion", "naive", "bilateral")
SMOOTHNESS = ("btv", "tv")
STEP_RULES = ("line_search", "fixed")
ARMIJO_ON = ("interval", "mask")

#: Settings shared by every variant (paper / authors' code values where they exist).
COMMON_SETTINGS = dict(mask_size=28, iterations=15, ig_steps=20, lambda1=None, lambda2=20.0, noise_std=0.05,
                       armijo_beta=1e-4, step_decay=0.2, min_step=1e-5, warm_start=True, fixed_step=5.0,
                       btv_sigma=0.01, btv_beta=2.0)
#: I-GOS (Qi, Khorram & Li 2020) as the iGOS++ authors run it (their IGOS_pp re-implementation).
IGOS_SETTINGS = dict(COMMON_SETTINGS, objective="deletion", smoothness="tv", step_rule="line_search",
                     armijo_on="interval", initial_step=8.0)
#: iGOS++: two masks, bilateral TV, noise, line search over the IG interval.
IGOS_PP_SETTINGS = dict(COMMON_SETTINGS, objective="bilateral", smoothness="btv", step_rule="line_search",
                        armijo_on="interval", initial_step=1000.0)
#: The registry methods' settings.
SETTINGS = {"igos": IGOS_SETTINGS, "igos_pp": IGOS_PP_SETTINGS}


# ------------------------------------------------------------------------------------------- building blocks


#: The authors' Gaussian blur for the baseline on 224-pixel images, scaled to other sizes by :func:`blur_for`.
BLUR_AT_224 = (51, 50.0)


def blur_for(side: int) -> tuple[int, float]:
    """(kernel, sigma) of the authors' baseline blur scaled to ``side`` pixels (kernel 15, sigma 14.3 at 64)."""
    return blur_kernel_for(side, *BLUR_AT_224)


def blurred_baseline(x: torch.Tensor) -> torch.Tensor:
    """The baseline I~: ``x`` blurred with :func:`blur_for` (the same blur the evaluation uses)."""
    return baseline_image(x, "blur", *blur_for(max(x.shape[-2:])))


def upsample_mask(mask: torch.Tensor, size) -> torch.Tensor:
    """Bilinear upsampling (corners aligned, as the authors' ``UpsamplingBilinear2d``) to ``size`` = (H, W)."""
    if tuple(mask.shape[-2:]) == tuple(size):
        return mask
    return F.interpolate(mask, size=tuple(size), mode="bilinear", align_corners=True)


def bilateral_total_variation(mask: torch.Tensor, image: torch.Tensor, beta: float = 2.0,
                              sigma: float = 0.01) -> torch.Tensor:
    """Eq. (7): mean over neighbour pairs of exp(-dI^2 / sigma) |dM|^beta, with the image resized to the mask.

    ``dI^2`` is the channel mean of the squared neighbour difference of ``image`` (pixel values), shape (N,).
    """
    small = F.interpolate(image, size=mask.shape[-2:], mode="area")
    total = 0
    for d_mask, d_image in zip(neighbour_differences(mask), neighbour_differences(small)):
        weight = torch.exp(-d_image.pow(2).mean(1, keepdim=True) / sigma)
        total = total + (weight * d_mask.abs().pow(beta)).flatten(1).mean(1)
    return total


def regularizer(mask: torch.Tensor, image: torch.Tensor, lambda1: float, lambda2: float, smoothness: str = "btv",
                beta: float = 2.0, sigma: float = 0.01) -> torch.Tensor:
    """g(M) = lambda1 * mean(1 - M) + lambda2 * smoothness(M), per image (N,), for masks in [0, 1]."""
    tv = total_variation(mask, beta)
    if smoothness == "btv":
        tv = 0.5 * (tv + bilateral_total_variation(mask, image, beta, sigma))
    return lambda1 * (1 - mask).flatten(1).mean(1) + lambda2 * tv


def class_probability(model, images: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Softmax probability of ``target`` (broadcast over a leading path dimension when images are (N,S,C,H,W))."""
    logits = forward_in_chunks(model, images.flatten(0, images.dim() - 4))
    probs = logits.softmax(1).view(*images.shape[:-3], -1)
    index = target.view(-1, *([1] * (images.dim() - 4)), 1).expand(*images.shape[:-3], 1)
    return probs.gather(-1, index).squeeze(-1)


def path_score(model, start: torch.Tensor, end: torch.Tensor, target: torch.Tensor, mask_up: torch.Tensor,
               alphas: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
    """mean_s f_c(Phi(start, end, alpha_s * M) + noise_s), shape (N,).

    ``start = image, end = baseline`` gives the deletion path (eq. 2), the swapped order the insertion path (eq. 5).
    """
    masks = alphas.view(1, -1, 1, 1, 1) * mask_up.unsqueeze(1)
    images = perturb(start.unsqueeze(1), masks, end.unsqueeze(1))
    if noise is not None:
        images = images + noise
    return class_probability(model, images, target).mean(1)


# ----------------------------------------------------------------------------------------------- optimiser


@dataclass
class IgosResult:
    """Everything one optimisation returns. Masks are at mask resolution with LOW = important.

    ``maps`` = 1 - M_xy upsampled to the input (HIGH = important). ``deletion_mask`` (M_x) and ``insertion_mask``
    (M_y) exist only for the two-mask objective. ``objective_history`` (iterations, N) is the optimised interval
    objective at the start of each iteration (with that iteration's noise); ``final_objective`` (N,) is the
    noise-free Table 7 objective f(Phi(M)) - f(Phi(1-M)) + g(M) of the result mask and ``final_score_gap`` the
    same without g. ``step_sizes`` (iterations, N) are the accepted steps (0 = no acceptable step).
    """

    maps: torch.Tensor
    mask: torch.Tensor
    deletion_mask: torch.Tensor | None
    insertion_mask: torch.Tensor | None
    objective_history: torch.Tensor
    final_objective: torch.Tensor
    final_score_gap: torch.Tensor
    step_sizes: torch.Tensor
    seconds: float
    settings: dict


def armijo_line_search(objective, masks: torch.Tensor, direction: torch.Tensor, base_loss: torch.Tensor,
                       initial_step, beta: float = 1e-4, decay: float = 0.2, min_step: float = 1e-5) -> torch.Tensor:
    """Per-image backtracking: the largest ``initial_step * decay^k >= min_step`` with

    ``objective(clamp(M - a d)) <= base_loss - a * beta * |d|^2`` (eq. 8). ``objective(masks, index)`` evaluates
    the images ``index`` only; ``initial_step`` is a number or one per image. Returns the steps (N,), 0 where no
    step qualifies.
    """
    n = len(masks)
    steps = torch.as_tensor(initial_step, dtype=torch.float32, device=masks.device).expand(n).clone()
    accepted = torch.zeros(n, dtype=torch.bool, device=masks.device)
    sufficient = beta * direction.pow(2).flatten(1).sum(1)
    searching = torch.ones(n, dtype=torch.bool, device=masks.device)
    while searching.any():
        index = searching.nonzero().squeeze(1)
        step = steps[index].view(-1, *([1] * (masks.dim() - 1)))
        trial = (masks[index] - step * direction[index]).clamp(0, 1)
        ok = objective(trial, index) <= base_loss[index] - steps[index] * sufficient[index]
        accepted[index[ok]] = True
        searching[index[ok]] = False
        failing = index[~ok]
        steps[failing] *= decay
        searching[failing[steps[failing] < min_step]] = False
    return torch.where(accepted, steps, torch.zeros_like(steps))


def image_noise(generators: list, shape: tuple, std: float, device) -> torch.Tensor:
    """Gaussian noise of ``std``, (N, *shape): image i's from ``generators[i]`` (one generator per image)."""
    return torch.stack([torch.randn(shape, device=device, generator=g) for g in generators]) * std


def _validated(settings: dict, image_side: int) -> dict:
    s = dict(settings)
    check_choice("objective", s["objective"], OBJECTIVES)
    check_choice("smoothness", s["smoothness"], SMOOTHNESS)
    check_choice("step_rule", s["step_rule"], STEP_RULES)
    check_choice("armijo_on", s["armijo_on"], ARMIJO_ON)
    s["mask_size"] = check_int("mask_size", s["mask_size"], minimum=2, maximum=image_side)
    s["iterations"] = check_int("iterations", s["iterations"], minimum=1)
    s["ig_steps"] = check_int("ig_steps", s["ig_steps"], minimum=1)
    if s["lambda1"] is None:  # the paper: 10 at full resolution, 1 otherwise
        s["lambda1"] = 10.0 if s["mask_size"] == image_side else 1.0
    for name in ("lambda1", "lambda2", "noise_std"):
        s[name] = check_float(name, s[name], minimum=0.0)
    for name in ("initial_step", "fixed_step", "min_step", "btv_sigma", "btv_beta"):
        s[name] = check_float(name, s[name], minimum=1e-12)
    s["armijo_beta"] = check_float("armijo_beta", s["armijo_beta"], minimum=1e-12, maximum=1.0)
    s["step_decay"] = check_float("step_decay", s["step_decay"], minimum=1e-6, maximum=0.999)
    check_choice("warm_start", s["warm_start"], (True, False))
    return s


def optimize_masks(model, x: torch.Tensor, target: torch.Tensor, baseline: torch.Tensor | None = None,
                   seed: int = 0, **settings) -> IgosResult:
    """Run I-GOS / iGOS++ / an ablation on a batch; ``settings`` override :data:`IGOS_PP_SETTINGS`.

    ``x`` (N,C,H,W) in [0,1], ``target`` (N,). ``baseline`` defaults to :func:`blurred_baseline`. ``seed`` drives
    the IG noise, drawn per image (:func:`image_noise`), so an image's result does not depend on its batch.
    Switches: ``objective`` in OBJECTIVES ("deletion" = I-GOS eq. 1, "insertion" only, "naive" = I-GOS + insertion
    on one mask, "bilateral" = iGOS++ eq. 4), ``smoothness`` in SMOOTHNESS, ``step_rule`` in STEP_RULES,
    ``armijo_on`` in ARMIJO_ON, ``noise_std`` (0 = no noise), ``lambda1`` (None = paper default).
    """
    unknown = set(settings) - set(IGOS_PP_SETTINGS)
    if unknown:
        raise ValueError(f"unknown I-GOS settings {sorted(unknown)}; choose from {sorted(IGOS_PP_SETTINGS)}")
    s = _validated({**IGOS_PP_SETTINGS, **settings}, min(x.shape[-2:]))
    started = time.perf_counter()
    model.eval()
    x = x.detach()
    target = target.to(x.device)
    baseline = blurred_baseline(x) if baseline is None else baseline.detach()
    n, size = len(x), x.shape[-2:]
    generators = [torch.Generator(device=x.device).manual_seed(image_seed) for image_seed in image_seeds(x, seed)]
    interval = torch.linspace(1 / s["ig_steps"], 1, s["ig_steps"], device=x.device)
    at_mask = torch.ones(1, device=x.device)
    two_masks = s["objective"] == "bilateral"
    masks = torch.ones(n, 2 if two_masks else 1, s["mask_size"], s["mask_size"], device=x.device)

    def terms(m):
        """(kind, mask) pairs of the objective; kind "del" or "ins"."""
        if two_masks:
            product = m[:, :1] * m[:, 1:]
            return [("del", m[:, :1]), ("ins", m[:, 1:]), ("del", product), ("ins", product)], product
        return {"deletion": [("del", m)], "insertion": [("ins", m)],
                "naive": [("del", m), ("ins", m)]}[s["objective"]], m

    def objective(m, index, alphas, noises):
        term_list, final = terms(m)
        loss = regularizer(final, x[index], s["lambda1"], s["lambda2"], s["smoothness"], s["btv_beta"],
                           s["btv_sigma"])
        for (kind, mask), noise in zip(term_list, noises):
            mask_up = upsample_mask(mask, size)
            noise = None if noise is None else noise[index]
            if kind == "del":
                loss = loss + path_score(model, x[index], baseline[index], target[index], mask_up, alphas, noise)
            else:
                loss = loss - path_score(model, baseline[index], x[index], target[index], mask_up, alphas, noise)
        return loss

    everyone = torch.arange(n, device=x.device)
    first_trial = torch.full((n,), s["initial_step"], device=x.device)
    history, steps_taken = [], []
    for _ in range(s["iterations"]):
        noises = [image_noise(generators, (s["ig_steps"], *x.shape[1:]), s["noise_std"], x.device)
                  if s["noise_std"] > 0 else None for _ in terms(masks)[0]]
        masks.requires_grad_(True)
        with torch.enable_grad():
            loss = objective(masks, everyone, interval, noises)
            direction = torch.autograd.grad(loss.sum(), masks)[0]
        masks = masks.detach()
        history.append(loss.detach())
        if s["step_rule"] == "fixed":
            step = torch.full((n,), s["fixed_step"], device=x.device)
        else:
            with torch.no_grad():
                if s["armijo_on"] == "interval":
                    check = lambda m, index: objective(m, index, interval, noises)
                    base = loss.detach()
                else:
                    check = lambda m, index: objective(m, index, at_mask, [None] * len(noises))
                    base = check(masks, everyone)
                step = armijo_line_search(check, masks, direction, base, first_trial, s["armijo_beta"],
                                          s["step_decay"], s["min_step"])
            if s["warm_start"]:
                first_trial = torch.where(step > 0, (step / s["step_decay"]).clamp(max=s["initial_step"]),
                                          torch.full_like(step, s["initial_step"]))
        steps_taken.append(step)
        masks = (masks - step.view(-1, 1, 1, 1) * direction).clamp(0, 1)

    final = masks[:, :1] * masks[:, 1:] if two_masks else masks
    with torch.no_grad():
        up = upsample_mask(final, size)
        gap = class_probability(model, perturb(x, up, baseline), target) - \
            class_probability(model, perturb(x, 1 - up, baseline), target)
        reg = regularizer(final, x, s["lambda1"], s["lambda2"], s["smoothness"], s["btv_beta"], s["btv_sigma"])
    return IgosResult(
        maps=1 - up, mask=final,
        deletion_mask=masks[:, :1] if two_masks else None, insertion_mask=masks[:, 1:] if two_masks else None,
        objective_history=torch.stack(history), final_objective=gap + reg, final_score_gap=gap,
        step_sizes=torch.stack(steps_taken), seconds=time.perf_counter() - started, settings=s)


def optimize_in_batches(model, x, target, batch_size: int = 16, **kwargs) -> IgosResult:
    """:func:`optimize_masks` over chunks of ``batch_size`` images, results concatenated."""
    parts = [optimize_masks(model, x[i:i + batch_size], target[i:i + batch_size], **kwargs)
             for i in range(0, len(x), batch_size)]
    joined = {}
    for field in ("maps", "mask", "deletion_mask", "insertion_mask", "final_objective", "final_score_gap"):
        values = [getattr(p, field) for p in parts]
        joined[field] = None if values[0] is None else torch.cat(values)
    for field in ("objective_history", "step_sizes"):
        joined[field] = torch.cat([getattr(p, field) for p in parts], dim=1)
    return IgosResult(**joined, seconds=sum(p.seconds for p in parts), settings=parts[0].settings)


@register_method("igos", "single", "optimisation")
def igos(model, x, target, batch_size: int = 16, **settings):
    """I-GOS (Qi et al. 2020): deletion mask by integrated gradients; maps = 1 - M (high = important)."""
    return optimize_in_batches(model, x, target, batch_size, **{**SETTINGS["igos"], **settings}).maps


@register_method("igos_pp", "single", "optimisation")
def igos_pp(model, x, target, batch_size: int = 16, **settings):
    """iGOS++: deletion and insertion masks with bilateral TV; maps = 1 - M_x * M_y (high = important)."""
    return optimize_in_batches(model, x, target, batch_size, **{**SETTINGS["igos_pp"], **settings}).maps
