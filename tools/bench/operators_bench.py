#!/usr/bin/env python3
"""carve's penalty operators called from Python beside the same computations written in PyTorch,
in one process, median milliseconds of value + gradient to the encoder's parameters:

  analytic  torch.ops.carve.contractive_analytic   vs the closed form in PyTorch
            sum_j f'(a_j)^2 ||W_j||^2 (what a researcher writes; the operator's call overhead)
  exact     torch.ops.carve.contractive_exact (reverse mode: one VJP per code unit; forward
            mode: one per input unit), torch.ops.carve.contractive_exact_layers in factored
            mode (on carve's own graph of the layer), vs the reverse-mode VJP loop in Python,
            and vmap(jacrev(f)) from torch.func (functorch on 1.13)

for a sigmoid layer at a tiny size (where overhead shows), and at MNIST sizes (784 -> 1000,
batch 100 is the paper's; --quick leaves its exact penalty out). Prints a table and,
with --json, one JSON object. Run from a checkout after tools/setup.sh:

  PYTHONPATH=python /usr/bin/python3 tools/bench/operators_bench.py [--threads 1] [--json]
"""
import argparse
import json
import statistics
import time

import torch

import carve

try:
    from torch.func import jacrev, vmap
    FUNC = "torch.func"
except ImportError:  # PyTorch 1.13: functorch
    from functorch import jacrev, vmap
    FUNC = "functorch"


def median_ms(fn, repeats, seconds=5.0):
    """Median of at least `repeats` timed calls (up to 3x as many within `seconds`)."""
    fn()  # warm-up
    times = []
    deadline = time.perf_counter() + seconds
    while len(times) < repeats or (len(times) < 3 * repeats and time.perf_counter() < deadline):
        start = time.perf_counter()
        fn()
        times.append(1e3 * (time.perf_counter() - start))
        if len(times) >= repeats and time.perf_counter() > deadline:
            break
    return statistics.median(times)


def layer(inputs, hidden, seed=0):
    torch.manual_seed(seed)
    w = (torch.randn(hidden, inputs) * (1.0 / inputs ** 0.5)).requires_grad_()
    b = torch.zeros(hidden, requires_grad=True)
    return w, b


def analytic_cases(inputs, hidden, batch):
    w, b = layer(inputs, hidden)
    x = torch.rand(batch, inputs)
    params = [w, b]

    def op():
        torch.autograd.grad(torch.ops.carve.contractive_analytic(x, [w], [b], ["sigmoid"]), params)

    def pytorch():
        h = torch.sigmoid(torch.nn.functional.linear(x, w, b))
        d = h * (1 - h)
        torch.autograd.grad(torch.mv(d * d, w.pow(2).sum(1)).mean(), params)

    return {"carve operator": op, "PyTorch closed form": pytorch}


def exact_cases(inputs, hidden, batch):
    w, b = layer(inputs, hidden)
    x = torch.rand(batch, inputs)
    params = [w, b]

    def encode(v):
        return torch.sigmoid(torch.nn.functional.linear(v, w, b))

    def op(mode):
        leaf = x.detach().requires_grad_()
        torch.autograd.grad(torch.ops.carve.contractive_exact(leaf, encode(leaf), mode), params)

    def python_loop():  # the same algorithm: one differentiable VJP per code unit
        leaf = x.detach().requires_grad_()
        h = encode(leaf)
        total = 0
        for j in range(hidden):
            e = torch.zeros_like(h)
            e[:, j] = 1
            row = torch.autograd.grad(h, leaf, e, retain_graph=True, create_graph=True)[0]
            total = total + row.pow(2).sum()
        torch.autograd.grad(total / batch, params)

    def func():
        J = vmap(jacrev(encode))(x)  # [B, H, D]
        torch.autograd.grad(J.pow(2).sum() / batch, params)

    def layers_op():  # on carve's own graph of the layer: the first layer factored out
        torch.autograd.grad(torch.ops.carve.contractive_exact_layers(x, [w], [b], ["sigmoid"], "factored"), params)

    return {"carve operator": lambda: op("reverse"), "carve operator, forward mode": lambda: op("forward"),
            "carve operator on layers, factored mode": layers_op,
            "same VJP loop in Python": python_loop, f"{FUNC} vmap(jacrev)": func}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--json", action="store_true")
    p.add_argument("--quick", action="store_true", help="leave out the exact penalty at the paper's size")
    p.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat: that it runs (a test)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    shapes = [("analytic", 20, 10, 8), ("analytic", 784, 1000, 100),
              ("exact", 20, 10, 8), ("exact", 784, 100, 20)]
    if not a.quick:  # the paper's size: seconds per call
        shapes.append(("exact", 784, 1000, 100))
    if a.smoke:
        shapes, a.repeats = [s for s in shapes if s[1] == 20], 1
    rows = []
    for kind, inputs, hidden, batch in shapes:
        cases = (analytic_cases if kind == "analytic" else exact_cases)(inputs, hidden, batch)
        repeats = a.repeats if kind == "analytic" or hidden <= 10 else 3 if hidden >= 1000 else max(3, a.repeats // 4)
        timed = {name: median_ms(fn, repeats) for name, fn in cases.items()}
        base = timed["carve operator"]
        for name, ms in timed.items():
            rows.append({"penalty": kind, "inputs": inputs, "hidden": hidden, "batch": batch,
                         "implementation": name, "ms": ms, "ratio_to_operator": ms / base})
    result = {"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": rows}
    if a.json:
        print(json.dumps(result))
        return
    print(f"torch {result['torch']}, {result['threads']} thread(s); value + gradient, median ms")
    print("| penalty | D -> H, batch | implementation | ms | x operator |")
    print("|---|---|---|---:|---:|")
    for r in rows:
        print(f"| {r['penalty']} | {r['inputs']} -> {r['hidden']}, {r['batch']} | {r['implementation']} | "
              f"{r['ms']:.3g} | {r['ratio_to_operator']:.2f} |")


if __name__ == "__main__":
    main()
