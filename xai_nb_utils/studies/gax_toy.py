"""Notebook 01 (GAX paper, section 2, Figures 1 and 6, appendix A.1): the 2D rotation toy swept over theta, as
tables and figures, with the paper's quoted ranges beside ours. The toy's equations are in
``methods.toy_rotation``.

The toy is deterministic: the readings of Figures 1 and 6 and the non-negative ranges of x are self-checks of our
maths (an analytic result, no test over grid angles); the ranges the paper quotes are compared with the analytic
ones as a reading, not a claim.
"""
import math
from fractions import Fraction

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from xai_nb_utils.core.exercises import Exercise
from xai_nb_utils.core.params import check_choice, check_float
from xai_nb_utils.methods.toy_rotation import (ACTIVATIONS, as_batch, ascent_gain, closed_form_heatmap, co_score,
                                               gradient_ascent_heatmap, homogeneous_angles, identity_heatmap_score,
                                               rotation, sample, to_sample_basis, true_class)

RANGE_TOLERANCE = 0.05  # units of pi: our non-negative range "agrees" with the paper's within this

# (theta / pi, a1, a2) of the points worked out by hand in the notebook
HAND_POINTS = ((0.0, 1.0, 0.0), (0.5, 1.0, 0.0), (0.25, 0.8, 0.3), (-0.25, 0.8, 0.3))

# The paper's words on where the components of x are non-negative (units of pi), section 2.1 ("around [0, pi/2]"
# for a1 = 0.95) and appendix A.1 ("around [pi/8, 3pi/8]" for a1 = 0.7 as printed in our extract; "around
# [-pi/4, pi/4]" for a1 ~ a2, Figure 6 right). The paper's statements, not our results.
PAPER_NONNEGATIVE_RANGES = [
    {"paper_setting": "a1 = 0.95 (Fig. 1 left)", "a1_from": 0.95, "a1_to": 0.95, "paper_from": 0.0, "paper_to": 0.5,
     "where": "Sec. 2.1"},
    {"paper_setting": "a1 = 0.7 (Fig. 1 middle)", "a1_from": 0.7, "a1_to": 0.7, "paper_from": 0.125, "paper_to": 0.375,
     "where": "App. A.1"},
    {"paper_setting": "a1 ~ a2 (Fig. 6 right)", "a1_from": 0.5, "a1_to": 0.53, "paper_from": -0.25, "paper_to": 0.25,
     "where": "App. A.1"},
]



def check_a1_values(name: str, values) -> list:
    """A notebook parameter listing a1 values: a non-empty list in (0.5, 1] (a2 = 1 - a1, so a1 > 0.5 keeps the
    paper's true class c = 1)."""
    if not isinstance(values, list) or not values:
        raise ValueError(f"parameter {name!r} must be a non-empty list of a1 values in (0.5, 1], got {values!r}")
    for value in values:
        check_float(name, value, minimum=0.5 + 1e-9, maximum=1.0)
    return values


def hand_values(k_eta: float, points=HAND_POINTS) -> pd.DataFrame:
    """x, the eq. (4) heatmap and the ascent gain at the points ``(theta / pi, a1, a2)`` worked out by hand."""
    return pd.DataFrame([
        {"theta/pi": t, "a1": a1, "a2": a2,
         **dict(zip(["x1", "x2"], sample(t * math.pi, a1, a2)[0].tolist())),
         **dict(zip(["h1", "h2"], closed_form_heatmap(t * math.pi, a1, a2, k_eta)[0].tolist())),
         "gain ||grad Delta||^2": ascent_gain(t * math.pi, a1, a2).item()}
        for t, a1, a2 in points])


