#!/usr/bin/env python3
"""Python peer of `carve bench train`: a CAE training step written as a researcher would in
PyTorch (sigmoid encoder, tied weights, cross-entropy, analytic contractive penalty, SGD with
momentum). Prints {"ms": median step time, "examples_per_s": ...} for the given sizes."""
import argparse
import json
import statistics
import time

import torch

from peer_ae import TiedCAE


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--inputs", type=int, default=784)
    p.add_argument("--hidden", type=int, default=1000)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    model = TiedCAE(a.inputs, a.hidden)
    data = torch.rand(20 * a.batch, a.inputs)

    def step(i):
        model.step(data[(i % 20) * a.batch:(i % 20 + 1) * a.batch])

    for i in range(10):
        step(i)
    times = []
    for i in range(a.steps):
        start = time.perf_counter()
        step(i)
        times.append(time.perf_counter() - start)
    ms = 1e3 * statistics.median(times)
    print(json.dumps({"ms": ms, "examples_per_s": a.batch / (ms / 1e3), "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
