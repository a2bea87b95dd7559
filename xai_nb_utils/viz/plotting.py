"""Figures: saliency overlays, method galleries, bounding boxes, and saving to ``figures/``."""
import matplotlib.pyplot as plt
import numpy as np
import torch

from xai_nb_utils.core.paths import figures_dir


def to_image(x: torch.Tensor) -> np.ndarray:
    """(C,H,W) tensor in [0,1] -> (H,W,3) or (H,W) array for imshow."""
    array = x.detach().cpu().float().clamp(0, 1).numpy()
    return array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0)


def to_heat(saliency: torch.Tensor) -> np.ndarray:
    """(C,H,W) or (H,W) map -> (H,W) array, channels summed."""
    array = saliency.detach().cpu().float()
    return (array.sum(0) if array.dim() == 3 else array).numpy()


def overlay(ax, image: torch.Tensor, saliency: torch.Tensor | None = None, title: str = "", cmap: str = "jet",
            alpha: float = 0.5, box=None):
    """Show ``image`` with ``saliency`` on top (and an optional (x0,y0,x1,y1) box)."""
    shown = to_image(image)
    ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None, vmin=0, vmax=1)
    if saliency is not None:
        ax.imshow(to_heat(saliency), cmap=cmap, alpha=alpha)
    if box is not None:
        draw_box(ax, box)
    ax.set_title(title, fontsize=9)
    ax.axis("off")


def draw_box(ax, box, colour: str = "lime"):
    x0, y0, x1, y1 = [float(v) for v in box]
    ax.add_patch(plt.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor=colour, linewidth=1.5))


def signed_map(ax, saliency: torch.Tensor, title: str = ""):
    """A signed map in red (positive) / blue (negative), symmetric around zero by its absolute maximum."""
    heat = to_heat(saliency)
    limit = float(np.abs(heat).max()) or 1.0
    ax.imshow(heat, cmap="bwr", vmin=-limit, vmax=limit)
    ax.set_title(title, fontsize=9)
    ax.axis("off")


def show_maps(images: torch.Tensor, maps: dict, row_titles=None, boxes=None, cell: float = 1.8):
    """A grid: one row per image, the image then one overlay per method in ``maps`` (name -> (N,.,H,W))."""
    n, names = len(images), list(maps)
    fig, axes = plt.subplots(n, len(names) + 1, figsize=(cell * (len(names) + 1), cell * n), squeeze=False)
    for i in range(n):
        box = None if boxes is None else boxes[i]
        overlay(axes[i, 0], images[i], title="" if row_titles is None else row_titles[i], box=box)
        for j, name in enumerate(names):
            overlay(axes[i, j + 1], images[i], maps[name][i], title=name if i == 0 else "", box=box)
    fig.tight_layout()
    return fig


def save_figure(fig, name: str, dpi: int = 110):
    """Write ``figures/<name>.png`` and ``figures/<name>.pdf`` (vector lines and text, for papers); return the PNG's
    path."""
    path = figures_dir() / f"{name}.png"
    for target in (path, path.with_suffix(".pdf")):
        fig.savefig(target, dpi=dpi, bbox_inches="tight")
    return path


def show_samples(images: torch.Tensor, titles=None, boxes=None, ncols: int = 8, cell: float = 1.4):
    """A grid of images with optional titles and (x0,y0,x1,y1) boxes drawn."""
    n = len(images)
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell * ncols, cell * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i < n:
            overlay(ax, images[i], title="" if titles is None else titles[i], box=None if boxes is None else boxes[i])
        else:
            ax.axis("off")
    fig.tight_layout()
    return fig


def maps_for_display(method: str, model, x: torch.Tensor, target, **kwargs) -> torch.Tensor:
    """``explain(method, ...)`` as (N,1,H,W) for overlays: gradient methods' channels reduced by abs-sum."""
    from xai_nb_utils.methods.registry import explain, method_spec
    from xai_nb_utils.core.tensors import reduce_channels

    maps = explain(method, model, x, target, **kwargs)
    return reduce_channels(maps) if method_spec(method).channels == "input" else maps


def method_gallery(model, x: torch.Tensor, target, methods, row_titles=None, boxes=None):
    """One row per image, one overlay per method (maps for ``target``); returns (figure, {method: maps})."""
    maps = {method: maps_for_display(method, model, x, target) for method in methods}
    return show_maps(x, maps, row_titles=row_titles, boxes=boxes), maps