def autograd_agreement(a1_values, k_eta: float = 1.2, steps: int = 12, n_theta: int = 721,
                       device=None) -> pd.DataFrame:
    """Max |h_autograd - h_closed_form| over a theta sweep in ``[-pi, pi]`` for each ``a1`` (``a2 = 1 - a1``),
    for the ascent on Delta and on the CO score under each activation (``steps`` steps of size ``k_eta / steps``).
    ``positive_share`` is the share of angles where every pre-activation of ``f(x + h)`` stays >= 0 along the
    closed-form path (there LeakyReLU's CO score equals Delta up to a constant); ``max_abs_diff_positive`` is the
    max difference on those angles."""
    theta = torch.linspace(-math.pi, math.pi, n_theta, dtype=torch.float64, device=device)
    rows = []
    for a1 in a1_values:
        x, closed = sample(theta, a1, 1.0 - a1), closed_form_heatmap(theta, a1, 1.0 - a1, k_eta)
        # W^-1 (x + h) is affine in k*eta along the path: (2 a1, 2 a2) at the start, so check both ends
        positive = (to_sample_basis(x + closed, theta) >= 0).all(-1) & (min(a1, 1.0 - a1) >= 0)
        for objective, name in [("delta", "-"), ("co", "leaky_relu"), ("co", "sigmoid")]:
            ascent = gradient_ascent_heatmap(theta, a1, 1.0 - a1, steps, k_eta / steps, objective,
                                             name if objective == "co" else "leaky_relu")
            diff = (ascent - closed).abs().amax(-1)
            rows.append({"a1": a1, "a2": 1.0 - a1, "objective": objective, "activation": name,
                         "max_abs_diff": diff.max().item(), "positive_share": positive.double().mean().item(),
                         "max_abs_diff_positive": diff[positive].max().item() if positive.any() else float("nan")})
    return pd.DataFrame(rows)


def theta_sweep(a1: float, a2: float | None = None, k_eta: float = 1.2, n_theta: int = 721,
                name: str = "leaky_relu", device=None) -> pd.DataFrame:
    """Components ``x1, x2`` and closed-form heatmap ``h1, h2`` (eq. (4)) over ``theta`` in ``[-pi, pi]``, with the
    CO score of that heatmap under activation ``name`` and the ascent gain. ``a2`` defaults to ``1 - a1``."""
    a2 = 1.0 - a1 if a2 is None else a2
    theta = torch.linspace(-math.pi, math.pi, n_theta, dtype=torch.float64, device=device)
    theta, a1_batch, a2_batch = as_batch(theta, a1, a2)
    x = sample(theta, a1_batch, a2_batch)
    h = closed_form_heatmap(theta, a1_batch, a2_batch, k_eta)
    target = true_class(a1_batch, a2_batch)
    columns = {"theta": theta, "x1": x[:, 0], "x2": x[:, 1], "h1": h[:, 0], "h2": h[:, 1],
               "co": co_score(x, h, theta, target, name), "gain": ascent_gain(theta, a1, a2)}
    return pd.DataFrame({k: v.cpu().numpy() for k, v in columns.items()}).assign(a1=a1, a2=a2, k_eta=k_eta)


def plot_sweep(ax, sweep: pd.DataFrame, title: str | None = None, shade_negative: bool = False,
               marker: float | None = None) -> None:
    """Figure 1 style: solid red/blue ``x1``/``x2``, dotted red/blue ``h1``/``h2`` against theta, homogeneous
    angles as grey lines; optionally shade where a component of x is negative and mark one angle."""
    t = sweep["theta"] / math.pi
    ax.plot(t, sweep["x1"], "r-", label="x1")
    ax.plot(t, sweep["x2"], "b-", label="x2")
    ax.plot(t, sweep["h1"], "r:", lw=2, label="h1")
    ax.plot(t, sweep["h2"], "b:", lw=2, label="h2")
    for angle in homogeneous_angles(t.min() * math.pi, t.max() * math.pi):
        ax.axvline(angle / math.pi, color="0.6", lw=0.8, ls="--")
    if shade_negative:
        negative = (sweep["x1"] < 0) | (sweep["x2"] < 0)
        ax.fill_between(t, 0, 1, where=negative, color="0.9", transform=ax.get_xaxis_transform(), zorder=0,
                        label="some x_i < 0")
    if marker is not None:
        ax.axvline(marker / math.pi, color="k", lw=1.2)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("theta / pi   (grey dashed: homogeneous (2k+1) pi/4)")
    row = sweep.iloc[0]
    ax.set_title(title or f"a1 = {row['a1']:.3g}, a2 = {row['a2']:.3g}, k eta = {row['k_eta']:.3g}")
    ax.legend(fontsize=7, loc="lower left")


