"""The evaluation path's choices: rows per forward pass and memory format, on the embedded image models.

    python benchmarks/bench_evaluation.py [--rows 256]

For SceneCNN (64 px) and the MNIST CNN, times ``--rows`` rows pushed through the model in chunks of 8 ... all rows,
forward only (inference mode) and forward + backward, with the model in contiguous and in ``channels_last``
memory format; prints seconds and each cell's ratio to the best. ``core.evaluation.CHUNK_ROWS`` and
``fast_layout`` are chosen from this table.
"""
import argparse
import time

import torch

from xai_nb_utils.core.evaluation import CHUNK_ROWS
from xai_nb_utils.models.networks import MnistCNN, SceneCNN

CHUNKS = (8, 16, 32, 64, 128, 256)


def best_of(fn, repeats: int = 3) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def forward(model, rows, chunk):
    with torch.inference_mode():
        for first in range(0, len(rows), chunk):
            model(rows[first:first + chunk])


def forward_backward(model, rows, chunk):
    for first in range(0, len(rows), chunk):
        inputs = rows[first:first + chunk].clone().requires_grad_(True)
        torch.autograd.grad(model(inputs)[:, 0].sum(), inputs)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=256)
    args = parser.parse_args()
    print(f"{args.rows} rows, torch threads {torch.get_num_threads()}, CHUNK_ROWS on cpu = {CHUNK_ROWS['cpu']}")
    for name, build in (("SceneCNN", lambda: SceneCNN(10, "conv")), ("MnistCNN", MnistCNN)):
        model = build().eval()
        rows = torch.rand(args.rows, *((3, 64, 64) if name == "SceneCNN" else MnistCNN.input_shape))
        for pass_name, run in (("fwd", forward), ("fwd+bwd", forward_backward)):
            table = {}
            for layout in ("contiguous", "channels_last"):
                if layout == "channels_last":
                    model = model.to(memory_format=torch.channels_last)
                for chunk in (*CHUNKS, args.rows):
                    table[layout, chunk] = best_of(lambda: run(model, rows, chunk))
            best = min(table.values())
            for layout in ("contiguous", "channels_last"):
                cells = "  ".join(f"{chunk:>4d}: {table[layout, chunk]:.3f}s ({table[layout, chunk] / best:.2f})"
                                  for chunk in (*CHUNKS, args.rows))
                print(f"{name:9s} {pass_name:8s} {layout:14s} {cells}", flush=True)
            model = build().eval()


if __name__ == "__main__":
    main()
