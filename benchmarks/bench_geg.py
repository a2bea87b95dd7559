"""GEG (geometric ensemble gradients) against the plain loop over perturbed copies of the model, side by side.

    python benchmarks/bench_geg.py [--images 8] [--models 100]

The plain loop is what Algorithm 3 reads as: for each draw, ``copy.deepcopy`` the model, add the same seeded noise
to its parameters (``ggig.perturbed_parameters``, one draw at a time), take the gradient of the target logit for the
batch and keep it for the images whose prediction and probability pass the acceptance test, until every image has
``--models`` accepted draws. Ours is ``ggig.geg_explain`` with the same seed: the maps must agree (printed: the
largest difference). Prints seconds and the ratio ours / loop (target <= 0.4), with the draws both made, and the
floor: one forward + backward pass of the batch through the bare model per draw the loop made (every draw must be
scored on every image still waiting to decide its acceptance, and an accepted draw needs its input gradient).
"""
import argparse
import copy
import time

import torch
from common import integer_arguments

from xai_nb_utils import trained_model
from xai_nb_utils.methods.ggig import _class_score, geg_explain, perturbed_parameters

SIGMA = 1e-3


def deepcopy_loop(model, x, target, n_models: int, max_draws: int, seed: int = 0) -> tuple[torch.Tensor, int]:
    """GEG by copying the model once per draw (max aggregation, probability acceptance); maps and draws made."""
    with torch.no_grad():
        logits = model(x)
    prediction, score = logits.argmax(1), _class_score(logits, target, "probability")
    generator = torch.Generator().manual_seed(seed)
    accepted = torch.zeros(len(x), dtype=torch.long)
    combined = torch.full_like(x, -torch.inf)
    drawn = 0
    while drawn < max_draws and bool((accepted < n_models).any()):
        noisy = copy.deepcopy(model)
        draw = perturbed_parameters(model, SIGMA, 1, generator)
        with torch.no_grad():
            for name, parameter in noisy.named_parameters():
                parameter.copy_(draw[name][0])
        inputs = x.clone().requires_grad_(True)
        out = noisy(inputs)
        grads = torch.autograd.grad(out.gather(1, target.view(-1, 1)).sum(), inputs)[0]
        out = out.detach()
        use = (out.argmax(1) == prediction) & (_class_score(out, target, "probability") >= score)
        use &= accepted < n_models
        combined[use] = torch.maximum(combined[use], grads[use])
        accepted += use.long()
        drawn += 1
    return combined, drawn


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main():
    args = argparse.Namespace(**integer_arguments(__doc__, images=8, models=100, max_draws=2000))
    trained = trained_model("mnist_cnn", "smoke", device="cpu")
    model, test = trained.model, trained.dataset.test
    x, y = test.x[:args.images], test.y[:args.images]
    geg_explain(model, x[:1], y[:1], n_models=2, sigma=SIGMA)  # warm-up
    ours_s, ours = timed(lambda: geg_explain(model, x, y, n_models=args.models, sigma=SIGMA,
                                             max_draws=args.max_draws))
    loop_s, (loop_maps, loop_draws) = timed(lambda: deepcopy_loop(model, x, y, args.models, args.max_draws))

    def floor():
        for _ in range(loop_draws):
            inputs = x.clone().requires_grad_(True)
            torch.autograd.grad(model(inputs).gather(1, y.view(-1, 1)).sum(), inputs)

    floor_s, _ = timed(floor)
    print(f"GEG, MNIST CNN, {args.images} images, {args.models} accepted models each, torch threads "
          f"{torch.get_num_threads()}")
    print(f"max |map difference| {(ours.maps - loop_maps).abs().max():.2e}; draws: ours up to "
          f"{int(ours.draws.max())} per image, loop {loop_draws}; acceptance rate "
          f"{float(ours.acceptance_rate.mean()):.2f}")
    print(f"ours {ours_s:.2f} s   loop {loop_s:.2f} s   ours / loop = {ours_s / loop_s:.2f} (target <= 0.4)")
    print(f"floor {floor_s:.2f} s   floor / loop = {floor_s / loop_s:.2f}   ours / floor = {ours_s / floor_s:.2f}")


if __name__ == "__main__":
    main()
