"""Notebook 03 (GAX paper, sections 3, 4.2 and 4.3): GAX on two architectures, its convergence (Figure 4), its
heatmaps (Figure 5), where it puts its mass (extreme intensities) and whether it highlights a spurious marker.
"""
import time

import matplotlib.pyplot as plt
import pandas as pd
import torch

from xai_nb_utils.data.embedded import ImageSplit, with_marker
from xai_nb_utils.methods.gax import ax_heatmap, gax
from xai_nb_utils.metrics.regions import region_share
from xai_nb_utils.models.training import trained_model
from xai_nb_utils.studies.common import System
from xai_nb_utils.studies.gax_systems import ax_study, correctly_predicted, embedded_system, imagenet_systems

# The paper's GAX claims (section 4.2, Figure 4), as text: the paper gives no numeric table for them.
PAPER_GAX_CLAIMS = {
    "target": "CO target 48 on ImageNet (15 in the published ImageNet command, 48 for pneumonia)",
    "convergence": "all tested images reach the target, some after a few hundred iterations",
    "speed": "ResNet34: most images reach CO >= 48 within 50 iterations; AlexNet generally needs more",
}

# Default GAX CO targets per dataset (``x + h``, raw logits). ImageNet / chest X-ray: the paper's 48. The paper chose
# 48 as "a score higher than most sco attained by existing XAI methods"; we applied the same rule to the embedded
# models with their default training (AX CO medians, notebook 02): DigitScenes SceneCNN, AX medians up to ~20 -> 48
# as in the paper; MNIST CNN, AX scores up to ~13 with a slower GAX ascent -> 20.
GAX_TARGETS = {"imagenet": 48.0, "chest_xray": 48.0, "mnist": 20.0, "digit_scenes": 48.0}

# name -> preset of the two embedded architectures
EMBEDDED_SYSTEMS = {"MNIST": "mnist_cnn", "DigitScenes": "scene_cnn"}


# -------------------------------------------------------------------------------------------------- systems


def load_systems(profile: str, n: int, seed: int, device) -> dict:
    """name -> system with the first ``n`` correctly predicted of 20 n seeded test images (embedded models) or of
    4 n ImageNet validation images (ResNet34 and AlexNet, ``paper`` profile only)."""
    systems = [embedded_system(preset, name, profile, 20 * n, seed, device)
               for name, preset in EMBEDDED_SYSTEMS.items()]
    if profile == "paper":
        systems += imagenet_systems(4 * n, seed, device)
    return {s.name: correctly_predicted(s, n) for s in systems}


def gax_targets(systems: dict, co_target: float | None = None) -> dict:
    """name -> CO target: ``co_target`` for every system, or the default of its dataset (:data:`GAX_TARGETS`)."""
    return {name: co_target if co_target is not None else GAX_TARGETS[s.extra["dataset"]]
            for name, s in systems.items()}


def ax_reference(systems: dict, targets: dict) -> pd.DataFrame:
    """90th percentile of the AX CO scores (x + h, logits) of the same images per system and method, beside the
    GAX targets."""
    scores = ax_study(list(systems.values()), combinations=["add"], outputs=["logit"], progress=False)
    reference = scores.groupby(["model", "method"])["co"].quantile(0.9).unstack("method")
    reference["GAX target"] = pd.Series(targets)
    return reference


# ------------------------------------------------------------------------------------------------------ GAX


def run_gax(systems: dict, targets: dict, **options) -> tuple:
    """GAX on all images of each system as one batch; returns ``(results, convergence)``: name -> GaxResult and a
    table with the share converged, the iterations to the target, the starting CO and the seconds per image."""
    results, rows = {}, []
    for name, system in systems.items():
        started = time.perf_counter()
        result = results[name] = gax(system.model, system.x, system.y, co_target=targets[name], **options)
        seconds = time.perf_counter() - started
        reached = result.iterations[result.converged]
        rows.append({"model": name, "images": len(system.y), "target": targets[name],
                     "share_converged": result.share_converged,
                     "median_iterations_to_target": float(reached.median()) if len(reached) else None,
                     "max_iterations_to_target": int(reached.max()) if len(reached) else None,
                     "not_converged": int((~result.converged).sum()),
                     "co_start_median": float(result.co[:, 0].median()),
                     "seconds_per_image": seconds / len(system.y)})
    return results, pd.DataFrame(rows)


def final_co(result) -> torch.Tensor:
    """The CO score of each image at its last iteration."""
    return result.co.gather(1, result.iterations.view(-1, 1)).squeeze(1)


def targets_reached(results: dict) -> bool:
    """Every image reported as converged reached its target, and every heatmap lies in [-1, 1]."""
    return all(bool((final_co(r)[r.converged] >= r.target).all()) and bool(r.heatmaps.abs().max() <= 1)
               for r in results.values())


