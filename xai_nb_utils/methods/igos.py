"""I-GOS and iGOS++ (Khorram, Lawson & Li, AAAI 2021): saliency masks optimised with integrated gradients.

Conventions (stated once, used everywhere here):

* The masking operator is ``perturb(image, baseline, M) = image * M + baseline * (1 - M)`` (the paper's Phi), in
  [0, 1] pixel space, with a Gaussian-blurred copy of the image as the baseline.
* Masks live at ``mask_size`` x ``mask_size``, start at ones, are bilinearly upsampled and clamped to [0, 1].
  A LOW mask value marks an important pixel. The saliency ``maps`` returned through the explainer registry are
  ``1 - M`` upsampled to the input size, so there HIGH = important, as for every other method.
* Class scores are softmax probabilities of the target class (the paper's choice).
* The objective is written with integrated gradients as an interval objective (eq. 3): a deletion term
  ``D(M) = mean_s f_c(perturb(I, I~, s/S * M) + noise)`` and an insertion term
  ``N(M) = -mean_s f_c(perturb(I~, I, s/S * M) + noise)`` (eq. 5), s = 1..S. Their autograd gradient with respect
  to M is the paper's integrated gradient, so eq. (6)'s total gradient is the gradient of
  ``D(M_x) + N(M_y) + D(M_xy) + N(M_xy) + g(M_xy)`` with ``g = lambda1 * mean|1 - M| + lambda2 * smoothness(M)``.
* L1 and TV are means over mask elements (as in the authors' code), so lambda values do not scale with resolution.
  L1 is written ``mean(1 - M)``, equal to ``mean|1 - M|`` on [0, 1] but with gradient ``-lambda1 / n`` at the initial
  M = 1, where the authors' ``abs`` has gradient 0 (their first step ignores the size penalty).

Differences from the authors' code (khorrams/IGOS_pp), each deliberate:

* Their code halves the IG part of the total gradient but not of the line-search objective; we follow eq. (4)/(6)
  exactly, so the search direction is the gradient of the objective the line search checks.
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

from xai_nb_utils.methods.registry import register_method
from xai_nb_utils.metrics.perturbation import baseline_image, blur_kernel_for
from xai_nb_utils.core.params import check_choice, check_float, check_int

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
#: The rows of the paper's Table 3 (ablations), each a full settings dict.
ABLATIONS = {
    "I-GOS": IGOS_SETTINGS,
    "Insertion": dict(IGOS_PP_SETTINGS, objective="insertion"),
    "I-GOS + Insertion (naive)": dict(IGOS_PP_SETTINGS, objective="naive"),
    "iGOS++ (no noise)": dict(IGOS_PP_SETTINGS, noise_std=0.0),
    "iGOS++ (fixed step)": dict(IGOS_PP_SETTINGS, step_rule="fixed"),
    "iGOS++ (no BTV)": dict(IGOS_PP_SETTINGS, smoothness="tv"),
    "iGOS++": IGOS_PP_SETTINGS,
}

#: The PAPER's numbers (not ours): Table 1, ResNet50 on 5,000 ImageNet validation images, (deletion, insertion).
PAPER_TABLE1 = {
    "224x224": {"Integrated Gradients": (0.0907, 0.2921), "RISE": (0.1196, 0.5637), "Mask": (0.0468, 0.4962),
                "I-GOS": (0.0420, 0.5846), "iGOS++": (0.0328, 0.7261)},
    "28x28": {"Mask": (0.1151, 0.5559), "I-GOS": (0.1059, 0.5986), "iGOS++": (0.0929, 0.7284)},
    "7x7": {"Grad-CAM": (0.1675, 0.6521), "Mask": (0.2259, 0.6003), "I-GOS": (0.1607, 0.6632),
            "iGOS++": (0.1810, 0.7332)},
}
#: The PAPER's Table 3 (ablations, ResNet50): row -> {resolution: (deletion, insertion)}.
PAPER_TABLE3 = {
    "I-GOS": {"224x224": (0.0420, 0.5846), "28x28": (0.1059, 0.5986)},
    "Insertion": {"224x224": (0.0760, 0.6192), "28x28": (0.1321, 0.7231)},
    "I-GOS + Insertion (naive)": {"224x224": (0.0322, 0.6175), "28x28": (0.2037, 0.5103)},
    "iGOS++ (no noise)": {"224x224": (0.0490, 0.5943), "28x28": (0.0904, 0.7108)},
    "iGOS++ (fixed step)": {"224x224": (0.0332, 0.5695), "28x28": (0.1052, 0.7060)},
    "iGOS++ (no BTV)": {"224x224": (0.0245, 0.6742), "28x28": (0.0813, 0.6825)},
    "iGOS++": {"224x224": (0.0328, 0.7261), "28x28": (0.0929, 0.7284)},
}
#: The PAPER's supplementary Table 5 (ResNet50): mask -> {resolution: (deletion, insertion)}.
PAPER_TABLE5 = {
    "M_x": {"224x224": (0.0268, 0.5008), "28x28": (0.1011, 0.5536)},
    "M_y": {"224x224": (0.0594, 0.7184), "28x28": (0.1788, 0.6912)},
    "M_xy": {"224x224": (0.0328, 0.7261), "28x28": (0.0929, 0.7332)},
}
#: The PAPER's supplementary Table 6: seconds per image on a GTX 1080 Ti, ResNet50.
PAPER_TABLE6 = {"28x28": {"iGOS++": 16.67, "I-GOS": 1.50}, "224x224": {"iGOS++": 12.25, "I-GOS": 1.48}}
#: The PAPER's supplementary Table 7: final objective at 28x28, (lambda1, lambda2) -> {method: value}.
PAPER_TABLE7 = {(1, 2): {"naive": -0.869, "iGOS++": -0.971}, (1, 20): {"naive": -0.374, "iGOS++": -0.649},
                (10, 20): {"naive": 0.346, "iGOS++": 0.158}, (10, 200): {"naive": 0.693, "iGOS++": 0.654}}


# ------------------------------------------------------------------------------------------- building blocks


#: The authors' Gaussian blur for the baseline on 224-pixel images, scaled to other sizes by :func:`blur_for`.
BLUR_AT_224 = (51, 50.0)


def blur_for(side: int) -> tuple[int, float]:
    """(kernel, sigma) of the authors' baseline blur scaled to ``side`` pixels (kernel 15, sigma 14.3 at 64)."""
    return blur_kernel_for(side, *BLUR_AT_224)


