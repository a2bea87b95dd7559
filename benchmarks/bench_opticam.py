"""Opti-CAM against its floor and against Score-CAM (pytorch-grad-cam), side by side.

    python benchmarks/bench_opticam.py [--batch 8] [--iterations 100]

Opti-CAM (SceneCNN 64 px, the paper's settings, ``tol=0`` so every image runs all iterations) against its floor,
``--iterations`` forward + backward passes of the batch through the bare model (the least any implementation of the
optimisation must do), and against Score-CAM, the gradient-free CAM of the same family. Prints seconds and the
ratios ours / floor (target <= 1.1) and Score-CAM / ours.
"""
import argparse
import time

import torch
from common import integer_arguments, scene_images

from xai_nb_utils import explain
from xai_nb_utils.methods.opticam import optimize_opticam


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main():
    args = argparse.Namespace(**integer_arguments(__doc__, batch=8, iterations=100))
    model, x, y = scene_images(args.batch)
    optimize_opticam(model, x[:1], y[:1], max_iter=2)  # warm-up

    def floor():
        for _ in range(args.iterations):
            inputs = x.clone().requires_grad_(True)
            torch.autograd.grad(model(inputs)[:, 0].sum(), inputs)

    ours_s = timed(lambda: optimize_opticam(model, x, y, max_iter=args.iterations, tol=0.0))
    floor_s = timed(floor)
    scorecam_s = timed(lambda: explain("scorecam", model, x, y))
    print(f"Opti-CAM, SceneCNN, batch {args.batch}, {args.iterations} iterations, torch threads "
          f"{torch.get_num_threads()}")
    print(f"ours {ours_s:.2f} s   floor {floor_s:.2f} s   ours / floor = {ours_s / floor_s:.2f} (target <= 1.1)")
    print(f"Score-CAM {scorecam_s:.2f} s   Score-CAM / ours = {scorecam_s / ours_s:.2f}")


if __name__ == "__main__":
    main()
