"""Time every registered saliency method on one batch and print seconds per batch and the ratio to Grad-CAM.

    python benchmarks/bench_methods.py [--model scene_cnn] [--batch 8] [--device auto] [--methods a b ...]

Uses the cached trained model of the ``smoke`` profile (trained on first use) unless ``--profile default``.
Timings depend on the machine and its load: compare ratios, and only between runs on the same device.
"""
import argparse
import time

import torch

from xai_nb_utils import available_methods, explain, resolve_device, trained_model

# methods that need a trained generator or take minutes per batch at their defaults
SLOW_OR_STATEFUL = {"dre", "mgnet", "gax"}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="scene_cnn", choices=["scene_cnn", "mnist_cnn"])
    parser.add_argument("--profile", default="smoke", choices=["smoke", "default"])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--methods", nargs="*", default=None)
    args = parser.parse_args()
    device = resolve_device(args.device)
    tm = trained_model(args.model, args.profile, device=device)
    x = tm.dataset.test.x[: args.batch].to(device)
    target = tm.dataset.test.y[: args.batch].to(device)
    methods = args.methods or [m for m in available_methods() if m not in SLOW_OR_STATEFUL]
    timings = {}
    for method in methods:
        explain(method, tm.model, x[:1], target[:1])  # warm-up
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(args.repeats):
            explain(method, tm.model, x, target)
        if device.type == "cuda":
            torch.cuda.synchronize()
        timings[method] = (time.perf_counter() - start) / args.repeats
    reference = timings.get("gradcam") or min(timings.values())
    print(f"{args.model} ({args.profile}), batch {args.batch}, device {device}, torch threads {torch.get_num_threads()}")
    print(f"{'method':24s} {'s/batch':>10s} {'s/image':>10s} {'x Grad-CAM':>11s}")
    for method, seconds in sorted(timings.items(), key=lambda kv: kv[1]):
        print(f"{method:24s} {seconds:10.4f} {seconds / args.batch:10.4f} {seconds / reference:11.1f}")


if __name__ == "__main__":
    main()