def plot_figure(a1_values, k_eta: float = 1.2, n_theta: int = 721, shade_negative: bool = False):
    """One Figure 1/6 style panel per ``a1`` (with ``a2 = 1 - a1``); returns ``(fig, sweeps)``."""
    sweeps = [theta_sweep(a1, k_eta=k_eta, n_theta=n_theta) for a1 in a1_values]
    fig, axes = plt.subplots(1, len(sweeps), figsize=(4.5 * len(sweeps), 3.6), sharey=True, squeeze=False)
    for ax, sweep in zip(axes[0], sweeps):
        plot_sweep(ax, sweep, shade_negative=shade_negative)
    fig.tight_layout()
    return fig, sweeps


def sweep_summary(sweep: pd.DataFrame) -> dict:
    """The numbers behind the paper's reading of Figures 1 and 6 for one sweep (angles in units of pi):
    ``h_i / x_i`` at theta = 0 and pi/4, ``h_i - x_i`` at 3 pi/8, ``x1, h1`` at pi (exact, eq. (4)); from the
    sweep grid: the non-negative range of x, the largest ``||h - x|| / ||x||`` at the homogeneous angles, the ascent
    gain (min, max, argmin and its distance to the nearest homogeneous angle), the mean ``||h - x||`` over the
    non-negative range and the smallest LeakyReLU CO score of the heatmap."""
    a1, a2, k_eta = (float(sweep[c].iloc[0]) for c in ("a1", "a2", "k_eta"))
    angles = torch.tensor([0.0, math.pi / 4, 3 * math.pi / 8, math.pi], dtype=torch.float64)
    x, h = sample(angles, a1, a2), closed_form_heatmap(angles, a1, a2, k_eta)
    t = sweep["theta"].to_numpy()
    nonneg = ((sweep["x1"] >= 0) & (sweep["x2"] >= 0)).to_numpy()
    deviation = (((sweep["h1"] - sweep["x1"]) ** 2 + (sweep["h2"] - sweep["x2"]) ** 2) ** 0.5).to_numpy()
    relative = deviation / (a1**2 + a2**2) ** 0.5
    homogeneous = [relative[abs(t - a).argmin()] for a in homogeneous_angles()]
    argmin = float(t[sweep["gain"].to_numpy().argmin()])
    return {
        "a1": a1, "a2": a2,
        "h1_over_x1_at_0": (h[0, 0] / x[0, 0]).item(), "h2_over_x2_at_0": (h[0, 1] / x[0, 1]).item(),
        "h1_over_x1_at_pi4": (h[1, 0] / x[1, 0]).item(), "h2_over_x2_at_pi4": (h[1, 1] / x[1, 1]).item(),
        "h1_minus_x1_at_3pi8": (h[2, 0] - x[2, 0]).item(), "h2_minus_x2_at_3pi8": (h[2, 1] - x[2, 1]).item(),
        "x1_at_pi": x[3, 0].item(), "h1_at_pi": h[3, 0].item(),
        "nonneg_from": float(t[nonneg].min() / math.pi) if nonneg.any() else float("nan"),
        "nonneg_to": float(t[nonneg].max() / math.pi) if nonneg.any() else float("nan"),
        "max_rel_deviation_homogeneous": float(max(homogeneous)),
        "gain_min": float(sweep["gain"].min()), "gain_max": float(sweep["gain"].max()),
        "gain_argmin": argmin / math.pi,
        "gain_argmin_to_homogeneous": min(abs(argmin - a) for a in homogeneous_angles(-2 * math.pi, 2 * math.pi))
        / math.pi,
        "mean_deviation_nonneg": float(deviation[nonneg].mean()) if nonneg.any() else float("nan"),
        "co_min": float(sweep["co"].min()),
    }


def summary_table(sweeps) -> pd.DataFrame:
    """``sweep_summary`` of each sweep, one row per ``a1``."""
    return pd.DataFrame([sweep_summary(sweep) for sweep in sweeps]).set_index("a1")


