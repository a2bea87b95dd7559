"""Calibration of a classifier's probabilities: expected calibration error and temperature scaling (Guo et al.,
"On Calibration of Modern Neural Networks", ICML 2017)."""
import math

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


def uniform_cross_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Cross-entropy to the uniform distribution minus its minimum log C: KL(uniform || softmax), >= 0."""
    return -logits.log_softmax(1).mean(1).mean() - math.log(logits.shape[1])


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor, no_evidence_logits: torch.Tensor | None = None,
                    no_evidence_weight: float = 0.0, max_iter: int = 100, bounds: tuple = (0.05, 20.0)) -> float:
    """The temperature T that minimises the NLL of ``softmax(logits / T)`` on held-out ``labels`` (L-BFGS on
    log T, started at T = 1), clipped to ``bounds`` (a held-out set the model gets all right has its optimum at
    T -> 0).

    With ``no_evidence_logits`` (the model's logits on held-out images without class evidence) the objective is the
    one a no-evidence model was trained on: NLL + ``no_evidence_weight`` * :func:`uniform_cross_entropy`, so the
    temperature calibrates both kinds of input the metrics feed the model instead of sharpening away what the
    no-evidence term taught.
    """
    logits = logits.detach().double()
    labels = labels.to(logits.device)
    no_evidence = None if no_evidence_logits is None else no_evidence_logits.detach().double()
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.5, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        temperature = log_t.exp()
        loss = F.cross_entropy(logits / temperature, labels)
        if no_evidence is not None:
            loss = loss + no_evidence_weight * uniform_cross_entropy(no_evidence / temperature)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(log_t.detach().exp().clamp(*bounds))
