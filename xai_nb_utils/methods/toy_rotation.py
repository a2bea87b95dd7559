"""The closed-form 2D rotation toy of Tjoa & Guan, section 2 (Figures 1 and 6; appendix A.1).

Setting (the paper's notation, classes 1 and 2 are our indices 0 and 1):

* data ``x = a1 W y(1) + a2 W y(2)`` with ``W`` the rotation by ``theta`` and ``y(1), y(2)`` the canonical basis;
* the perfect classifier ``f(x) = sigma(W^-1 x)`` (so ``f(x) = (sigma(a1), sigma(a2))``), true class ``argmax(a1, a2)``;
* CO score, eq. (1): ``s_co(x, h) = omega . [f(x + h) - f(x)]`` with the CO weights ``omega`` of ``metrics.co_weights``
  (``(1, -1)`` for class 1);
* GAX heatmap ``h = w * x`` written in the sample basis ``h = A x(1) + B x(2)``, i.e. ``(A, B) = W^-1 (w * x)``;
* ``Delta = omega . (A, B)`` (``A - B`` for class 1), eq. (3), is linear in ``w``; its gradient
  ``g_i = x_i (W^-1_{1i} - W^-1_{2i})`` does not depend on ``w``, so ``k`` gradient-ascent steps of size ``eta`` give
  eq. (4): ``h = (w + k eta g) * x``. Only the product ``k eta`` matters.

Everything is batched over a leading axis (a sweep over ``theta`` and/or ``a1, a2``); use float64 tensors for the
closed-form/autograd comparison. ``gradient_ascent_heatmap`` runs the same ascent with torch autograd, either on
``Delta`` (must equal eq. (4)) or on the CO score itself (depends on the activation: equal to eq. (4) for LeakyReLU
while every pre-activation stays positive, damped by the saturation of the sigmoid).

The sweeps over theta as tables, the figures and the paper's settings are in ``studies.gax_toy`` (notebook 01).
"""
import math

import torch
import torch.nn.functional as F

from xai_nb_utils.core.params import check_choice
from xai_nb_utils.metrics import perturbation as metrics

ACTIVATIONS = ("leaky_relu", "sigmoid")
OBJECTIVES = ("delta", "co")
LEAKY_SLOPE = 0.01  # torch's default negative slope; the paper does not state one


def activation(name: str, negative_slope: float = LEAKY_SLOPE):
    """The strictly increasing activation sigma of the perfect classifier: ``"leaky_relu"`` or ``"sigmoid"``."""
    check_choice("activation", name, ACTIVATIONS)
    if name == "sigmoid":
        return torch.sigmoid
    return lambda z: F.leaky_relu(z, negative_slope)


def as_batch(theta, a1, a2):
    """Broadcast ``theta, a1, a2`` (numbers or tensors) to float tensors of one shape (N,)."""
    ref = next((v for v in (theta, a1, a2) if torch.is_tensor(v)), None)
    kw = {"dtype": ref.dtype if ref is not None and ref.is_floating_point() else torch.float64,
          "device": ref.device if ref is not None else None}
    theta, a1, a2 = torch.broadcast_tensors(*(torch.as_tensor(v, **kw) for v in (theta, a1, a2)))
    return theta.reshape(-1), a1.reshape(-1), a2.reshape(-1)


def rotation(theta: torch.Tensor) -> torch.Tensor:
    """``W = [[cos, -sin], [sin, cos]]`` for each angle, shape (N, 2, 2)."""
    c, s = torch.cos(theta), torch.sin(theta)
    return torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)


def true_class(a1, a2) -> torch.Tensor:
    """``argmax(a1, a2)`` as class indices 0/1 (a tie counts as class 0, i.e. the paper's c = 1)."""
    return (torch.as_tensor(a2) > torch.as_tensor(a1)).long().reshape(-1)


def sample(theta, a1, a2) -> torch.Tensor:
    """``x = a1 W y(1) + a2 W y(2)`` in the pixelwise (canonical) basis, shape (N, 2)."""
    theta, a1, a2 = as_batch(theta, a1, a2)
    return torch.einsum("nij,nj->ni", rotation(theta), torch.stack([a1, a2], -1))


def to_sample_basis(x: torch.Tensor, theta) -> torch.Tensor:
    """``W^-1 x`` (``W^-1 = W^T`` for a rotation): coordinates of ``x`` in the basis ``{x(1), x(2)}``, (N, 2)."""
    theta, _, _ = as_batch(theta, 0.0, 0.0)
    return torch.einsum("nji,nj->ni", rotation(theta).to(x), x)


def perfect_classifier(x: torch.Tensor, theta, name: str = "leaky_relu") -> torch.Tensor:
    """``f(x) = sigma(W^-1 x)`` for each sample, shape (N, 2)."""
    return activation(name)(to_sample_basis(x, theta))