def compare_nonnegative_ranges(summaries, tolerance: float = RANGE_TOLERANCE) -> pd.DataFrame:
    """Our non-negative ranges of x (from the sweep grid of ``summary_table`` tables, and analytic) beside the
    paper's quoted ones, for the ``a1`` values that match a setting of ``PAPER_NONNEGATIVE_RANGES``; ``agrees``: both
    analytic ends within ``tolerance`` (units of pi) of the quoted ones."""
    summary = pd.concat(summaries)
    rows = []
    for paper in PAPER_NONNEGATIVE_RANGES:
        for a1, ours in summary.iterrows():
            if paper["a1_from"] - 1e-9 <= a1 <= paper["a1_to"] + 1e-9:
                analytic_from, analytic_to = analytic_nonnegative_range(a1, ours.a2)
                agrees = (abs(analytic_from - paper["paper_from"]) <= tolerance
                          and abs(analytic_to - paper["paper_to"]) <= tolerance)
                rows.append({"paper_setting": paper["paper_setting"], "a1": a1, "ours_from": ours.nonneg_from,
                             "ours_to": ours.nonneg_to, "analytic_from": analytic_from, "analytic_to": analytic_to,
                             "paper_from": paper["paper_from"], "paper_to": paper["paper_to"], "agrees": agrees})
    return pd.DataFrame(rows)


def identity_score_table(gaps=(0.5, 1.0, 2.0), offsets=None) -> pd.DataFrame:
    """CO score of ``h = x`` for ``a1 = m + d/2, a2 = m - d/2`` over offsets ``m`` and gaps ``d``, both activations."""
    offsets = torch.linspace(-4, 8, 241, dtype=torch.float64) if offsets is None else torch.as_tensor(offsets)
    frames = []
    for gap in gaps:
        a1, a2 = offsets + gap / 2, offsets - gap / 2
        frames.append(pd.DataFrame({"offset": offsets.numpy(), "gap": gap, "a1": a1.numpy(), "a2": a2.numpy(),
                                    **{name: identity_heatmap_score(a1, a2, name).numpy() for name in ACTIVATIONS}}))
    return pd.concat(frames, ignore_index=True)


