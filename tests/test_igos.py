"""I-GOS / iGOS++: hand-computed regularisers, the masking operator, the Armijo rule, a model whose ideal
attribution is known (it only looks at one square), batch independence, and the study's evaluation."""
import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats
from torch import nn

from xai_nb_utils.core.results import Recorder, load_results
from xai_nb_utils.core.tensors import perturb, total_variation
from xai_nb_utils.data.embedded import ImageSplit
from xai_nb_utils.methods import igos
from xai_nb_utils.metrics.perturbation import PerturbationCurves
from xai_nb_utils.methods.registry import explain
from xai_nb_utils.studies import igos_ablations as study
from xai_nb_utils.studies import igos_claims as claims

SIDE = 32
REGION = (slice(6, 14), slice(18, 26))  # rows, cols of the only pixels the model reads


class RegionModel(nn.Module):
    """Two classes; logit_0 = 12 * (mean over the region of 4 (x - 0.5)^2 - 0.5), logit_1 = 0.

    A 0/1 checkerboard on the region gives logit 6; its blur (about 0.5 everywhere) about -6. Only the region
    matters, so the ideal attribution is the region.
    """

    def forward(self, x):
        contrast = (4 * (x[:, :, REGION[0], REGION[1]] - 0.5) ** 2).mean((1, 2, 3))
        return torch.stack([12 * (contrast - 0.5), torch.zeros_like(contrast)], 1)


def checkerboard(rows, cols):
    return ((torch.arange(rows)[:, None] + torch.arange(cols)[None, :]) % 2).float()


def region_images(n=2):
    """A checkerboard exactly on the region plus checkerboard distractors the model ignores, on grey."""
    x = torch.full((n, 1, SIDE, SIDE), 0.5)
    x[:, 0, REGION[0], REGION[1]] = checkerboard(8, 8)
    x[0, 0, 18:28, 3:13] = checkerboard(10, 10)
    x[-1, 0, 20:30, 18:28] = checkerboard(10, 10)
    return x


def region_mask():
    mask = torch.zeros(1, 1, SIDE, SIDE, dtype=torch.bool)
    mask[:, :, REGION[0], REGION[1]] = True
    return mask


def test_perturb_is_the_convex_combination():
    image, baseline = torch.full((1, 3, 2, 2), 0.8), torch.full((1, 3, 2, 2), 0.2)
    mask = torch.tensor([[[[1.0, 0.0], [0.25, 0.5]]]])
    expected = torch.tensor([[0.8, 0.2], [0.35, 0.5]]).expand(1, 3, 2, 2)
    assert torch.allclose(perturb(image, mask, baseline), expected)


def test_total_variation_of_a_single_bump():
    mask = torch.zeros(1, 1, 3, 3)
    mask[0, 0, 1, 1] = 1.0
    # 2 of the 6 vertical and 2 of the 6 horizontal differences are +-1: 2/6 + 2/6
    assert total_variation(mask, beta=2).item() == pytest.approx(2 / 3)
    mask[0, 0, 1, 1] = 0.5
    assert total_variation(mask, beta=2).item() == pytest.approx(2 * (2 * 0.25) / 6)
    assert total_variation(torch.full((1, 1, 4, 4), 0.3)).item() == 0.0


def test_bilateral_tv_equals_tv_on_a_flat_image_and_ignores_edges_that_follow_the_image():
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., 2:] = 1.0  # a vertical edge: 4 of 12 horizontal differences are 1
    flat = torch.full((1, 3, 8, 8), 0.5)
    tv = total_variation(mask)
    assert tv.item() == pytest.approx(4 / 12)
    assert igos.bilateral_total_variation(mask, flat).item() == pytest.approx(tv.item())
    image = torch.zeros(1, 1, 4, 4)
    image[..., 2:] = 1.0  # the same edge in the image: weight exp(-1/0.01)
    assert igos.bilateral_total_variation(mask, image, sigma=0.01).item() == pytest.approx(
        4 / 12 * math.exp(-100), abs=1e-12)
    across = image.transpose(-1, -2)  # an image edge across the mask edge does not protect it
    assert igos.bilateral_total_variation(mask, across).item() == pytest.approx(4 / 12)