def plot_gax_trajectories(results: dict):
    """Figure 4 analog: CO score against iteration, one curve per image and one colour per model."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for colour, (name, result) in zip(plt.rcParams["axes.prop_cycle"].by_key()["color"], results.items()):
        for i, curve in enumerate(result.co.numpy()):
            ax.plot(curve, color=colour, alpha=0.5, lw=0.8, label=name if i == 0 else None)
        ax.axhline(result.target, color=colour, ls="--", lw=0.8)
    ax.set_xlabel("GAX iteration")
    ax.set_ylabel("CO score (x + h, logits)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def draw_gax_snapshot(image: torch.Tensor, heatmap: torch.Tensor, title: str = ""):
    """Figure 5 analog: the image and the heatmap of each channel, red/blue = positive/negative, on a symmetric
    scale given by the heatmap's absolute maximum over all channels ("abs max")."""
    channels = heatmap.shape[0]
    fig, axes = plt.subplots(1, channels + 1, figsize=(2.2 * (channels + 1), 2.4), squeeze=False)
    shown = image.detach().cpu().clamp(0, 1)
    axes[0, 0].imshow(shown[0] if channels == 1 else shown.permute(1, 2, 0), cmap="gray", vmin=0, vmax=1)
    axes[0, 0].set_title(title, fontsize=9)
    limit = float(heatmap.abs().max()) or 1.0
    for c in range(channels):
        axes[0, c + 1].imshow(heatmap[c].cpu(), cmap="bwr", vmin=-limit, vmax=limit)
        axes[0, c + 1].set_title(f"channel {c}" + (f"  (abs max {limit:.2f})" if c == 0 else ""), fontsize=8)
    for ax in axes[0]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def draw_iteration(systems: dict, results: dict, model: str, image: int, iteration: int):
    """The widget's picture: :func:`draw_gax_snapshot` of one image at a stored iteration, with its CO score."""
    system, result = systems[model], results[model]
    image = min(image, len(system.y) - 1)
    co = result.co[image, min(iteration, int(result.iterations[image]))]
    title = f"{model} #{image}, iteration {iteration}, CO {float(co):.1f}"
    return draw_gax_snapshot(system.x[image], result.snapshots[iteration][image], title)


# ------------------------------------------------------------------------------------ where the mass goes


def extreme_intensity_share(x: torch.Tensor, h: torch.Tensor, low: float = 0.1, high: float = 0.9) -> dict:
    """Where a heatmap puts its mass: the share of sum|h| on pixels of extreme intensity (x <= ``low`` or
    x >= ``high``, per element) against the share of such pixels. A ratio above 1 means mass concentrates on
    extreme intensities (the paper's observation "DNN optimizes through extreme intensities")."""
    extreme = ((x <= low) | (x >= high)).float()
    mass = h.abs()
    mass_share = float((mass * extreme).sum() / mass.sum().clamp_min(1e-12))
    pixel_share = float(extreme.mean())
    return {"mass_share": mass_share, "pixel_share": pixel_share,
            "ratio": mass_share / pixel_share if pixel_share > 0 else float("nan")}


def extreme_intensity_table(systems: dict, results: dict) -> pd.DataFrame:
    """:func:`extreme_intensity_share` per system of the final GAX heatmap, of what the optimisation changed
    (``h - h0``, since ``h0 = tanh(x + b)`` already follows the intensity) and of the Saliency AX heatmap."""
    rows = []
    for name, system in systems.items():
        x = system.x.cpu()
        saliency = ax_heatmap(system.model, system.x, "saliency").cpu()
        result = results[name]
        for label, h in (("GAX h", result.heatmaps), ("GAX h - h0", result.heatmaps - result.snapshots[0]),
                         ("Saliency (AX)", saliency)):
            rows.append({"model": name, "heatmap": label, **extreme_intensity_share(x, h)})
    return pd.DataFrame(rows)


# -------------------------------------------------------------------------------------------- the marker


def marker_region(x: torch.Tensor) -> torch.Tensor:
    """Boolean (N,1,H,W) mask of the pixels :func:`xai_nb_utils.data.with_marker` stamps on images shaped like ``x``
    (found by stamping an all-zero and an all-one image, so the glyph's size and place are not repeated here)."""
    blank = lambda value: ImageSplit(torch.full_like(x[:1].cpu(), value), torch.zeros(1, dtype=torch.long))
    changed = (with_marker(blank(0.0)).x != 0.0) | (with_marker(blank(1.0)).x != 1.0)
    return changed.any(1, keepdim=True).expand(len(x), 1, *x.shape[-2:]).to(x.device)


def marker_mass_ratio(h: torch.Tensor, region: torch.Tensor) -> float:
    """Median over the images of the share of sum|h| on the marker divided by the marker's area share."""
    return float(pd.Series(region_share(h, region, magnitude="abs", relative_to_area=True).cpu().numpy()).median())


def marker_study(profile: str, seed: int, device, n: int, co_target: float, **options) -> pd.DataFrame:
    """GAX and Saliency on class-0 test scenes stamped with the spurious marker, for the shortcut-trained model
    (``scene_cnn_marker``) and the clean model (``scene_cnn``), on the first ``n`` correctly predicted scenes: the
    marker mass ratio (above 1: denser on the marker than on average) and the share of GAX runs that converged."""
    marker_model = trained_model("scene_cnn_marker", profile=profile, seed=seed, device=device)
    clean_model = trained_model("scene_cnn", profile=profile, seed=seed, device=device)
    test = marker_model.dataset.test
    stamped = with_marker(test.subset(torch.nonzero(test.y == 0).squeeze(1)))
    rows = []
    for label, trained in (("shortcut model", marker_model), ("clean model", clean_model)):
        system = correctly_predicted(System(label, trained.model, stamped.x.to(device), stamped.y.to(device)), n)
        result = gax(system.model, system.x, system.y, co_target=co_target, **{**options, "snapshot_iterations": ()})
        region = marker_region(system.x)
        rows.append({"model": label, "images": len(system.y),
                     "GAX marker mass ratio (median)": marker_mass_ratio(result.heatmaps.to(device), region),
                     "Saliency marker mass ratio (median)": marker_mass_ratio(
                         ax_heatmap(system.model, system.x, "saliency"), region),
                     "GAX share converged": result.share_converged})
    return pd.DataFrame(rows).set_index("model")
