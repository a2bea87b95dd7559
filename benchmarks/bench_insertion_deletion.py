"""Deletion curves: this workbook's ``insertion_deletion`` against Quantus' ``PixelFlipping``, side by side.

    python benchmarks/bench_insertion_deletion.py [--images 16] [--repeats 3]

Same model object, images, maps and convention (zeros baseline, one image row of pixels per step, softmax of
the label): the curves must agree (printed: the largest difference), then each side is timed (best of
``--repeats``) and the ratio Quantus / ours printed. Quantus does not score the unperturbed image, so its curve
is ours without the first point. MNIST only: Quantus steps over every channel of a pixel separately and
requires the step to divide H x W, so a colour image cannot be stepped a row of pixels at a time. Needs the ``bench`` extra (``pip install -e .[bench]``).
"""
import argparse
import time
import warnings

import numpy as np
import torch

from xai_nb_utils import explain, trained_model
from xai_nb_utils.core.evaluation import evaluate
from xai_nb_utils.metrics.perturbation import insertion_deletion


def best_time(fn, repeats: int) -> tuple[float, object]:
    result, times = None, []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="mnist_cnn", choices=["mnist_cnn"])
    parser.add_argument("--profile", default="smoke", choices=["smoke", "default"])
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import quantus

    trained = trained_model(args.model, args.profile, device="cpu")
    model, test = trained.model, trained.dataset.test
    x, y = test.x[:args.images], test.y[:args.images]
    maps = explain("saliency", model, x, y).abs().sum(1, keepdim=True)
    channels, _, width = x.shape[1:]
    metric = quantus.PixelFlipping(features_in_step=channels * width, perturb_baseline="black", abs=False,
                                   normalise=False, disable_warnings=True, display_progressbar=False)

    def theirs():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.array(metric(model=model, x_batch=x.numpy(), y_batch=y.numpy(), a_batch=maps.expand_as(x).numpy(),
                                   device="cpu", softmax=True, batch_size=len(x)))

    def ours():
        return insertion_deletion(model, x, maps, y, mode="deletion", baseline="zeros").scores

    rows = torch.rand(len(x) * (width + 1), *x.shape[1:])

    def floor():  # the model forwards alone, in the evaluation path's chunks
        return evaluate(model, rows)

    floor_s, _ = best_time(floor, args.repeats)
    ours_s, our_curves = best_time(ours, args.repeats)
    theirs_s, their_curves = best_time(theirs, args.repeats)
    difference = np.abs(our_curves[:, 1:] - their_curves).max()
    print(f"{args.model} ({args.profile}), {len(x)} images, {len(rows)} model rows, "
          f"torch threads {torch.get_num_threads()}")
    print(f"max |curve difference| {difference:.2e}")
    print(f"ours {ours_s:.3f} s   Quantus {theirs_s:.3f} s   Quantus / ours = {theirs_s / ours_s:.2f}x (target >= 3)")
    print(f"floor (forwards only) {floor_s:.3f} s   ours / floor = {ours_s / floor_s:.2f}")


if __name__ == "__main__":
    main()