def plot_activation_comparison(table: pd.DataFrame, a1: float = 0.95, k_eta: float = 1.2, n_theta: int = 721):
    """Left: CO score of ``h = x`` against the offset of (a1, a2) for each gap, LeakyReLU (solid) vs sigmoid
    (dashed). Right: CO score of the eq. (4) heatmap over theta for both activations. Returns the figure."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    for (gap, rows), color in zip(table.groupby("gap"), plt.cm.viridis([0.1, 0.5, 0.85])):
        left.plot(rows["offset"], rows["leaky_relu"], "-", color=color, label=f"LeakyReLU, a1 - a2 = {gap:g}")
        left.plot(rows["offset"], rows["sigmoid"], "--", color=color, label=f"sigmoid, a1 - a2 = {gap:g}")
    left.set_xlabel("offset m = (a1 + a2) / 2")
    left.set_ylabel("s_co(x, h = x)")
    left.set_title("h = x: LeakyReLU gives a1 - a2, sigmoid saturates")
    left.legend(fontsize=7)
    for name, style in zip(ACTIVATIONS, ("-", "--")):
        sweep = theta_sweep(a1, k_eta=k_eta, n_theta=n_theta, name=name)
        right.plot(sweep["theta"] / math.pi, sweep["co"], style, label=f"{name}: GAX heatmap eq. (4)")
    right.set_xlabel("theta / pi")
    right.set_ylabel("s_co(x, h)")
    right.set_title(f"CO score of the eq. (4) heatmap, a1 = {a1:g}, k eta = {k_eta:g}")
    right.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_live_state(theta: float, a1: float, k_eta: float, name: str = "leaky_relu", steps: int = 12,
                    n_theta: int = 361):
    """The widget's picture for one setting (``a2 = 1 - a1``). Left: the Figure 1 sweep with the current angle
    marked and, dashed, the heatmap of an autograd ascent on the CO score under ``name``. Right: x, the eq. (4)
    heatmap and that CO-ascent heatmap as arrows in the plane, with their CO scores."""
    check_choice("activation", name, ACTIVATIONS)
    sweep = theta_sweep(a1, k_eta=k_eta, n_theta=n_theta, name=name)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    plot_sweep(left, sweep, marker=theta)
    co_ascent = gradient_ascent_heatmap(torch.tensor(sweep["theta"].to_numpy()), a1, 1 - a1, steps,
                                        k_eta / steps, "co", name)
    left.plot(sweep["theta"] / math.pi, co_ascent[:, 0], "r--", lw=0.8, label=f"h1 ascent on s_co ({name})")
    left.plot(sweep["theta"] / math.pi, co_ascent[:, 1], "b--", lw=0.8, label=f"h2 ascent on s_co ({name})")
    left.legend(fontsize=6, loc="lower left")
    x = sample(theta, a1, 1 - a1)
    target = true_class(torch.tensor([a1]), torch.tensor([1 - a1]))
    vectors = {"x": (x, "k"), "h eq. (4)": (closed_form_heatmap(theta, a1, 1 - a1, k_eta), "tab:green"),
               f"h ascent on s_co ({name})": (gradient_ascent_heatmap(theta, a1, 1 - a1, steps, k_eta / steps, "co",
                                                                      name), "tab:orange")}
    for label, (v, color) in vectors.items():
        score = co_score(x, v, theta, target, name).item()
        right.annotate("", xy=tuple(v[0].tolist()), xytext=(0, 0), arrowprops={"arrowstyle": "->", "color": color})
        right.plot([], [], color=color, label=f"{label}: s_co = {score:.3f}")
    basis = rotation(torch.tensor([theta], dtype=torch.float64))[0]
    for i in range(2):
        right.plot([0, basis[0, i]], [0, basis[1, i]], ":", color="0.5")
        right.annotate(f"x({i + 1})", tuple(basis[:, i].tolist()), color="0.4")
    lim = max(1.2, float(max(v[0].abs().max() for v, _ in vectors.values())) * 1.1)
    right.set_xlim(-lim, lim)
    right.set_ylim(-lim, lim)
    right.set_aspect("equal")
    right.axhline(0, color="k", lw=0.5)
    right.axvline(0, color="k", lw=0.5)
    homogeneous = min(abs(theta - a) for a in homogeneous_angles(-2 * math.pi, 2 * math.pi)) < 1e-9
    right.set_title(f"theta = {theta / math.pi:.3f} pi" + (" (homogeneous)" if homogeneous else "")
                    + f", activation {name}")
    right.set_xlabel("pixel 1")
    right.set_ylabel("pixel 2")
    right.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def gain_table(summaries) -> pd.DataFrame:
    """The ascent-gain columns of :func:`summary_table` tables, one row per ``a1`` (sorted, duplicates dropped)."""
    gain = pd.concat(summaries)[["a2", "gain_min", "gain_max", "gain_argmin", "gain_argmin_to_homogeneous"]]
    return gain[~gain.index.duplicated()].sort_index()


def describe_ranges(ranges: pd.DataFrame) -> str:
    """One line per ``a1`` of :func:`compare_nonnegative_ranges`, flagging a quoted range whose lower end looks like
    ours with the sign lost."""
    lines = []
    for row in ranges.drop_duplicates("a1").itertuples():
        lines.append(f"{row.paper_setting}, a1 = {row.a1}: analytic [{row.analytic_from:+.3f}, {row.analytic_to:+.3f}] pi, paper "
                     f"[{row.paper_from:+.3f}, {row.paper_to:+.3f}] pi -> {'agrees' if row.agrees else 'DIFFERS'} "
                     f"(within {RANGE_TOLERANCE:g} pi)")
        if (not row.agrees and abs(row.analytic_from + row.paper_from) <= RANGE_TOLERANCE
                and abs(row.analytic_to - row.paper_to) <= RANGE_TOLERANCE):
            lines.append("   ours starts at minus the quoted lower end: a minus sign may be missing in the quoted "
                         "range")
    return "\n".join(lines)


def pi_text(units_of_pi: float) -> str:
    """An angle in units of pi as text: 0.375 -> "3pi/8", -0.25 -> "-pi/4", 0 -> "0"."""
    fraction = Fraction(units_of_pi).limit_denominator(64)
    if fraction == 0:
        return "0"
    numerator = {1: "", -1: "-"}.get(fraction.numerator, str(fraction.numerator))
    return f"{numerator}pi" + (f"/{fraction.denominator}" if fraction.denominator != 1 else "")


def analytic_nonnegative_range(a1: float, a2: float) -> tuple:
    """The angles (units of pi) where both components of ``x = a1 W y1 + a2 W y2`` are >= 0, for a1, a2 > 0:
    ``x1 = a1 cos - a2 sin >= 0`` up to ``atan(a1 / a2)`` and ``x2 = a1 sin + a2 cos >= 0`` from
    ``-atan(a2 / a1)``."""
    return -math.atan2(a2, a1) / math.pi, math.atan2(a1, a2) / math.pi


def range_self_check(ranges: pd.DataFrame, n_theta: int) -> tuple:
    """``(passed, detail)``: the non-negative range found on the sweep grid (:func:`compare_nonnegative_ranges`)
    equals :func:`analytic_nonnegative_range` to within one grid step, for every ``a1`` compared."""
    step = 2.0 / (n_theta - 1)
    rows = ranges.drop_duplicates("a1")
    errors = [max(abs(row.ours_from - row.analytic_from), abs(row.ours_to - row.analytic_to)) for row in rows.itertuples()]
    return max(errors) <= step, (f"largest difference {max(errors):.4f} pi, grid step {step:.4f} pi, over a1 = "
                                 + ", ".join(f"{a1:g}" for a1 in rows["a1"]))


def finding(agreement: pd.DataFrame, claims: list, ranges: pd.DataFrame) -> str:
    """The notebook's finding, one sentence from the autograd comparison, the self-checks and the ranges."""
    on_delta = agreement[agreement.objective == "delta"]["max_abs_diff"].max()
    held = sum(claim["passed"] for claim in claims)
    rows = ranges.drop_duplicates("a1")
    return (f"The closed form eq. (4) equals autograd gradient ascent to {on_delta:.1e}, {held} of {len(claims)} "
            f"self-checks of the paper's reading of Figures 1 and 6 hold, and {int(rows['agrees'].sum())} of "
            f"{len(rows)} quoted non-negative ranges agree with the analytic ones within {RANGE_TOLERANCE:g} pi.")


