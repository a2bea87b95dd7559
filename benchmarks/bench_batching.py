"""Is any method slower on a batch than on its images one by one?

    python benchmarks/bench_batching.py [--model scene_cnn] [--batch 16] [--methods a b ...]

For each registered method (those needing a fitted generator excepted), times one call on a batch of
``--batch`` test images and ``--batch`` calls of one image each, and prints both and the ratio
batched / one-by-one (target: <= 1 for every method; the maps must agree, the largest difference is printed).
"""
import argparse
import time

import torch

from xai_nb_utils import available_methods, explain, trained_model

#: methods that need a fitted relevance estimator (see benchmarks/bench_methods.py)
NEEDS_GENERATOR = {"dre", "mgnet"}
#: settings that keep the slow optimisation methods to seconds (the ratio, not the absolute time, is the point)
QUICK = {"igos": dict(iterations=5), "igos_pp": dict(iterations=5), "gax": dict(iterations=20),
         "ggig": dict(steps=5, iterations=10), "g3": dict(iterations=20), "geg": dict(n_models=20, max_draws=200),
         "opticam": dict(max_iter=20), "lime": dict(n_samples=100)}


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="scene_cnn", choices=["scene_cnn", "mnist_cnn"])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--methods", nargs="*", default=None)
    args = parser.parse_args()
    trained = trained_model(args.model, "smoke", device="cpu")
    x, y = trained.dataset.test.x[:args.batch], trained.dataset.test.y[:args.batch]
    methods = args.methods or [m for m in available_methods() if m not in NEEDS_GENERATOR]
    print(f"{args.model} (smoke), batch {args.batch}, torch threads {torch.get_num_threads()}")
    print(f"{'method':22s} {'batched s':>10s} {'one by one s':>13s} {'ratio':>6s} {'max |diff|':>11s}")
    worst = 0.0
    for method in methods:
        kwargs = QUICK.get(method, {})
        explain(method, trained.model, x[:1], y[:1], **kwargs)  # warm-up
        batched_s, batched = timed(lambda: explain(method, trained.model, x, y, **kwargs))
        single_s, singles = timed(lambda: torch.cat([explain(method, trained.model, x[i:i + 1], y[i:i + 1], **kwargs)
                                                     for i in range(len(x))]))
        ratio = batched_s / single_s
        worst = max(worst, ratio)
        difference = (batched - singles).abs().max().item()
        print(f"{method:22s} {batched_s:10.3f} {single_s:13.3f} {ratio:6.2f} {difference:11.1e}", flush=True)
    print(f"worst batched / one-by-one ratio: {worst:.2f} (target <= 1)")


if __name__ == "__main__":
    main()
