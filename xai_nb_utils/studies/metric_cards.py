"""A report card per metric on the ground-truth testbed (notebook 08): can the metric be trusted to rank maps?

A trustworthy metric, on scenes whose evidence is known, must order

    the ground-truth mask > the best method > a random map > the inverted ground truth

(three paired t-tests on the same images, Holm-corrected together), must not be won or tied by a control that
carries no information about the model (a random map, Fake-CAM, an edge filter, a centre prior, a blurred copy of
the best map: each paired against the best method), and its order of the methods should follow their agreement with
the ground truth (Spearman's rho across the real methods between the metric's mean and the mean ground-truth
agreement, reported; the card asks for rho > 0).
"""
import pandas as pd
from scipy import stats

from xai_nb_utils.core.claims import ALPHA, holm
from xai_nb_utils.metrics.statistics import paired_t

#: the three links of the order a trustworthy metric gives: (label, better, worse)
ORDER = (("ground truth > best method", "gt_mask", "best"), ("best method > random", "best", "random"),
         ("random > inverted ground truth", "random", "gt_inverse"))
#: controls without information about the evidence (the ground-truth controls are part of the order instead)
UNINFORMED_CONTROLS = ("random", "fake_cam", "edge_sobel", "centre_prior", "blurred_best")


def _paired(values: pd.DataFrame, a: str, b: str, sign: float):
    """Paired t of ``a`` - ``b`` in the metric's better direction on the images both have."""
    both = values[[a, b]].dropna()
    return paired_t(sign * both[a].to_numpy(), sign * both[b].to_numpy())


def report_card(metric: str, values: pd.DataFrame, higher_is_better: bool, agreement: pd.Series,
                controls=UNINFORMED_CONTROLS + ("gt_mask", "gt_inverse"), alpha: float = ALPHA) -> dict:
    """The card of ``metric`` from its per-image ``values`` (images x methods, NaN where a method did not run;
    controls named as in :data:`ORDER` and :data:`UNINFORMED_CONTROLS`) and each real method's mean
    ground-truth ``agreement``. The estimates are in the metric's better direction (positive = in order)."""
    sign = 1.0 if higher_is_better else -1.0
    real = [m for m in values.columns if m not in controls]
    best = (sign * values[real].mean()).idxmax()
    names = {"best": best}
    links = {text: _paired(values, names.get(a, a), names.get(b, b), sign) for text, a, b in ORDER}
    adjusted, _ = holm([r.p_value() for r in links.values()], alpha)
    in_order = {text: bool(r.estimate > 0 and p < alpha) for (text, r), p in zip(links.items(), adjusted)}
    gamed = []
    for control in UNINFORMED_CONTROLS:
        if control in values.columns:
            result = _paired(values, best, control, sign)
            if not (result.estimate > 0 and result.p_value() < alpha):
                gamed.append(control)
    shared = [m for m in real if m in agreement.index]
    means = sign * values[shared].mean()
    constant = means.nunique() < 2 or agreement[shared].nunique() < 2  # no order to correlate: rho taken as 0
    rho, rho_p = (0.0, 1.0) if constant else stats.spearmanr(means, agreement[shared])
    failures = [f"not {text}" for text, ok in in_order.items() if not ok]
    failures += [f"gamed by {', '.join(gamed)}"] if gamed else []
    failures += [f"rho with the ground-truth agreement {rho:+.2f} <= 0"] if rho <= 0 else []
    card = {"metric": metric, "best method": best}
    for (text, result), p in zip(links.items(), adjusted):
        card[f"{text}: difference"] = result.estimate
        card[f"{text}: Holm p"] = p
        card[f"{text}: n"] = result.n
    card.update({"order holds": all(in_order.values()), "gamed by": ", ".join(gamed),
                 "spearman rho with ground truth": float(rho), "spearman p": float(rho_p),
                 "methods": len(shared), "passed": not failures, "why not": "; ".join(failures)})
    return card


def headroom(values: pd.DataFrame, higher_is_better: bool, controls) -> dict:
    """How much room the metric leaves on the testbed, in its better direction: ground truth - random and best
    real method - random (means over each one's images)."""
    sign = 1.0 if higher_is_better else -1.0
    means = sign * values.mean()
    best = means[[m for m in values.columns if m not in controls]].max()
    return {"ground truth - random": float(means["gt_mask"] - means["random"]),
            "best method - random": float(best - means["random"])}