def co_score(x: torch.Tensor, h: torch.Tensor, theta, target: torch.Tensor, name: str = "leaky_relu") -> torch.Tensor:
    """CO score eq. (1) ``omega . [f(x + h) - f(x)]`` of the toy classifier via ``metrics.co_score``, shape (N,)."""
    return metrics.co_score(lambda inputs: perfect_classifier(inputs, theta, name), x, h, target)


def delta(w: torch.Tensor, theta, a1, a2) -> torch.Tensor:
    """``Delta = omega . (A, B)`` with ``(A, B) = W^-1 (w * x)``, eq. (3) (``A - B`` for class 1), shape (N,)."""
    theta, a1, a2 = as_batch(theta, a1, a2)
    x = sample(theta, a1, a2)
    return (to_sample_basis(w * x, theta) * metrics.co_weights(true_class(a1, a2), 2).to(x)).sum(-1)


def delta_gradient(theta, a1, a2) -> torch.Tensor:
    """``grad_w Delta``, written term by term as in eq. (3): for class 1,
    ``((W^-1_11 - W^-1_21) x1, -(W^-1_22 - W^-1_12) x2)``; for class 2 the signs flip. Shape (N, 2)."""
    theta, a1, a2 = as_batch(theta, a1, a2)
    w = rotation(theta)
    w_inv = w.transpose(-1, -2)
    x1 = a1 * w[:, 0, 0] + a2 * w[:, 0, 1]
    x2 = a1 * w[:, 1, 0] + a2 * w[:, 1, 1]
    sign = 1.0 - 2.0 * true_class(a1, a2).to(theta)
    g1 = (w_inv[:, 0, 0] - w_inv[:, 1, 0]) * x1
    g2 = -(w_inv[:, 1, 1] - w_inv[:, 0, 1]) * x2
    return sign[:, None] * torch.stack([g1, g2], -1)


def closed_form_heatmap(theta, a1, a2, k_eta: float, w0: float = 1.0) -> torch.Tensor:
    """Eq. (4): the GAX heatmap ``h = (w0 + k eta grad_w Delta) * x`` after k ascent steps of size eta, (N, 2)."""
    return (w0 + k_eta * delta_gradient(theta, a1, a2)) * sample(theta, a1, a2)


def gradient_ascent_heatmap(theta, a1, a2, steps: int, step_size: float, objective: str = "delta",
                            name: str = "leaky_relu", w0: float = 1.0) -> torch.Tensor:
    """GAX on the toy with torch autograd: ``w <- w + step_size * grad_w objective`` for ``steps`` steps from
    ``w = w0``, returning ``h = w * x`` (N, 2). ``objective``: ``"delta"`` (eq. (3), what eq. (4) solves) or ``"co"``
    (the CO score eq. (1) of ``h = w * x`` under the activation ``name``)."""
    check_choice("objective", objective, OBJECTIVES)
    theta, a1, a2 = as_batch(theta, a1, a2)
    x = sample(theta, a1, a2)
    target = true_class(a1, a2)
    w = torch.full_like(x, w0, requires_grad=True)
    for _ in range(steps):
        if objective == "delta":
            value = delta(w, theta, a1, a2)
        else:
            value = co_score(x, w * x, theta, target, name)
        (grad,) = torch.autograd.grad(value.sum(), w)
        w = (w + step_size * grad).detach().requires_grad_(True)
    return (w * x).detach()


def identity_heatmap_score(a1, a2, name: str) -> torch.Tensor:
    """CO score of the uninformative heatmap ``h = x``: ``omega . [sigma(2a) - sigma(a)]`` (any theta).
    For LeakyReLU and non-negative a1 >= a2 this is exactly ``a1 - a2``; the sigmoid saturates."""
    theta, a1, a2 = as_batch(0.0, a1, a2)
    x = sample(theta, a1, a2)
    return co_score(x, x, theta, true_class(a1, a2), name)


def ascent_gain(theta, a1, a2) -> torch.Tensor:
    """``||grad_w Delta||^2``: how much one unit of ``k eta`` raises Delta (gradient ascent on a linear objective
    raises it by ``eta ||grad||^2`` per step); equals ``(a1 - a2)^2`` at the homogeneous angles."""
    return delta_gradient(theta, a1, a2).pow(2).sum(-1)


def homogeneous_angles(low: float = -math.pi, high: float = math.pi) -> list[float]:
    """The homogeneous transformations ``theta = (2k + 1) pi / 4`` inside ``[low, high]``."""
    first = math.ceil((low / (math.pi / 4) - 1) / 2)
    angles = []
    k = first
    while (2 * k + 1) * math.pi / 4 <= high:
        angles.append((2 * k + 1) * math.pi / 4)
        k += 1
    return angles
