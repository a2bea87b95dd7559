"""Localization metrics (Opti-CAM Appendix B) on hand-made maps and boxes, and the study tables built on them."""
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from xai_nb_utils.metrics.localization import box_iou, largest_component_box, localization_metrics

H = W = 10


def box_map(box, value=1.0):
    s = torch.zeros(1, 1, H, W)
    x0, y0, x1, y1 = box
    s[..., y0:y1, x0:x1] = value
    return s


def test_box_iou_hand_computed():
    assert box_iou((0, 0, 4, 4), (0, 0, 4, 4)) == 1.0
    assert box_iou((0, 0, 4, 4), (2, 0, 6, 4)) == pytest.approx(8 / 24)
    assert box_iou((0, 0, 2, 2), (5, 5, 7, 7)) == 0.0


def test_largest_component_box_picks_the_bigger_blob():
    binary = np.zeros((H, W), dtype=bool)
    binary[0:2, 0:2] = True  # 4 pixels
    binary[5:8, 4:9] = True  # 15 pixels
    assert largest_component_box(binary) == (4, 5, 9, 8)
    assert largest_component_box(np.zeros((H, W), dtype=bool)) == (0, 0, 0, 0)


def test_perfect_map_scores_perfectly():
    box = (2, 3, 6, 8)
    m = localization_metrics(box_map(box), torch.tensor([box]), true_class_prob=[1.0], correct=[True])
    assert m["OM"] == m["LE"] == 0.0
    assert m["F1"] == m["EP"] == m["SP"] == m["BA"] == 100.0
    assert m["SM"] == pytest.approx(math.log(20 / 100))  # box area fraction 0.2, -log p = 0


def test_wrong_class_costs_only_the_official_metric():
    box = (2, 3, 6, 8)
    m = localization_metrics(box_map(box), torch.tensor([box]), true_class_prob=[0.5], correct=[False])
    assert m["OM"] == 100.0 and m["LE"] == 0.0
    assert m["SM"] == pytest.approx(math.log(0.2) - math.log(0.5))


def test_half_overlap_hand_computed():
    """Map = box shifted right by half its width: IoU 1/3, precision 1/2, recall 1/2."""
    gt, shifted = (0, 0, 4, 4), (2, 0, 6, 4)
    m = localization_metrics(box_map(shifted), torch.tensor([gt]), [1.0], [True], iou_thresholds=(0.3, 0.5))
    assert m["LE"] == pytest.approx(100 * (1 - 1 / 3))
    assert m["EP"] == pytest.approx(50.0)
    assert m["F1"] == pytest.approx(50.0)
    assert m["BA"] == pytest.approx(50.0)  # passes delta 0.3, fails 0.5


def test_pointing_game_and_several_boxes():
    s = torch.zeros(2, 1, H, W)
    s[0, 0, 1, 1] = 1.0  # peak inside the second box of image 0
    s[1, 0, 9, 9] = 1.0  # peak outside the box of image 1
    boxes = [torch.tensor([[5, 5, 8, 8], [0, 0, 3, 3]]), torch.tensor([[0, 0, 3, 3]])]
    m = localization_metrics(s, boxes, [1.0, 1.0], [True, True])
    assert m["SP"] == 50.0


def test_small_boxes_are_floored_in_saliency_metric_and_constant_maps_are_safe():
    m = localization_metrics(torch.ones(1, 1, H, W), torch.tensor([[0, 0, 1, 1]]), [1.0], [True])
    assert all(np.isfinite(v) for v in m.values())
    assert m["SM"] == pytest.approx(math.log(0.05))  # constant map -> zeros -> empty box -> area floored at 5%


# ------------------------------------------- Table A7 of the Opti-CAM study, reused by the tour's pointing game


class ConstantClassifier(torch.nn.Module):
    """Logits (0, log 3) for every image: p(class 1) = 0.75, always predicted."""

    def __init__(self):
        super().__init__()
        self.logits = torch.nn.Parameter(torch.tensor([0.0, math.log(3.0)]))

    def forward(self, x):
        return self.logits.expand(len(x), 2)


def test_localization_table_rows_and_labels():
    from xai_nb_utils.studies.opticam_tables import localization_table

    box = (2, 3, 6, 8)
    maps = {"gradcam": box_map(box), "opticam": box_map((0, 0, 1, 1))}
    table = localization_table(ConstantClassifier(), torch.zeros(1, 1, H, W), torch.tensor([1]), maps,
                               torch.tensor([box]))
    assert table.method.tolist() == ["Grad-CAM", "Opti-CAM"] and table.n_images.tolist() == [1, 1]
    perfect = table.iloc[0]
    assert perfect.OM == 0.0 and perfect.EP == 100.0
    assert perfect.SM == pytest.approx(math.log(0.2) - math.log(0.75))  # the model's p of the true class
    wrong_class = localization_table(ConstantClassifier(), torch.zeros(1, 1, H, W), torch.tensor([0]), maps,
                                     torch.tensor([box]), label=str)
    assert wrong_class.method.tolist() == ["gradcam", "opticam"]
    assert wrong_class.OM[0] == 100.0 and wrong_class.LE[0] == 0.0  # predicted class 1, not the target 0


def test_tour_pointing_game_on_fake_cam_and_a_box_hand_computed():
    """Fake-CAM is ones but a zero top-left pixel: its maximum is the first other pixel, (0, 1); the box
    (0, 0, 4, 4) holds 15 of the map's 99 units of mass."""
    from xai_nb_utils.studies.tour import box_area_percent, pointing_game

    x = torch.zeros(2, 1, H, W)
    boxes = torch.tensor([[0, 0, 4, 4], [5, 5, 10, 10]])
    table = pointing_game(ConstantClassifier(), x, torch.tensor([1, 1]), boxes, methods=("fake_cam",))
    assert list(table.index) == ["fake_cam"] and list(table.columns) == ["SP", "EP"]
    assert table.loc["fake_cam", "SP"] == 50.0  # inside the first box, outside the second
    assert table.loc["fake_cam", "EP"] == round(100 * (15 / 99 + 25 / 99) / 2, 1)
    split = SimpleNamespace(box_masks=lambda: torch.stack([box_map(b)[0].bool() for b in boxes.tolist()]))
    assert box_area_percent(split, 2) == pytest.approx(100 * (16 + 25) / 200)