def test_regularizer_combines_l1_and_smoothness():
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., 2:] = 1.0
    image = torch.full((1, 1, 4, 4), 0.5)
    value = igos.regularizer(mask, image, lambda1=2.0, lambda2=3.0, smoothness="tv")
    assert value.item() == pytest.approx(2.0 * 0.5 + 3.0 * 4 / 12)
    # on a flat image BTV = TV, so "btv" (the mean of TV and BTV) equals "tv"
    assert igos.regularizer(mask, image, 2.0, 3.0, "btv").item() == pytest.approx(value.item())
    # at the initial mask of ones the L1 term still pulls every element down by lambda1 / (number of elements)
    ones = torch.ones(1, 1, 4, 4, requires_grad=True)
    igos.regularizer(ones, image, 2.0, 3.0, "btv").sum().backward()
    assert torch.allclose(ones.grad, torch.full_like(ones, -2.0 / 16))


def test_blurred_baseline_scales_the_authors_kernel_and_keeps_constants():
    x = torch.full((1, 3, 64, 64), 0.3)
    assert torch.allclose(igos.blurred_baseline(x), x, atol=1e-6)
    spike = torch.zeros(1, 1, 224, 224)
    spike[..., 112, 112] = 1.0
    blurred = igos.blurred_baseline(spike)  # kernel 51: support of the blur is 51 x 51
    assert (blurred[0, 0] > 0).sum().item() == 51 * 51


def test_upsample_aligns_corners():
    mask = torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]]])
    up = igos.upsample_mask(mask, (3, 3))
    assert up[0, 0, 0, 0] == 0.0 and up[0, 0, 0, 2] == 1.0 and up[0, 0, 1, 1].item() == pytest.approx(0.5)


def test_path_score_at_the_mask_is_the_class_probability():
    model, x = RegionModel(), region_images()
    baseline = igos.blurred_baseline(x)
    target = torch.zeros(2, dtype=torch.long)
    mask = torch.rand(2, 1, SIDE, SIDE, generator=torch.Generator().manual_seed(0))
    score = igos.path_score(model, x, baseline, target, mask, torch.ones(1), None)
    direct = model(perturb(x, mask, baseline)).softmax(1)[:, 0]
    assert torch.allclose(score, direct)
    # the deletion path at alpha -> 0 is the baseline, the insertion path at alpha -> 0 the image
    assert torch.allclose(igos.path_score(model, x, baseline, target, mask, torch.zeros(1), None),
                          model(baseline).softmax(1)[:, 0])
    assert torch.allclose(igos.path_score(model, baseline, x, target, mask, torch.zeros(1), None),
                          model(x).softmax(1)[:, 0])


def test_armijo_line_search_returns_the_largest_qualifying_step():
    centre = torch.tensor([0.2, 0.9]).view(2, 1, 1, 1)
    objective = lambda m, index: ((m - centre[index]) ** 2).flatten(1).sum(1) * 50
    masks = torch.ones(2, 1, 1, 1)
    direction = 100 * (masks - centre)  # the gradient
    base = objective(masks, torch.arange(2))
    beta, decay = 0.3, 0.5
    steps = igos.armijo_line_search(objective, masks, direction, base, 1.0, beta, decay, 1e-5)
    for i in range(2):
        trial = lambda a: objective((masks[i:i + 1] - a * direction[i:i + 1]).clamp(0, 1), torch.tensor([i]))
        bound = lambda a: base[i] - a * beta * direction[i].pow(2).sum()
        assert trial(steps[i]) <= bound(steps[i])
        assert trial(steps[i] / decay) > bound(steps[i] / decay)  # the previous, larger step failed
    # an ascent direction never satisfies the condition: no step
    assert igos.armijo_line_search(objective, masks, -direction, base, 1.0, beta, decay, 1e-3).eq(0).all()


def test_each_accepted_step_satisfies_armijo_so_the_objective_never_rises():
    model, x = RegionModel(), region_images()
    result = igos.optimize_masks(model, x, torch.zeros(2, dtype=torch.long), mask_size=8, iterations=6,
                                 ig_steps=4, noise_std=0.0)
    history = result.objective_history
    assert (history[1:] <= history[:-1] + 1e-6).all()
    assert (result.step_sizes > 0).any()