def identity_heatmap_stats(table: pd.DataFrame) -> dict:
    """From :func:`identity_score_table`: the largest LeakyReLU deviation from ``a1 - a2`` (where a2 >= 0), the
    largest sigmoid score relative to ``a1 - a2`` once the offset is >= 6, and the sigmoid's extreme scores."""
    nonneg = table[table.a2 >= 0]
    far = table[table.offset >= 6]
    return {"leaky_max_error_vs_a1_minus_a2": float((nonneg.leaky_relu - (nonneg.a1 - nonneg.a2)).abs().max()),
            "sigmoid_max_relative_score_offset_ge_6": float((far.sigmoid.abs() / far.gap).max()),
            "sigmoid_min_score_nonneg": float(nonneg.sigmoid.min()),
            "sigmoid_max_score": float(table.sigmoid.max())}


def co_by_activation(a1: float, k_eta: float, n_theta: int) -> pd.DataFrame:
    """The CO score of the eq. (4) heatmap over theta (rows) under each activation (columns)."""
    return pd.DataFrame({name: theta_sweep(a1, k_eta=k_eta, n_theta=n_theta, name=name)["co"] for name in ACTIVATIONS})


def co_range(scores: pd.DataFrame) -> dict:
    """Min, mean and max of each column of :func:`co_by_activation`."""
    return {name: {"min": float(co.min()), "mean": float(co.mean()), "max": float(co.max())}
            for name, co in scores.items()}


def exercises(gain: pd.DataFrame, co_ranges: dict, k_eta: float, a1: float) -> list:
    """The notebook's "try it" exercises, answered from this run's results."""
    def gain_answer():
        nearest = gain.loc[min(gain.index)]
        return (f"for a1 = {nearest.name} (a2 = {nearest.a2:.2f}) ||grad Delta||^2 (the ascent's gain per unit of k eta) falls to "
                f"{nearest.gain_min:.4f} at theta = {nearest.gain_argmin:+.3f} pi, {nearest.gain_argmin_to_homogeneous:.3f} "
                f"pi from a homogeneous angle: the heatmap is then almost x itself.")

    def k_eta_answer():
        means = ", ".join(f"{name} {values['mean']:.3f} (range {values['min']:.3f} to {values['max']:.3f})"
                          for name, values in co_ranges.items())
        return f"with k eta = {k_eta:g} the CO score of the GAX heatmap (a1 = {a1}) over the rotation: {means}."

    return [
        Exercise("With the widget, bring a1 close to 0.5 and sweep theta/pi: at which angle does gradient ascent "
                 "stop changing the heatmap?", gain_answer),
        Exercise("Halve the ascent (k eta = 0.6): how do the CO scores of the GAX heatmap change under LeakyReLU "
                 "and under the sigmoid?", k_eta_answer, {"k_eta": 0.6}),
    ]
