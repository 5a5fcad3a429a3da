#!/usr/bin/env python3
"""Python peer of `carve bench train`: a CAE training step written as a researcher would in
PyTorch (sigmoid encoder, tied weights, cross-entropy, analytic contractive penalty, SGD with
momentum). Prints {"ms": median step time, "examples_per_s": ...} for the given sizes."""
import argparse
import json

import torch

from peer_ae import TiedCAE, median_ms


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--inputs", type=int, default=784)
    p.add_argument("--hidden", type=int, default=1000)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    model = TiedCAE(a.inputs, a.hidden, device=a.device)
    data = torch.rand(20 * a.batch, a.inputs, device=a.device)
    i = 0

    def step():
        nonlocal i
        model.step(data[(i % 20) * a.batch:(i % 20 + 1) * a.batch])
        i += 1

    for _ in range(10):
        step()
    ms = median_ms(step, a.steps, a.device)
    print(json.dumps({"ms": ms, "examples_per_s": a.batch / (ms / 1e3), "threads": torch.get_num_threads(),
                      "device": a.device, "torch_version": torch.__version__}))


if __name__ == "__main__":
    main()