def table_heatmap(table, title: str, cmap: str = "viridis_r", fmt: str = "{:.0f}", vmin=None, vmax=None,
                  cell: float = 0.45):
    """A labelled heatmap of a DataFrame (rows x columns) with each value written in its cell (NaN left blank)."""
    values = table.to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(1.5 + cell * values.shape[1], 1.0 + cell * values.shape[0]))
    image = ax.imshow(values, cmap=cmap, aspect="auto", vmin=vmin, vmax=vmax)
    ax.set_xticks(range(values.shape[1]), [str(c) for c in table.columns], rotation=60, ha="right")
    ax.set_yticks(range(values.shape[0]), [str(i) for i in table.index])
    for (row, column), value in np.ndenumerate(values):
        if np.isfinite(value):
            ax.text(column, row, fmt.format(value), ha="center", va="center", fontsize=7, color="white")
    fig.colorbar(image, ax=ax, fraction=0.03)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def ranking_with_maps(board, image: torch.Tensor, maps: dict, title: str, n_maps: int = 4):
    """A metric's ranking (means with their CIs, best first; rows of ``board``: label, mean, ci_low, ci_high, rank)
    beside the maps of the first ``n_maps`` methods of ``maps`` (method label -> (H, W) map) over ``image``."""
    fig = plt.figure(figsize=(11, 0.3 * len(board) + 1.5))
    grid = fig.add_gridspec(n_maps, 2, width_ratios=[2.2, 1])
    ax = fig.add_subplot(grid[:, 0])
    y = np.arange(len(board))
    ax.errorbar(board["mean"], y, xerr=[board["mean"] - board["ci_low"], board["ci_high"] - board["mean"]],
                fmt="o", capsize=2)
    ax.set_yticks(y, [f"{r}. {name}" for r, name in zip(board["rank"], board["label"])])
    ax.invert_yaxis()
    ax.set_title(title)
    for k, (name, saliency) in enumerate(list(maps.items())[:n_maps]):
        overlay(fig.add_subplot(grid[k, 1]), image, torch.as_tensor(saliency)[None], title=name)
    fig.tight_layout()
    return fig


def critical_difference_diagram(ax, mean_ranks, critical_difference: float, cliques, title: str = "",
                                labels: dict | None = None, highlight=()):
    """A critical-difference diagram (Demsar 2006) on ``ax``: the methods' mean ranks (a Series, best first) on an
    axis, the better half labelled on the left and the rest on the right, a bar of length ``critical_difference``,
    and a thick line under each clique (methods whose mean ranks are within CD). ``highlight`` (e.g. controls)
    is drawn in red."""
    labels = labels or {}
    names, ranks = list(mean_ranks.index), mean_ranks.to_numpy(dtype=float)
    k, half = len(names), -(-len(names) // 2)
    low, high = 1, max(k, 2)
    step = 1.0
    ax.plot([low, high], [0, 0], color="black", lw=1)
    for tick in range(low, high + 1):
        ax.plot([tick, tick], [0, 0.15], color="black", lw=0.8)
        ax.text(tick, 0.3, str(tick), ha="center", va="bottom", fontsize=6)
    ax.plot([low, low + critical_difference], [1.0, 1.0], color="black", lw=2)
    ax.text(low + critical_difference / 2, 1.15, f"CD = {critical_difference:.2f}", ha="center", fontsize=7)
    for i, (name, rank) in enumerate(zip(names, ranks)):
        left = i < half
        y = -step * ((i + 1) if left else (k - i))
        edge = low - 0.5 if left else high + 0.5
        colour = "tab:red" if name in highlight else "black"
        ax.plot([rank, rank, edge], [0, y, y], color=colour, lw=0.6)
        ax.text(edge - 0.1 if left else edge + 0.1, y, f"{labels.get(name, name)} ({rank:.1f})",
                ha="right" if left else "left", va="center", fontsize=6, color=colour)
    for c, clique in enumerate(cliques):
        values = mean_ranks[clique]
        y = -0.25 - 0.2 * c
        ax.plot([values.min() - 0.05, values.max() + 0.05], [y, y], color="tab:blue", lw=3, alpha=0.7)
    ax.set_xlim(low - 0.5 - 0.35 * k, high + 0.5 + 0.35 * k)
    ax.set_ylim(-step * (half + 1), 1.6)
    ax.axis("off")
    ax.set_title(title, fontsize=9)
    return ax