@pytest.mark.parametrize("method", ["igos", "igos_pp"])
@pytest.mark.parametrize("mask_size", [16, SIDE])
def test_mask_concentrates_on_the_only_region_the_model_reads(method, mask_size):
    x = region_images()
    # 12 iterations: with 8, I-GOS at full resolution had covered only part of the region for 4 of 10 seeds
    maps = explain(method, RegionModel(), x, 0, mask_size=mask_size, iterations=12, ig_steps=5, seed=0)
    assert maps.shape == (2, 1, SIDE, SIDE)
    assert maps.min() >= 0 and maps.max() <= 1
    inside = region_mask().expand_as(maps)
    for i in range(2):
        region, rest = maps[i][inside[i]], maps[i][~inside[i]]
        # ROC AUC of "region pixel vs other pixel" by saliency: 1 = every region pixel ranks above the rest
        auc = (region[:, None] > rest[None, :]).float().mean() + 0.5 * (region[:, None] == rest[None, :]).float().mean()
        share = region.sum() / maps[i].sum()  # of the saliency mass; the region is 1/16 of the image
        assert auc > 0.95 and share > 4 / 16, (auc, share)


def test_iGOS_pp_returns_both_masks_and_their_product():
    x = region_images()
    result = igos.optimize_masks(RegionModel(), x, torch.zeros(2, dtype=torch.long), mask_size=8, iterations=3,
                                 ig_steps=3)
    assert torch.allclose(result.mask, result.deletion_mask * result.insertion_mask)
    assert torch.allclose(result.maps, 1 - igos.upsample_mask(result.mask, (SIDE, SIDE)))
    assert result.objective_history.shape == (3, 2) and result.final_objective.shape == (2,)
    assert torch.isfinite(result.final_objective).all()


def test_batching_does_not_couple_images_and_seeds_repeat():
    model, x, target = RegionModel(), region_images(), torch.zeros(2, dtype=torch.long)
    kwargs = dict(mask_size=8, iterations=3, ig_steps=3, noise_std=0.0)
    both = igos.optimize_masks(model, x, target, **kwargs).mask
    alone = igos.optimize_masks(model, x[1:], target[1:], **kwargs).mask
    assert torch.allclose(both[1:], alone, atol=1e-6)
    noisy = lambda: igos.optimize_masks(model, x, target, mask_size=8, iterations=2, ig_steps=3, seed=3).mask
    assert torch.equal(noisy(), noisy())


def four_different_images():
    x = region_images(4)
    x[1, 0, 2:6, 2:6] = 1.0
    x[2, 0, 26:30, 2:8] = 0.0
    return x


@pytest.mark.parametrize("method", ["igos", "igos_pp"])
def test_noisy_maps_of_a_batch_equal_the_maps_of_each_image_alone(method):
    """Each image draws its noise from its own generator and has its own line search: a batch of 4 gives the
    maps of 4 calls of one (before, the batch shared one generator and an image's map depended on its batch)."""
    model, x = RegionModel(), four_different_images()
    target = torch.zeros(4, dtype=torch.long)
    kwargs = dict(mask_size=8, iterations=3, ig_steps=3, noise_std=0.2, seed=5)
    batch = explain(method, model, x, target, **kwargs)
    singles = torch.cat([explain(method, model, x[i:i + 1], target[i:i + 1], **kwargs) for i in range(4)])
    torch.testing.assert_close(batch, singles, rtol=0, atol=1e-5)
    assert not torch.equal(explain(method, model, x, target, **{**kwargs, "seed": 6}), batch)


