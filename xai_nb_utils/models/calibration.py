"""Calibration of a classifier's probabilities: expected calibration error and temperature scaling (Guo et al.,
"On Calibration of Modern Neural Networks", ICML 2017)."""
import torch
import torch.nn.functional as F

from xai_nb_utils.core.validate import check_positive_int


def expected_calibration_error(probabilities: torch.Tensor, labels: torch.Tensor, n_bins: int = 15) -> float:
    """ECE: the sample-weighted mean gap |accuracy - confidence| over ``n_bins`` equal-width confidence bins of
    the top-class probability (Guo et al., eq. 3). ``probabilities`` (N, C) rows sum to one."""
    check_positive_int("n_bins", n_bins)
    confidence, predicted = probabilities.detach().double().max(dim=1)
    correct = (predicted.cpu() == labels.cpu()).double()
    confidence = confidence.cpu()
    # bin b holds confidences in (b/n, (b+1)/n]; a confidence of exactly 0 cannot occur with C >= 1 classes
    bins = (confidence * n_bins).ceil().long().clamp(1, n_bins) - 1
    error = 0.0
    for b in range(n_bins):
        inside = bins == b
        if inside.any():
            error += inside.double().mean().item() * abs(correct[inside].mean().item() - confidence[inside].mean().item())
    return error


def negative_log_likelihood(logits: torch.Tensor, labels: torch.Tensor, temperature: float = 1.0) -> float:
    """Mean cross-entropy of ``logits / temperature``."""
    return F.cross_entropy(logits.detach().double() / temperature, labels.to(logits.device)).item()


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor, max_iter: int = 100,
                    bounds: tuple = (0.05, 20.0)) -> float:
    """The temperature T that minimises the NLL of ``softmax(logits / T)`` on held-out ``labels`` (L-BFGS on
    log T, started at T = 1), clipped to ``bounds`` (a held-out set the model gets all right has its optimum at
    T -> 0)."""
    logits = logits.detach().double()
    labels = labels.to(logits.device)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.5, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(logits / log_t.exp(), labels)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(log_t.detach().exp().clamp(*bounds))
