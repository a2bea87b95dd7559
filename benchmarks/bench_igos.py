"""iGOS++ against the floor of the model evaluations it needs.

    python benchmarks/bench_igos.py [--images 4] [--iterations 15]

The authors' IGOS_pp code cannot be vendored here, so iGOS++ (SceneCNN 64 px, mask 28, 20 IG steps, the paper's
settings) is timed against its floor: the model rows it evaluates, counted by a forward hook (rows with autograd
for the gradient pass, rows without for the line search), pushed through the bare model in the evaluation path's
chunks (fwd + bwd for the first, fwd only for the second). Prints rows per image and iteration, both times and
ours / floor (1.0 = no overhead beyond the model).
"""
import argparse
import time

import torch
from common import integer_arguments, scene_images

from xai_nb_utils.core.evaluation import chunk_rows, evaluate
from xai_nb_utils.methods.igos import SETTINGS, optimize_masks


def main():
    args = argparse.Namespace(**integer_arguments(__doc__, images=4, iterations=15))
    model, x, y = scene_images(args.images)
    counts = {"grad": 0, "no_grad": 0}

    def count(module, inputs, output):
        counts["grad" if torch.is_grad_enabled() else "no_grad"] += len(inputs[0])

    handle = model.register_forward_hook(count)
    start = time.perf_counter()
    result = optimize_masks(model, x, y, **{**SETTINGS["igos_pp"], "iterations": args.iterations})
    ours = time.perf_counter() - start
    handle.remove()

    size = chunk_rows(x.device)
    rows = torch.rand(size, *x.shape[1:])
    start = time.perf_counter()
    for _ in range(-(-counts["grad"] // size)):
        inputs = rows.clone().requires_grad_(True)
        torch.autograd.grad(model(inputs)[:, 0].sum(), inputs)
    evaluate(model, rows.repeat(-(-counts["no_grad"] // size), 1, 1, 1))
    floor = time.perf_counter() - start
    per = args.images * args.iterations
    print(f"iGOS++ on {args.images} SceneCNN images, {args.iterations} iterations, torch threads "
          f"{torch.get_num_threads()}: insertion-deletion gap {result.final_score_gap.mean():.4f}")
    print(f"rows per image and iteration: {counts['grad'] / per:.0f} with gradient, {counts['no_grad'] / per:.0f} "
          f"without (line search)")
    print(f"ours {ours:.2f} s   floor {floor:.2f} s   ours / floor = {ours / floor:.2f}")


if __name__ == "__main__":
    main()