@pytest.mark.parametrize("method, objective", [("igos", "deletion"), ("igos_pp", "bilateral")])
def test_evaluate_method_honours_both_the_method_and_the_settings(method, objective):
    """The study's evaluation once ran iGOS++'s settings whatever ``method`` was when ``settings`` were given."""
    model, x = RegionModel(), region_images()
    target = torch.zeros(2, dtype=torch.long)
    entry = study.evaluate_method(model, x, target, method, resolution=8, settings=dict(iterations=3, ig_steps=3),
                                  seed=1)
    assert entry.result.settings["objective"] == objective
    assert entry.result.settings["iterations"] == 3 and entry.result.settings["mask_size"] == 8
    expected = explain(method, model, x, target, mask_size=8, iterations=3, ig_steps=3, seed=1)
    torch.testing.assert_close(entry.maps, expected)
    assert set(entry.curves) == {"deletion", "insertion"} and entry.seconds_per_image > 0


@pytest.mark.parametrize("name", list(study.ABLATIONS))
def test_every_ablation_row_runs(name):
    result = igos.optimize_masks(RegionModel(), region_images(1), torch.zeros(1, dtype=torch.long),
                                 **{**study.row_settings(name), "mask_size": 4, "iterations": 2, "ig_steps": 2})
    assert result.maps.shape == (1, 1, SIDE, SIDE) and torch.isfinite(result.maps).all()


@pytest.mark.parametrize("bad, word", [({"objective": "both"}, "objective"), ({"mask_size": 1}, "mask_size"),
                                       ({"smoothness": "l2"}, "smoothness"), ({"colour": 1}, "colour")])
def test_bad_settings_name_the_parameter(bad, word):
    with pytest.raises(ValueError, match=word):
        igos.optimize_masks(RegionModel(), region_images(1), torch.zeros(1, dtype=torch.long), **bad)