def blurred_baseline(x: torch.Tensor) -> torch.Tensor:
    """The baseline I~: ``x`` blurred with :func:`blur_for` (the same blur the evaluation uses)."""
    return baseline_image(x, "blur", *blur_for(max(x.shape[-2:])))


def perturb(image: torch.Tensor, baseline: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The masking operator Phi(I, I~, M) = I * M + I~ * (1 - M); ``mask`` broadcasts over channels."""
    return image * mask + baseline * (1 - mask)


def upsample_mask(mask: torch.Tensor, size) -> torch.Tensor:
    """Bilinear upsampling (corners aligned, as the authors' ``UpsamplingBilinear2d``) to ``size`` = (H, W)."""
    if tuple(mask.shape[-2:]) == tuple(size):
        return mask
    return F.interpolate(mask, size=tuple(size), mode="bilinear", align_corners=True)


def _neighbour_differences(t: torch.Tensor):
    return t[..., 1:, :] - t[..., :-1, :], t[..., :, 1:] - t[..., :, :-1]


def total_variation(mask: torch.Tensor, beta: float = 2.0) -> torch.Tensor:
    """Per-image TV: mean |vertical difference|^beta + mean |horizontal difference|^beta, shape (N,)."""
    return sum(d.abs().pow(beta).flatten(1).mean(1) for d in _neighbour_differences(mask))


def bilateral_total_variation(mask: torch.Tensor, image: torch.Tensor, beta: float = 2.0,
                              sigma: float = 0.01) -> torch.Tensor:
    """Eq. (7): mean over neighbour pairs of exp(-dI^2 / sigma) |dM|^beta, with the image resized to the mask.

    ``dI^2`` is the channel mean of the squared neighbour difference of ``image`` (pixel values), shape (N,).
    """
    small = F.interpolate(image, size=mask.shape[-2:], mode="area")
    total = 0
    for d_mask, d_image in zip(_neighbour_differences(mask), _neighbour_differences(small)):
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
    logits = model(images.flatten(0, images.dim() - 4))
    probs = logits.softmax(1).view(*images.shape[:-3], -1)
    index = target.view(-1, *([1] * (images.dim() - 4)), 1).expand(*images.shape[:-3], 1)
    return probs.gather(-1, index).squeeze(-1)


def path_score(model, start: torch.Tensor, end: torch.Tensor, target: torch.Tensor, mask_up: torch.Tensor,
               alphas: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
    """mean_s f_c(perturb(start, end, alpha_s * M) + noise_s), shape (N,).

    ``start = image, end = baseline`` gives the deletion path (eq. 2), the swapped order the insertion path (eq. 5).
    """
    masks = alphas.view(1, -1, 1, 1, 1) * mask_up.unsqueeze(1)
    images = perturb(start.unsqueeze(1), end.unsqueeze(1), masks)
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
    the IG noise. Switches: ``objective`` in OBJECTIVES ("deletion" = I-GOS eq. 1, "insertion" only, "naive" =
    I-GOS + insertion on one mask, "bilateral" = iGOS++ eq. 4), ``smoothness`` in SMOOTHNESS, ``step_rule`` in
    STEP_RULES, ``armijo_on`` in ARMIJO_ON, ``noise_std`` (0 = no noise), ``lambda1`` (None = paper default).
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
    generator = torch.Generator(device=x.device).manual_seed(seed)
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
        noises = [torch.randn(n, s["ig_steps"], *x.shape[1:], device=x.device, generator=generator) * s["noise_std"]
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
        gap = class_probability(model, perturb(x, baseline, up), target) - \
            class_probability(model, perturb(x, baseline, 1 - up), target)
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
    return optimize_in_batches(model, x, target, batch_size, **{**IGOS_SETTINGS, **settings}).maps


@register_method("igos_pp", "single", "optimisation")
def igos_pp(model, x, target, batch_size: int = 16, **settings):
    """iGOS++: deletion and insertion masks with bilateral TV; maps = 1 - M_x * M_y (high = important)."""
    return optimize_in_batches(model, x, target, batch_size, **{**IGOS_PP_SETTINGS, **settings}).maps


# ------------------------------------------------------------------------------------------- notebook studies
# Everything below serves notebooks/04_igos_pp_ablations.ipynb: evaluation with the paper's protocol, the tables'
# rows, the adversarial and sanity-check experiments, and figures.

#: Insertion/deletion as the paper evaluates (Petsiuk et al.): blurred baseline (the same blur as the method's
#: baseline) for both curves, softmax probability of the target, trapezoid AUC, in :data:`CURVE_STEPS` steps.
PROTOCOL = dict(score="softmax", auc="trapezoid", baseline="blur")
#: Steps of the insertion/deletion curves (the authors' metric uses about 50; RISE one image row per step).
CURVE_STEPS = 32
#: The paper's Table 7 grid of (lambda1, lambda2).
TABLE7_LAMBDAS = ((1.0, 2.0), (1.0, 20.0), (10.0, 20.0), (10.0, 200.0))


def perturbation_curves(model, x: torch.Tensor, maps: torch.Tensor, target: torch.Tensor) -> dict:
    """{"deletion": PerturbationCurves, "insertion": PerturbationCurves} under :data:`PROTOCOL`."""
    from xai_nb_utils.metrics.perturbation import insertion_deletion

    kernel, sigma = blur_for(max(x.shape[-2:]))
    pixels_per_step = -(-x.shape[-2] * x.shape[-1] // CURVE_STEPS)
    return {mode: insertion_deletion(model, x, maps, target, mode, blur_kernel=kernel, blur_sigma=sigma,
                                     pixels_per_step=pixels_per_step, **PROTOCOL)
            for mode in ("deletion", "insertion")}


def mask_maps(mask: torch.Tensor, size) -> torch.Tensor:
    """Saliency (high = important) of a mask at mask resolution: 1 - upsampled mask."""
    return 1 - upsample_mask(mask, size)


@dataclass
class Evaluated:
    """One method at one resolution on a batch: maps, curves, seconds per image and (for I-GOS) the result."""

    maps: torch.Tensor
    curves: dict
    seconds_per_image: float
    result: IgosResult | None = None


def evaluate_method(model, x, target, method: str, resolution: int | None = None, settings: dict | None = None,
                    seed: int = 0, batch_size: int = 16) -> Evaluated:
    """Maps of a registry ``method`` (``settings`` = an I-GOS settings dict for "igos"/"igos_pp" rows), timed and
    scored. Gradient maps are summed over channels (signed) by the metric."""
    from xai_nb_utils.methods.registry import explain

    started = time.perf_counter()
    result = None
    if settings is not None:
        result = optimize_in_batches(model, x, target, batch_size, seed=seed, **{**settings, "mask_size": resolution})
        maps = result.maps
    else:
        maps = explain(method, model, x, target)
    seconds = (time.perf_counter() - started) / len(x)
    return Evaluated(maps, perturbation_curves(model, x, maps, target), seconds, result)


def auc_summary(rows) -> "pd.DataFrame":
    """Mean deletion / insertion AUC per (method, resolution) with 95% normal-approximation half-widths."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    grouped = frame.groupby(["method", "resolution"], sort=False)
    summary = grouped[["deletion", "insertion", "seconds_per_image"]].mean()
    half_width = 1.96 * grouped[["deletion", "insertion"]].std(ddof=1) / grouped.size().pow(0.5).values[:, None]
    summary["deletion ±95%"] = half_width["deletion"].fillna(0.0)
    summary["insertion ±95%"] = half_width["insertion"].fillna(0.0)
    summary["images"] = grouped.size()
    return summary.reset_index()


def per_image_rows(name: str, resolution: str, evaluated: Evaluated) -> list:
    """One row per image: AUCs and the method's seconds per image."""
    return [{"method": name, "resolution": resolution, "image": i, "deletion": float(d), "insertion": float(s),
             "seconds_per_image": evaluated.seconds_per_image}
            for i, (d, s) in enumerate(zip(evaluated.curves["deletion"].auc, evaluated.curves["insertion"].auc))]


def mi_fgsm(model, x: torch.Tensor, adversarial_class: torch.Tensor, epsilon: float = 16 / 255, steps: int = 10,
            decay: float = 1.0) -> torch.Tensor:
    """Targeted MI-FGSM (Dong et al. 2018) in [0,1] pixel space: momentum on L1-normalised gradients of the
    cross-entropy towards ``adversarial_class``, L-infinity ball of radius ``epsilon``."""
    step_size = epsilon / steps
    adversarial = x.detach().clone()
    momentum = torch.zeros_like(x)
    for _ in range(steps):
        adversarial.requires_grad_(True)
        with torch.enable_grad():
            loss = F.cross_entropy(model(adversarial), adversarial_class)
            grad = torch.autograd.grad(loss, adversarial)[0]
        momentum = decay * momentum + grad / grad.abs().flatten(1).mean(1).clamp(min=1e-12).view(-1, 1, 1, 1)
        adversarial = adversarial.detach() - step_size * momentum.sign()
        adversarial = (x + (adversarial - x).clamp(-epsilon, epsilon)).clamp(0, 1)
    return adversarial.detach()


def cascading_layers(model) -> list:
    """Cumulative layer lists for the cascading randomisation test, from the logits down (SceneCNN naming)."""
    order = ["fc", *reversed(model.stage_names)]
    return [order[:k] for k in range(1, len(order) + 1)]


def map_similarity(reference: torch.Tensor, other: torch.Tensor) -> dict:
    """Mean Spearman rank correlation and SSIM (maps min-max rescaled to [0,1]) between two stacks of maps."""
    from xai_nb_utils.metrics.similarity import rescale_01, spearman, ssim

    reference, other = reference.sum(1).cpu(), other.sum(1).cpu()
    return {"spearman": float(spearman(reference, other).mean()),
            "ssim": float(ssim(rescale_01(reference), rescale_01(other)).mean())}


def classification_summary(model, x: torch.Tensor, y: torch.Tensor, positive_class: int,
                           batch_size: int = 256) -> dict:
    """Accuracy over all classes and precision / recall / F1 of ``positive_class`` (the paper's COVID class)."""
    from sklearn.metrics import precision_recall_fscore_support

    with torch.no_grad():
        predicted = torch.cat([model(x[i:i + batch_size]).argmax(1).cpu() for i in range(0, len(x), batch_size)])
    truth = y.cpu()
    precision, recall, f1, _ = precision_recall_fscore_support(
        truth == positive_class, predicted == positive_class, average="binary", zero_division=0)
    return {"accuracy": float((predicted == truth).float().mean()), "precision": float(precision),
            "recall": float(recall), "f1": float(f1)}


def region_lift(maps: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """Mean saliency inside ``region`` over mean saliency of the image, per image (1 = no preference)."""
    maps = maps.sum(1).clamp(min=0)
    region = region.to(maps.dtype)
    inside = (maps * region).flatten(1).sum(1) / region.flatten(1).sum(1).clamp(min=1)
    return inside / maps.flatten(1).mean(1).clamp(min=1e-12)


def plot_maps_and_curves(x, evaluated: dict, index: int = 0, cell: float = 2.0):
    """Figure 2 analog for image ``index``: one column per entry of ``evaluated`` (overlay, deletion curve,
    insertion curve). ``x`` is the image batch, or a dict with one batch per entry."""
    import matplotlib.pyplot as plt

    from xai_nb_utils.viz.plotting import overlay

    names = list(evaluated)
    fig, axes = plt.subplots(3, len(names), figsize=(cell * len(names), cell * 2.6), squeeze=False,
                             gridspec_kw={"height_ratios": [1.3, 1, 1]})
    for j, name in enumerate(names):
        entry = evaluated[name]
        images = x[name] if isinstance(x, dict) else x
        overlay(axes[0, j], images[index], entry.maps[index], title=name)
        for row, mode, colour in ((1, "deletion", "tab:red"), (2, "insertion", "tab:blue")):
            curves = entry.curves[mode]
            ax = axes[row, j]
            ax.plot(curves.fractions, curves.scores[index], color=colour)
            ax.fill_between(curves.fractions, curves.scores[index], color=colour, alpha=0.25)
            ax.set_ylim(-0.02, 1.02)
            ax.set_title(f"{mode} AUC {curves.auc[index]:.3f}", fontsize=8)
            ax.tick_params(labelsize=7)
    axes[2, 0].set_xlabel("fraction of pixels", fontsize=8)
    fig.tight_layout()
    return fig


@dataclass
class StudySystem:
    """The classifier and images of the main study, with the mask resolutions of Table 1."""

    name: str
    model: torch.nn.Module
    x: torch.Tensor
    y: torch.Tensor
    resolutions: dict  # label -> mask side


def study_system(profile: str, n_images: int, seed: int, device) -> StudySystem:
    """``smoke``/``default``: the trained DigitScenes SceneCNN on correctly classified test scenes, masks at
    full resolution (64), 28 and 1/8 = the CAM resolution (8). ``paper``: ResNet50 on ImageNet validation images
    (user-supplied, see :mod:`xai_nb_utils.external`) at 224, 28 and 7, as the paper's Table 1."""
    if profile == "paper":
        from xai_nb_utils.data.external import load_imagenet_val
        from xai_nb_utils.models.pretrained import pretrained_model

        model = pretrained_model("resnet50", device=device)
        split = load_imagenet_val(n=n_images, seed=seed).head(n_images)
        x, y = split.x.to(device), split.y.to(device)
        return StudySystem("ResNet50 on ImageNet val (224x224)", model, x, y,
                           {"224x224 (full)": 224, "28x28": 28, "7x7 (CAM)": 7})
    from xai_nb_utils.models.training import trained_model

    trained = trained_model("scene_cnn", profile, seed=seed, device=device)
    model, test = trained.model, trained.dataset.test
    with torch.no_grad():
        correct = (model(test.x.to(device)).argmax(1).cpu() == test.y).nonzero().squeeze(1)[:n_images]
    side = test.x.shape[-1]
    return StudySystem(f"SceneCNN on DigitScenes ({side}x{side}), test accuracy {trained.test_accuracy:.3f}", model,
                       test.x[correct].to(device), test.y[correct].to(device),
                       {f"{side}x{side} (full)": side, "28x28": 28, f"{side // 8}x{side // 8} (1/8, CAM)": side // 8})


#: Baselines of Table 1 (registry names) and the resolution each one works at ("full" or "cam").
BASELINES = {"Grad-CAM": ("gradcam", "cam"), "Integrated Gradients": ("integrated_gradients", "full"),
             "Random": ("random", "full")}


def run_entries(system: StudySystem, entries, budget: dict, seed: int = 0, count: int | None = None):
    """Evaluate (row name, resolution label) entries on the first ``count`` images of ``system``.

    Row names are :data:`ABLATIONS` keys (run with ``budget``, e.g. iterations / ig_steps) or :data:`BASELINES`
    keys. Returns ({(name, label): Evaluated}, per-image rows for :func:`auc_summary`).
    """
    from tqdm.auto import tqdm

    x, y = system.x[:count], system.y[:count]
    evaluated, rows = {}, []
    for name, label in tqdm(entries, desc="methods"):
        if name in ABLATIONS:
            entry = evaluate_method(system.model, x, y, name, system.resolutions[label],
                                    {**ABLATIONS[name], **budget}, seed=seed)
        else:
            entry = evaluate_method(system.model, x, y, BASELINES[name][0])
        evaluated[(name, label)] = entry
        rows += per_image_rows(name, label, entry)
    return evaluated, rows
