#!/usr/bin/env python3
"""Python peer of `carve bench penalty`: the same measurements in PyTorch (Debian python3-torch).

Prints one JSON object: milliseconds (median) for an AE step, an AE step plus the analytic
contractive penalty, and the exact penalty's forward + backward with vmap(jacrev) and
vmap(jacfwd) (functorch on 1.13, torch.func on 2.x; exact_functorch_ms is the fastest of them),
and the process's peak memory after the exact runs.
"""
import argparse
import json
import resource
import sys

import torch

from peer_ae import TiedCAE, median_ms


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--inputs", type=int, default=784)
    p.add_argument("--hidden", type=int, default=1000)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--exact-repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--skip-exact", action="store_true")
    p.add_argument("--device", default="cpu")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    model = TiedCAE(a.inputs, a.hidden, device=a.device)
    x = torch.rand(a.batch, a.inputs, device=a.device)

    def ae_step():
        model.step(x, contractive=False)

    def analytic_step():
        model.step(x, contractive=True)

    result = {
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "device": a.device,
        "ae_step_ms": median_ms(ae_step, a.repeats, a.device),
        "ae_analytic_step_ms": median_ms(analytic_step, a.repeats, a.device),
    }

    if not a.skip_exact:
        try:  # PyTorch >= 2.0 (which still ships functorch, deprecated)
            from torch.func import jacfwd, jacrev, vmap
            library = "torch.func"
        except ImportError:  # PyTorch 1.13
            from functorch import jacfwd, jacrev, vmap
            library = "functorch"

        def exact_with(transform):
            def exact():
                J = vmap(transform(model.encode))(x)  # [B, H, D]
                penalty = J.pow(2).sum() / a.batch
                torch.autograd.grad(penalty, [model.W, model.b])
            return exact

        result["func_library"] = library
        times = {}
        for name, transform in (("jacrev", jacrev), ("jacfwd", jacfwd)):
            try:
                times[name] = median_ms(exact_with(transform), a.exact_repeats, a.device)
            except (RuntimeError, NotImplementedError) as e:  # a transform this version cannot differentiate
                result[f"exact_{name}_error"] = str(e).splitlines()[0]
            else:
                result[f"exact_{name}_ms"] = times[name]
        # The fastest way (what the comparison is against) and which it was.
        if times:
            fastest = min(times, key=times.get)
            result["exact_functorch_ms"] = times[fastest]
            result["exact_functorch_way"] = f"{library} vmap({fastest})"
        if torch.device(a.device).type == "cpu":  # the host's peak; on CUDA the Jacobians are on the device
            result["exact_peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
