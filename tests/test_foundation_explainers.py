import pytest
import torch
from torch import nn

from xai_nb_utils.methods import registry as explainers
from xai_nb_utils.methods.registry import explain, register_method
from xai_nb_utils.models.networks import MnistCNN, NormalizedClassifier, SceneCNN

BASELINES = ["saliency", "input_x_gradient", "integrated_gradients", "guided_backprop", "deconvolution",
             "deeplift", "layer_gradcam", "gradient_shap", "smoothgrad", "lime", "gradcam", "gradcam_pp",
             "scorecam", "ablationcam", "xgradcam", "layercam", "hirescam", "fake_cam", "random"]


class LinearImageModel(NormalizedClassifier):
    """logit_k = sum(w_k * x): the ideal attributions are known in closed form."""

    cam_layer_name = "conv"

    def __init__(self, weight):
        super().__init__(mean=[0.0], std=[1.0])
        self.conv = nn.Conv2d(1, weight.shape[0], weight.shape[-1], bias=False)
        self.conv.weight.data = weight.clone()

    def forward_normalized(self, z):
        return self.conv(z).flatten(1)


def hook_count(model):
    return sum(len(getattr(m, d)) for m in model.modules() for d in explainers._HOOK_DICTS)


@pytest.mark.parametrize("method", BASELINES)
def test_every_baseline_has_the_documented_shape_and_leaves_no_hooks(method):
    torch.manual_seed(0)
    model = SceneCNN().eval()
    x = torch.rand(2, 3, 32, 32)
    kwargs = {"n_samples": 20} if method == "lime" else {}
    maps = explain(method, model, x, torch.tensor([1, 7]), **kwargs)
    channels = 1 if explainers.method_spec(method).channels == "single" else 3
    assert maps.shape == (2, channels, 32, 32)
    assert torch.isfinite(maps).all()
    assert hook_count(model) == 0


def test_gradient_methods_match_the_closed_form_on_a_linear_model():
    torch.manual_seed(0)
    weight = torch.randn(3, 1, 4, 4)
    model = LinearImageModel(weight).eval()
    x = torch.rand(2, 1, 4, 4)
    target = torch.tensor([2, 0])
    w = weight[target]
    assert torch.allclose(explain("saliency", model, x, target), w.abs(), atol=1e-6)
    assert torch.allclose(explain("input_x_gradient", model, x, target), w * x, atol=1e-6)
    # IG from a zero baseline is exact for a linear model: w * x
    assert torch.allclose(explain("integrated_gradients", model, x, target), w * x, atol=1e-5)
    assert torch.allclose(explain("deeplift", model, x, target), w * x, atol=1e-5)


def test_an_int_target_is_broadcast():
    model = MnistCNN().eval()
    x = torch.rand(3, 1, 28, 28)
    assert torch.equal(explain("saliency", model, x, 4), explain("saliency", model, x, torch.tensor([4, 4, 4])))


def test_fake_cam_is_uniform_but_for_the_top_left_pixel():
    maps = explain("fake_cam", MnistCNN(), torch.rand(2, 1, 28, 28), 0)
    assert maps[:, :, 0, 0].eq(0).all() and maps.sum().item() == 2 * (28 * 28 - 1)


def test_hooks_are_removed_when_a_method_raises():
    model = MnistCNN().eval()

    @register_method("_failing_test_method", "single", "reference")
    def failing(model, x, target):
        model.features.conv1.register_forward_hook(lambda *args: None)
        model.features.conv2.register_full_backward_hook(lambda *args: None)
        raise RuntimeError("boom")

    try:
        with pytest.raises(RuntimeError, match="boom"):
            explain("_failing_test_method", model, torch.rand(1, 1, 28, 28), 0)
        assert hook_count(model) == 0
    finally:
        explainers._REGISTRY.pop("_failing_test_method")


def test_unknown_method_and_layer_errors_list_the_choices():
    with pytest.raises(ValueError, match="unknown saliency method 'gradcamm'.*gradcam"):
        explain("gradcamm", MnistCNN(), torch.rand(1, 1, 28, 28), 0)
    with pytest.raises(ValueError, match="layer 'nope' not found.*stage3"):
        explain("gradcam", SceneCNN(), torch.rand(1, 3, 32, 32), 0, layer="nope")
