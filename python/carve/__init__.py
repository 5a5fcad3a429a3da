"""carve from Python: carve's contractive penalties as PyTorch operators, and carve's run
directories as Python objects.

    import torch, carve
    encoder = torch.nn.Sequential(torch.nn.Linear(784, 1000), torch.nn.Sigmoid())
    x = torch.rand(100, 784)
    loss = recon(x) + 0.1 * carve.contractive_penalty(encoder, x)                # closed form
    loss = recon(x) + 0.1 * carve.contractive_penalty(encoder, x, method="exact")  # any encoder

    run = carve.load_run("runs/quickstart/contractive.weight=0.05")
    run.summary["best"]["test_reconstruction"], run.metrics["loss"], run.encoder(x)

The operators themselves are torch.ops.carve.* (also callable from TorchScript); their
signatures are in docs/OPERATORS.md. Importing carve loads them (carve.load_library).
"""
from ._library import load_library
from .penalties import affine_layers, contractive_penalty, higher_order_penalty
from .runs import Run, load_run, load_runs

import torch as _torch

load_library()
ops = _torch.ops.carve

__all__ = ["affine_layers", "contractive_penalty", "higher_order_penalty", "load_library",
           "load_run", "load_runs", "ops", "Run"]
