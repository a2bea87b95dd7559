"""Deletion curves: this workbook's ``insertion_deletion`` against Quantus' ``PixelFlipping``, side by side.

    python benchmarks/bench_insertion_deletion.py [--images 16] [--repeats 3]

Same model object, images, maps and convention (zeros baseline, one image row of pixels per step, softmax of
the label): the curves must agree (printed: the largest difference), then each side is timed (best of
``--repeats``) and the ratio Quantus / ours printed. Quantus does not score the unperturbed image, so its curve
is ours without the first point. MNIST only: Quantus steps over every channel of a pixel separately and
requires the step to divide H x W, so a colour image cannot be stepped a row of pixels at a time. Needs the ``bench`` extra (``pip install -e .[bench]``).

Two kinds of map (``--methods``): Saliency (|gradient|) ranks background pixels among the digit's, so nearly every
step changes the image and both sides evaluate every row; Integrated Gradients is zero where the pixel is, so once
the digit is deleted the remaining steps change nothing and ours evaluates only the distinct images (printed: rows
evaluated), while Quantus evaluates them all.
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


def rows_evaluated(fn, model) -> int:
    """Rows ``fn()`` passes through ``model``, less the one row of ``insertion_deletion``'s input check."""
    rows = []
    hook = model.register_forward_hook(lambda module, inputs, output: rows.append(len(output)))
    try:
        fn()
    finally:
        hook.remove()
    return sum(rows) - 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="mnist_cnn", choices=["mnist_cnn"])
    parser.add_argument("--profile", default="smoke", choices=["smoke", "default"])
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--methods", nargs="+", default=["saliency", "integrated_gradients"])
    args = parser.parse_args()
    import quantus

    trained = trained_model(args.model, args.profile, device="cpu")
    model, test = trained.model, trained.dataset.test
    x, y = test.x[:args.images], test.y[:args.images]
    channels, height, width = x.shape[1:]
    metric = quantus.PixelFlipping(features_in_step=channels * width, perturb_baseline="black", abs=False,
                                   normalise=False, disable_warnings=True, display_progressbar=False)
    rows = torch.rand(len(x) * (height + 1), *x.shape[1:])
    floor_s, _ = best_time(lambda: evaluate(model, rows), args.repeats)  # the forwards alone, in our chunks
    print(f"{args.model} ({args.profile}), {len(x)} images, {len(rows)} curve points, "
          f"torch threads {torch.get_num_threads()}; floor (every point through the model) {floor_s:.3f} s")
    for method in args.methods:
        maps = explain(method, model, x, y).abs().sum(1, keepdim=True)

        def theirs():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return np.array(metric(model=model, x_batch=x.numpy(), y_batch=y.numpy(),
                                       a_batch=maps.expand_as(x).numpy(), device="cpu", softmax=True,
                                       batch_size=len(x)))

        def ours():
            return insertion_deletion(model, x, maps, y, mode="deletion", baseline="zeros").scores

        ours_s, our_curves = best_time(ours, args.repeats)
        theirs_s, their_curves = best_time(theirs, args.repeats)
        print(f"{method}: max |curve difference| {np.abs(our_curves[:, 1:] - their_curves).max():.2e}; "
              f"ours evaluates {rows_evaluated(ours, model)} of {len(rows)} points")
        print(f"  ours {ours_s:.3f} s   Quantus {theirs_s:.3f} s   Quantus / ours = {theirs_s / ours_s:.2f}x "
              f"(target >= 3)   ours / floor = {ours_s / floor_s:.2f}")


if __name__ == "__main__":
    main()
