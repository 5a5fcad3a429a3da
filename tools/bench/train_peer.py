#!/usr/bin/env python3
"""Python peer of `carve bench train`: a CAE training step written as a researcher would in
PyTorch (sigmoid encoder, tied weights, cross-entropy, analytic contractive penalty, SGD with
momentum). Prints {"ms": median step time, "examples_per_s": ...} for the given sizes."""
import argparse
import json
import statistics
import time

import torch


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--inputs", type=int, default=784)
    p.add_argument("--hidden", type=int, default=1000)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    r = 4 * (6.0 / (a.inputs + a.hidden)) ** 0.5
    W = ((torch.rand(a.hidden, a.inputs) * 2 - 1) * r).requires_grad_()
    b = torch.zeros(a.hidden, requires_grad=True)
    c = torch.zeros(a.inputs, requires_grad=True)
    data = torch.rand(20 * a.batch, a.inputs)
    opt = torch.optim.SGD([W, b, c], lr=0.01, momentum=0.9)
    lam = 0.1

    def step(i):
        x = data[(i % 20) * a.batch:(i % 20 + 1) * a.batch]
        opt.zero_grad()
        h = torch.sigmoid(torch.nn.functional.linear(x, W, b))
        logits = torch.nn.functional.linear(h, W.t(), c)
        recon = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1).mean()
        d = h * (1 - h)
        penalty = torch.mv(d * d, W.pow(2).sum(1)).mean()
        (recon + lam * penalty).backward()
        opt.step()

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