def test_marker_lift_of_a_batch_is_each_images_lift():
    """The old region_lift multiplied (N, H, W) maps by (N, 1, H, W) regions: (N, N, H, W), every image's map
    counted in every region when N > 1."""
    maps = torch.rand(3, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    region = torch.zeros(3, 1, 8, 8, dtype=torch.bool)
    region[0, :, :2, :2], region[1, :, 4:, 4:], region[2, :, :, :1] = True, True, True
    lift = study.marker_lift({"m": maps}, region)["m"]
    alone = [study.marker_lift({"m": maps[i:i + 1]}, region[i:i + 1])["m"].item() for i in range(3)]
    assert lift.tolist() == pytest.approx(alone)
    assert study.means({"m": lift})["m"] == pytest.approx(sum(alone) / 3)
    # lift of image 0 by hand: share of its mass in the 4-pixel region over the region's share of 64 pixels
    assert alone[0] == pytest.approx((maps[0, 0, :2, :2].sum() / maps[0].sum()).item() * 16)


# ------------------------------------------------------------------------------ the paper's claims, by hand


def auc_rows(method, resolution, insertion, deletion=None, order=None):
    """Per-image rows as the study builds them, optionally listed in another image order."""
    deletion = insertion if deletion is None else deletion
    images = order or range(len(insertion))
    return [{"method": method, "resolution": resolution, "image": i, "insertion": insertion[i],
             "deletion": deletion[i]} for i in images]


def test_paired_rows_match_images_whatever_their_order_and_refuse_other_images():
    a, b = [0.9, 0.8, 0.7, 0.95, 0.85, 0.75], [0.5, 0.6, 0.4, 0.55, 0.45, 0.5]
    rows = auc_rows("A", "r", a, order=[3, 0, 5, 1, 4, 2]) + auc_rows("B", "r", b)
    evidence = study.compare_rows(rows, "insertion", ("A", "r"), ("B", "r"), "greater")
    assert evidence.n == 6 and evidence.difference == pytest.approx(sum(a) / 6 - sum(b) / 6)
    # the paired t of the differences 0.4, 0.2, 0.3, 0.4, 0.4, 0.25, by hand
    differences = np.array(a) - np.array(b)
    t = differences.mean() / (differences.std(ddof=1) / math.sqrt(6))
    assert evidence.p_value == pytest.approx(2 * stats.t.sf(t, 5))
    assert evidence.verdict == "inconclusive"  # significant, but a row of 6 images is not decided (n < 20)
    with pytest.raises(ValueError, match="same images"):
        study.compare_rows(rows + auc_rows("C", "r", b[:5]), "insertion", ("A", "r"), ("C", "r"), "greater")


def test_table1_claims_are_the_deletion_cells_in_the_papers_direction():
    paper_resolutions = {"64 (full)": "224x224", "28x28": "28x28", "8 (CAM)": "7x7"}
    rows = []
    for label in paper_resolutions:
        rows += auc_rows("iGOS++", label, [0.9] * 6, [0.2] * 6) + auc_rows("I-GOS", label, [0.8] * 6, [0.3] * 6)
    claims = {c.claim_id: c for c in study.table1_claims(rows, paper_resolutions)}
    assert set(claims) == {f"Table 1 deletion, {label}" for label in paper_resolutions}  # insertion is H1
    assert claims["Table 1 deletion, 64 (full)"].evidence.expected == "less"  # the paper: 0.0328 < 0.0420
    assert claims["Table 1 deletion, 8 (CAM)"].evidence.expected == "greater"  # the paper: 0.1810 > 0.1607 at 7x7
    assert claims["Table 1 deletion, 8 (CAM)"].evidence.difference == pytest.approx(-0.1)
    assert all(c.kind == "table cell" for c in claims.values())


def test_table3_and_table5_claims_cover_every_row_present():
    paper_resolutions = {"64 (full)": "224x224", "28x28": "28x28", "8 (CAM)": "7x7"}
    rows = [row for name in study.ABLATIONS for label in ("64 (full)", "28x28")
            for row in auc_rows(name, label, [0.5] * 6)]
    claims = study.table3_claims(rows, paper_resolutions)
    # no CAM rows; iGOS++ is not compared with itself, nor with I-GOS (headline claim H1)
    assert len(claims) == 2 * (len(study.ABLATIONS) - 2)
    assert not any("I-GOS," in c.claim_id for c in claims)
    assert all(c.evidence.verdict == "inconclusive" and c.evidence.difference == 0 for c in claims)
    masks = [row for name in ("M_x", "M_y", "M_xy") for row in auc_rows(name, "28x28", [0.5] * 6)]
    assert [c.claim_id for c in study.table5_claims(masks, paper_resolutions)] == [
        "Table 5 insertion, M_xy vs M_y, 28x28", "Table 5 insertion, M_y vs M_x, 28x28",
        "Table 5 deletion, M_x vs M_y, 28x28"]


def test_table7_claims_pair_the_objective_by_image():
    rows = pd.DataFrame([{"lambda1": 1.0, "lambda2": 20.0, "method": name, "image": i,
                          "objective": i + (0.0 if name == "iGOS++" else 0.5)}
                         for name in study.TABLE7_METHODS for i in range(20)])
    (claim,) = study.table7_claims(rows)
    assert claim.claim_id == "Table 7, lambda1=1, lambda2=20" and claim.evidence.expected == "less"
    assert claim.evidence.difference == pytest.approx(-0.5) and claim.evidence.verdict == "reproduced"
    means = study.objective_summary(rows)
    assert means["objective"].tolist() == pytest.approx([10.0, 9.5])  # naive, iGOS++: mean of 0..19 (+ 0.5)


def test_pixels_to_reach_is_the_first_step_at_half_the_last_score():
    curves = PerturbationCurves("insertion", np.array([0, 0.25, 0.5, 0.75, 1.0]),
                                np.array([[0.0, 0.1, 0.2, 0.6, 1.0], [0.5, 0.6, 0.7, 0.8, 0.9]]), np.zeros(2))
    assert study.pixels_to_reach(curves).tolist() == [0.75, 0.0]  # 0.6 >= 0.5; 0.5 >= 0.45 at the start
    assert study.pixels_to_reach(curves, level=1.0).tolist() == [1.0, 1.0]


def test_marker_cell_share_counts_the_marker_in_its_fullest_cell():
    region = torch.zeros(2, 1, 8, 8, dtype=torch.bool)
    region[0, :, 2:6, 2:6] = True  # 16 pixels, 4 in each of the 4 central 4x4 cells
    region[1, :, :3, :3] = True  # inside the top-left cell
    assert study.marker_cell_share(region, cells=2) == pytest.approx((4 / 16 + 1.0) / 2)


def test_smoothness_differences_by_hand():
    btv, tv = torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4)
    tv[..., :2] = 0.5
    btv[..., 0, 0] = 0.1  # the BTV map ranks the top-left pixel first, as the TV map does
    frame = study.smoothness_differences({"BTV λ2=20": btv, "TV λ2=20": tv}, (20.0,))
    row = frame.iloc[0]
    assert row["mean |BTV - TV|"] == pytest.approx((7 * 0.5 + 0.4) / 16) and row["max |BTV - TV|"] == 0.5


