#!/usr/bin/env python3
"""Python peer of `carve bench penalty`: the same measurements in PyTorch (Debian python3-torch).

Prints one JSON object: milliseconds (median) for an AE step, an AE step plus the analytic
contractive penalty, and the exact penalty's forward + backward with functorch vmap(jacrev), and
the process's peak memory after the exact runs.
"""
import argparse
import json
import resource
import statistics
import sys
import time

import torch


def median_ms(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(1e3 * (time.perf_counter() - start))
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--inputs", type=int, default=784)
    p.add_argument("--hidden", type=int, default=1000)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--exact-repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--skip-exact", action="store_true")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    r = 4 * (6.0 / (a.inputs + a.hidden)) ** 0.5
    W = ((torch.rand(a.hidden, a.inputs) * 2 - 1) * r).requires_grad_()
    b = torch.zeros(a.hidden, requires_grad=True)
    c = torch.zeros(a.inputs, requires_grad=True)
    x = torch.rand(a.batch, a.inputs)
    opt = torch.optim.SGD([W, b, c], lr=0.01, momentum=0.9)
    lam = 0.1

    def encode(v):
        return torch.sigmoid(torch.nn.functional.linear(v, W, b))

    def recon(h):
        logits = torch.nn.functional.linear(h, W.t(), c)
        return torch.nn.functional.binary_cross_entropy_with_logits(
            logits, x, reduction="none").sum(1).mean()

    def ae_step():
        opt.zero_grad()
        recon(encode(x)).backward()
        opt.step()

    def analytic_step():
        opt.zero_grad()
        h = encode(x)
        d = h * (1 - h)
        penalty = torch.mv(d * d, W.pow(2).sum(1)).mean()
        (recon(h) + lam * penalty).backward()
        opt.step()

    result = {
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "ae_step_ms": median_ms(ae_step, a.repeats),
        "ae_analytic_step_ms": median_ms(analytic_step, a.repeats),
    }

    if not a.skip_exact:
        try:
            from functorch import jacrev, vmap
        except ImportError:  # PyTorch >= 2.0
            from torch.func import jacrev, vmap

        def exact():
            J = vmap(jacrev(encode))(x)  # [B, H, D]
            penalty = J.pow(2).sum() / a.batch
            torch.autograd.grad(penalty, [W, b])

        result["exact_functorch_ms"] = median_ms(exact, a.exact_repeats)
        result["exact_peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
