"""Shared helpers of carve's Python tests (run by ctest: /usr/bin/python3 -m pytest tests/python,
PYTHONPATH=python, CARVE_OPS_LIBRARY and CARVE_EXE from the build)."""
import pytest
import torch

import carve  # noqa: F401  (loads the operators)


def jacobian_reference(encoder, x, create_graph=True):
    """[B, out, in] per-example Jacobians by torch.autograd.functional.jacobian, example by
    example: the float64 reference every penalty is checked against."""
    rows = []
    for b in range(x.shape[0]):
        j = torch.autograd.functional.jacobian(lambda v: encoder(v.unsqueeze(0)).squeeze(0), x[b],
                                               create_graph=create_graph)
        rows.append(j.reshape(j.shape[0], -1))
    return torch.stack(rows)


def contractive_reference(encoder, x):
    return jacobian_reference(encoder, x).pow(2).sum((1, 2)).mean()


def relative_error(a, b):
    """mlpack's ||a - b|| / ||a + b|| (0 when both are 0)."""
    a, b = a.detach().double().flatten(), b.detach().double().flatten()
    denominator = (a + b).norm().item()
    return 0.0 if denominator == 0 else (a - b).norm().item() / denominator


def chain(sizes, activations, seed=0, dtype=torch.float64):
    """nn.Sequential of Linear layers, each followed by an activation module."""
    torch.manual_seed(seed)
    modules = {"sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh, "softplus": torch.nn.Softplus,
               "relu": torch.nn.ReLU, "linear": torch.nn.Identity}
    layers = []
    for (i, o), a in zip(zip(sizes, sizes[1:]), activations):
        layers += [torch.nn.Linear(i, o), modules[a]()]
    return torch.nn.Sequential(*layers).to(dtype)


@pytest.fixture
def devices():
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