def test_masks_of_table5_are_not_timed():
    curves = {mode: PerturbationCurves(mode, np.array([0.0, 1.0]), np.ones((2, 2)), np.array([0.2, 0.4]))
              for mode in ("deletion", "insertion")}
    rows = study.per_image_rows("M_x", "28x28", study.Evaluated(torch.zeros(2, 1, 2, 2), curves, None))
    summary = study.auc_summary(rows)
    assert "seconds_per_image" not in summary and summary["insertion"].item() == pytest.approx(0.3)


def test_claims_go_to_the_ledger_under_the_papers_name_with_their_kind():
    evidence = study.paired_comparison([0.9] * 6, [0.5] * 6)
    claims = [study.PaperClaim("Table 3 insertion, x, 28x28", "iGOS++ beats x", evidence, ("iGOS++", "x"), "y"),
              study.PaperClaim("Fig. 4 remark", "a remark", evidence, ("a", "b"), None, "reading of a remark")]
    recorder = Recorder("04_test")
    assert study.record_claims(recorder, claims) == claims
    saved = load_results("04_test")["paper_claims"]
    assert [c["kind"] for c in saved] == ["table cell", "reading of a remark"]
    assert saved[0]["paper"] == "iGOS++" and saved[0]["claim_id"] == "Table 3 insertion, x, 28x28" and saved[0]["n"] == 6
    table = study.claims_table(claims)
    assert table.loc[0, "verdict"] == evidence.verdict and table.loc[0, "a - b"] == pytest.approx(0.4)


# ------------------------------------------------------------------------------ the headline claims, by hand


def test_headline_claims_run_at_the_papers_budget():
    # the quotes are checked against the paper by tests/test_claims_declarations.py
    assert [c.claim_id for c in claims.CLAIMS] == ["H1", "H2", "H3", "H4"]
    assert all(c.paper == study.PAPER == "iGOS++" for c in claims.CLAIMS)
    assert claims.PAPER_BUDGET == {"iterations": igos.COMMON_SETTINGS["iterations"],
                                   "ig_steps": igos.COMMON_SETTINGS["ig_steps"]} == {"iterations": 15, "ig_steps": 20}


def test_h1_pairs_every_baseline_at_its_resolution_and_tests_each_pair():
    labels = ("64 (full)", "28x28", "8 (CAM)")
    pairs = study.baseline_pairs(labels)
    assert pairs["vs Grad-CAM, 8 (CAM)"] == (("iGOS++", "8 (CAM)"), ("Grad-CAM", "8 (CAM)"))
    assert set(pairs) == {"vs I-GOS, 64 (full)", "vs I-GOS, 28x28", "vs I-GOS, 8 (CAM)",
                          "vs Integrated Gradients, 64 (full)", "vs Mask, 64 (full)", "vs Grad-CAM, 8 (CAM)",
                          "vs Mask, 8 (CAM)"}
    rows = auc_rows("iGOS++", "28x28", [0.9, 0.8, 0.7]) + auc_rows("I-GOS", "28x28", [0.8, 0.8, 0.5])
    (result,) = study.pair_tests(rows, {"vs I-GOS": (("iGOS++", "28x28"), ("I-GOS", "28x28"))}).values()
    assert result.test == "paired t" and result.n == 3 and result.estimate == pytest.approx(0.1)


def test_h2_compares_the_drop_from_coarse_to_full_resolution():
    rows = (auc_rows("iGOS++", "8", [0.9, 0.9, 0.9]) + auc_rows("iGOS++", "64", [0.85, 0.9, 0.8])
            + auc_rows("I-GOS", "8", [0.9, 0.8, 0.9]) + auc_rows("I-GOS", "64", [0.6, 0.7, 0.6]))
    (result,) = study.drop_tests(rows, "8", "64").values()
    # drops: iGOS++ 0.05, 0, 0.1; I-GOS 0.3, 0.1, 0.3 -> differences -0.25, -0.1, -0.2
    assert result.estimate == pytest.approx(-0.55 / 3) and result.n == 3


