"""The contract of ``explain`` that every method keeps (methods/registry.py): reproducible, batch-independent
seeded methods, and no side effect on the model or on the global random generators."""
import numpy as np
import pytest
import torch

from xai_nb_utils.core.tensors import image_seeds
from xai_nb_utils.methods import available_methods, explain
from xai_nb_utils.metrics.perturbation import co_score, insertion_deletion
from xai_nb_utils.models.networks import MnistCNN
from xai_nb_utils.models.randomize import randomized_copy

SEEDED_BASELINES = {"gradient_shap": {}, "smoothgrad": {}, "lime": {"n_samples": 20, "cell": 7}, "random": {}}
# the seeded paper methods, at tiny settings: the same contract
SEEDED_PAPER_METHODS = {"igos": {"mask_size": 7, "iterations": 2, "ig_steps": 2},
                        "igos_pp": {"mask_size": 7, "iterations": 2, "ig_steps": 2},
                        "geg": {"n_models": 3, "max_draws": 12}}
SEEDED = {**SEEDED_BASELINES, **SEEDED_PAPER_METHODS}
# every baseline and cheap paper method: side effects are checked on each
CHEAP_METHODS = ["saliency", "input_x_gradient", "integrated_gradients", "guided_backprop", "deconvolution",
                 "deeplift", "layer_gradcam", "gradcam", "gradcam_pp", "xgradcam", "layercam", "hirescam",
                 "fake_cam", *SEEDED_BASELINES]


@pytest.fixture(scope="module")
def mnist():
    torch.manual_seed(0)
    return MnistCNN().eval(), torch.rand(3, 1, 28, 28), torch.tensor([1, 4, 7])


@pytest.mark.parametrize("method", SEEDED)
def test_seeded_method_gives_the_same_maps_for_the_same_seed(method, mnist):
    model, x, target = mnist
    first = explain(method, model, x, target, seed=3, **SEEDED[method])
    torch.rand(5), np.random.rand(5)  # moving the global generators must not matter
    again = explain(method, model, x, target, seed=3, **SEEDED[method])
    assert torch.equal(first, again)


@pytest.mark.parametrize("method", SEEDED)
def test_a_batch_of_n_equals_n_calls_of_one(method, mnist):
    model, x, target = mnist
    batch = explain(method, model, x, target, seed=1, **SEEDED[method])
    singles = torch.cat([explain(method, model, x[i:i + 1], target[i:i + 1], seed=1, **SEEDED[method])
                         for i in range(len(x))])
    torch.testing.assert_close(batch, singles, rtol=1e-5, atol=1e-6)


def test_image_seeds_depend_on_the_image_and_the_seed_only():
    x = torch.rand(3, 1, 4, 4)
    assert image_seeds(x, 0) == [image_seeds(x[i:i + 1], 0)[0] for i in range(3)]
    assert len(set(image_seeds(x, 0))) == 3 and image_seeds(x, 0) != image_seeds(x, 1)


def test_random_maps_differ_between_images(mnist):
    model, x, target = mnist
    maps = explain("random", model, x, target)
    assert not torch.equal(maps[0], maps[1])


@pytest.mark.parametrize("method", CHEAP_METHODS)
def test_explain_leaves_the_model_and_the_global_generators_as_they_were(method, mnist):
    model, x, target = mnist
    model.train()
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()[1].copy()
    explain(method, model, x, target, **SEEDED_BASELINES.get(method, {}))
    assert torch.equal(torch.get_rng_state(), torch_state), "the global torch generator was reseeded"
    assert np.array_equal(np.random.get_state()[1], numpy_state), "NumPy's global generator was reseeded"
    assert model.training and all(m.training for m in model.modules()), "train/eval mode not restored"
    assert all(p.grad is None for p in model.parameters()), "gradients left on the model's parameters"
    model.eval()


def test_randomized_copy_leaves_the_global_generator_alone(mnist):
    model, _, _ = mnist
    state = torch.get_rng_state()
    randomized_copy(model, ["classifier"], seed=5)
    assert torch.equal(torch.get_rng_state(), state)


class DoubleLinear(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(16, 3).double()

    def forward(self, x):
        return self.fc(x.flatten(1))


def test_metrics_work_in_the_model_dtype():
    torch.manual_seed(0)
    model = DoubleLinear()
    x = torch.rand(2, 1, 4, 4, dtype=torch.float64)
    saliency = torch.rand(2, 1, 4, 4, dtype=torch.float64)
    curves = insertion_deletion(model, x, saliency, torch.tensor([0, 2]), mode="deletion", baseline="zeros")
    assert curves.scores.dtype == np.float64 and np.isfinite(curves.auc).all()
    h = torch.rand_like(x)
    target = torch.tensor([0, 2])
    expected = torch.stack([(model(x + h)[i] - model(x)[i]) @ torch.tensor(w, dtype=torch.float64)
                            for i, w in enumerate([[1, -0.5, -0.5], [-0.5, -0.5, 1]])])
    score = co_score(model, x, h, target)
    assert score.dtype == torch.float64
    torch.testing.assert_close(score, expected, rtol=1e-12, atol=1e-12)


def test_every_paper_method_is_registered():
    assert {"gax", "igos", "igos_pp", "opticam", "dre", "mgnet", "mpert", "g3", "ggig", "geg"} <= set(
        available_methods())