def test_headroom_is_the_best_mean_above_the_random_map():
    table1 = pd.DataFrame({"method": ["Random", "iGOS++", "I-GOS"], "insertion": [0.6, 0.95, 0.7]})
    curves = PerturbationCurves("insertion", np.array([0.0, 1.0]), np.array([[0.2, 0.9], [0.4, 1.0]]), np.zeros(2))
    evaluated = {("iGOS++", "r"): study.Evaluated(torch.zeros(2, 1, 2, 2), {"insertion": curves}, None)}
    passed, detail = study.headroom(table1, evaluated, 0.1)
    assert passed and "headroom 0.350" in detail and "score 0.950" in detail and "scene's 0.300" in detail
    assert not study.headroom(table1, evaluated, 0.4)[0]


def test_fragmentation_counts_connected_regions_of_the_top_pixels():
    maps = torch.zeros(2, 1, 10, 10)
    maps[0, 0, 0:2, 0:5] = 1.0  # one blob of 10 pixels: the top 10% of 100
    maps[1, 0, 0, 0:10:2] = 1.0  # 5 isolated pixels ...
    maps[1, 0, 9, 0:10:2] = 1.0  # ... and 5 more: 10 regions
    maps[1, 0, 5, 5] = 0.5  # below the top 10%
    assert study.fragmentation(maps, 0.1).tolist() == [1.0, 10.0]
    diagonal = torch.eye(10).view(1, 1, 10, 10)  # 8-neighbours: a diagonal is one region
    assert study.fragmentation(diagonal, 0.1).tolist() == [1.0]
    assert study.fragmentation(torch.zeros(1, 1, 10, 10), 0.1).tolist() == [0.0]  # nothing salient


def test_h4_precision_and_recall_by_hand():
    x = torch.tensor([0.9, 0.1, 0.9, 0.9, 0.2, 0.9]).view(6, 1, 1, 1).expand(6, 1, 4, 4)
    split = ImageSplit(x, torch.tensor([0, 0, 3, 0, 0, 5]))
    # the cleaned model predicts 0 on the bright scenes (0, 2, 3, 5), the marker model predicts 7 everywhere
    story = study.MarkerStory(FixedClass(7), FixedClass(0), split, split, x[:1], split.y[:1],
                              torch.ones(1, 1, 4, 4, dtype=torch.bool))
    tests = study.cleaning_tests(story)
    assert tests["recall"].test == "paired bootstrap" and tests["recall"].n == 6
    assert tests["recall"].estimate == pytest.approx(2 / 4 - 0)  # scenes 0 and 3 of the four zeros
    assert tests["precision"].estimate == pytest.approx(2 / 4 - 0)  # 2 of 4 predicted zeros are zeros
    passed, detail = study.shortcut_premise(story, 0.05)
    assert not passed and "drop 0.000" in detail  # the same scenes with and without markers here


def test_label_sanity_compares_the_random_label_maps_with_another_seed():
    trained = torch.arange(16.0).view(1, 1, 4, 4).repeat(3, 1, 1, 1)
    maps = {"trained": trained, "trained, other seed": trained.clone(), "random labels": trained.flip(-1).flip(-2)}
    claim, means = study.label_sanity_claim(maps)
    assert means == pytest.approx({"random labels": -1.0, "trained, other seed": 1.0})
    assert claim.kind == "reading of a remark" and claim.evidence.expected == "less"
    assert claim.evidence.difference == pytest.approx(-2.0) and claim.evidence.n == 3

class FixedClass(nn.Module):
    """Predicts ``label`` for every image whose mean is above 0.5, class 1 otherwise."""

    def __init__(self, label):
        super().__init__()
        self.label = label

    def forward(self, x):
        bright = x.flatten(1).mean(1) > 0.5
        return nn.functional.one_hot(torch.where(bright, self.label, 1), 10).float()
