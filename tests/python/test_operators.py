"""torch.ops.carve.* against torch.autograd in float64: values and gradients to 1e-6 (relative),
gradcheck / gradgradcheck, TorchScript scripting, saving and loading, and argument errors."""
import io
import math

import pytest
import torch
from torch.autograd import gradcheck, gradgradcheck

import carve
from conftest import chain, contractive_reference, jacobian_reference, relative_error

TOLERANCE = 1e-6
ACTIVATIONS = ["sigmoid", "tanh", "softplus", "relu", "linear"]


def gradients(value, params):
    """d value / d params; zeros where value does not depend on a parameter (ReLU's bias)."""
    grads = torch.autograd.grad(value, params, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for g, p in zip(grads, params)]


def check_against_reference(encoder, x, value, reference):
    params = list(encoder.parameters())
    assert relative_error(value, reference) < TOLERANCE, (value.item(), reference.item())
    for g, r in zip(gradients(value, params), gradients(reference, params)):
        assert relative_error(g, r) < TOLERANCE


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("sizes", [[6, 5], [6, 5, 4]])
def test_analytic_matches_autograd(activation, sizes):
    encoder = chain(sizes, [activation] * (len(sizes) - 1), seed=1)
    x = torch.rand(7, sizes[0], dtype=torch.float64)
    value = carve.contractive_penalty(encoder, x, "analytic")
    check_against_reference(encoder, x, value, contractive_reference(encoder, x))


class NotAChain(torch.nn.Module):
    """An encoder no closed form covers: a product of two branches and a LayerNorm."""

    def __init__(self, inputs, hidden, norm=True):
        super().__init__()
        self.a = torch.nn.Linear(inputs, hidden)
        self.b = torch.nn.Linear(inputs, hidden)
        self.norm = torch.nn.LayerNorm(hidden) if norm else torch.nn.Identity()

    def forward(self, x):
        return self.norm(torch.tanh(self.a(x)) * torch.sin(self.b(x)))


@pytest.mark.parametrize("mode", ["auto", "reverse", "forward"])
@pytest.mark.parametrize("shape", ["chain", "wide chain", "other"])
def test_exact_matches_autograd(mode, shape):
    torch.manual_seed(2)
    # Forward mode differentiates through third derivatives, which 1.13 gets wrong for LayerNorm
    # (tests/penalty/contractive_test.cpp): the product of branches alone then. A wide chain
    # (fewer inputs than codes) is where the wrappers' "auto" takes forward mode.
    encoder = {"chain": lambda: chain([6, 5, 4], ["sigmoid", "tanh"], seed=2),
               "wide chain": lambda: chain([6, 9], ["softplus"], seed=2),
               "other": lambda: NotAChain(6, 5, norm=mode != "forward").double()}[shape]()
    x = torch.rand(7, 6, dtype=torch.float64)
    value = carve.contractive_penalty(encoder, x, "exact", mode=mode)
    check_against_reference(encoder, x, value, contractive_reference(encoder, x))


@pytest.mark.parametrize("mode", ["auto", "factored", "forward", "reverse"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("sizes", [[6, 5], [6, 5, 4]])
def test_exact_on_layers_matches_autograd(mode, activation, sizes):
    encoder = chain(sizes, [activation] * (len(sizes) - 1), seed=4)
    x = torch.rand(7, sizes[0], dtype=torch.float64)
    weights, biases, activations = carve.affine_layers(encoder)
    value = torch.ops.carve.contractive_exact_layers(x, weights, biases, activations, mode)
    check_against_reference(encoder, x, value, contractive_reference(encoder, x))


def test_factored_mode_through_the_wrapper():
    encoder = chain([8, 6, 5], ["softplus", "sigmoid"], seed=5)
    x = torch.rand(4, 8, dtype=torch.float64)
    value = carve.contractive_penalty(encoder, x, "exact", mode="factored")
    check_against_reference(encoder, x, value, contractive_reference(encoder, x))
    with torch.no_grad():
        assert relative_error(carve.contractive_penalty(encoder, x, "exact", mode="factored"), value) < 1e-14
    with pytest.raises(TypeError, match="mode='factored' needs Linear \\+ elementwise layers"):
        carve.contractive_penalty(NotAChain(8, 3).double(), x, "exact", mode="factored")


def test_exact_takes_batches_of_any_shape():
    torch.manual_seed(3)
    conv = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Tanh(), torch.nn.Flatten()).double()
    x = torch.rand(3, 1, 5, 5, dtype=torch.float64)
    value = carve.contractive_penalty(conv, x, "exact")
    check_against_reference(conv, x, value, contractive_reference(conv, x))


@pytest.mark.parametrize("projection", ["gaussian", "rademacher"])
def test_stochastic_is_the_projection_estimate(projection):
    encoder = chain([6, 5], ["tanh"], seed=4)
    x = torch.rand(7, 6, dtype=torch.float64)
    torch.manual_seed(11)
    value, error = carve.contractive_penalty(encoder, x, "stochastic", projections=3,
                                             projection=projection, return_standard_error=True)
    # The same draws by hand: v from torch's default generator, shaped like h, one per projection.
    torch.manual_seed(11)
    jac = jacobian_reference(encoder, x)
    estimates = []
    for _ in range(3):
        v = (torch.randn(7, 5, dtype=torch.float64) if projection == "gaussian"
             else torch.randint(0, 2, (7, 5), dtype=torch.float64) * 2 - 1)
        estimates.append(torch.einsum("bj,bji->bi", v, jac).pow(2).sum(1).mean())
    estimates = torch.stack(estimates)
    check_against_reference(encoder, x, value, estimates.mean())
    assert error == pytest.approx(estimates.std().item() / math.sqrt(3), rel=1e-6)


def test_stochastic_is_unbiased():
    encoder = chain([8, 6], ["sigmoid"], seed=5)
    x = torch.rand(5, 8, dtype=torch.float64)
    torch.manual_seed(12)
    value, error = carve.contractive_penalty(encoder, x, "stochastic", projections=4000,
                                             return_standard_error=True)
    exact = carve.contractive_penalty(encoder, x, "exact")
    assert abs(value.item() - exact.item()) < 4 * error


def test_three_methods_agree_on_a_carve_sized_problem():
    encoder = chain([30, 20], ["sigmoid"], seed=6, dtype=torch.float32)
    x = torch.rand(16, 30)
    analytic = carve.contractive_penalty(encoder, x, "analytic")
    exact = carve.contractive_penalty(encoder, x, "exact")
    assert relative_error(analytic, exact) < 1e-5  # float32


@pytest.mark.parametrize("method", ["analytic", "exact"])
@pytest.mark.parametrize("sizes", [[6, 5], [6, 5, 4]])
def test_higher_order_matches_autograd(method, sizes):
    encoder = chain(sizes, ["tanh"] * (len(sizes) - 1), seed=7)
    x = torch.rand(4, sizes[0], dtype=torch.float64)
    torch.manual_seed(13)
    value = carve.higher_order_penalty(encoder, x, sigma=0.3, corruptions=3, method=method)
    torch.manual_seed(13)
    x_tilde = torch.cat([x + 0.3 * torch.randn_like(x) for _ in range(3)])
    j0 = jacobian_reference(encoder, x)
    j1 = jacobian_reference(encoder, x_tilde).view(3, 4, *j0.shape[1:])
    reference = (j1 - j0.unsqueeze(0)).pow(2).sum((2, 3)).mean()
    check_against_reference(encoder, x, value, reference)


# gradcheck in float64: every operator, with respect to the input and the parameters.

def test_gradcheck_analytic():
    x = torch.rand(3, 4, dtype=torch.float64, requires_grad=True)
    w1 = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    b1 = torch.randn(3, dtype=torch.float64, requires_grad=True)
    w2 = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    b2 = torch.randn(2, dtype=torch.float64, requires_grad=True)
    one = lambda x, w, b: torch.ops.carve.contractive_analytic(x, [w], [b], ["sigmoid"])
    two = lambda x, w1, b1, w2, b2: torch.ops.carve.contractive_analytic(
        x, [w1, w2], [b1, b2], ["tanh", "softplus"])
    assert gradcheck(one, (x, w1, b1))
    assert gradgradcheck(one, (x, w1, b1))
    assert gradcheck(two, (x, w1, b1, w2, b2))
    assert gradgradcheck(two, (x, w1, b1, w2, b2))
    x_tilde = (x.detach().repeat(2, 1) + 0.2 * torch.randn(6, 4, dtype=torch.float64)).requires_grad_()
    higher = lambda x, xt, w, b: torch.ops.carve.higher_order_analytic(x, xt, [w], [b], ["tanh"])
    assert gradcheck(higher, (x, x_tilde, w1, b1))


def encoder_fn(x, w, b):
    return torch.tanh(torch.nn.functional.linear(x, w, b))


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_gradcheck_exact(mode):
    x = torch.rand(3, 4, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, dtype=torch.float64, requires_grad=True)

    def exact(x, w, b):
        return torch.ops.carve.contractive_exact(x, encoder_fn(x, w, b), mode)

    def higher(x, xt, w, b):
        return torch.ops.carve.higher_order_exact(x, encoder_fn(x, w, b), xt, encoder_fn(xt, w, b), mode)

    assert gradcheck(exact, (x, w, b))
    assert gradgradcheck(exact, (x, w, b))
    x_tilde = (x.detach().repeat(2, 1) + 0.2 * torch.randn(6, 4, dtype=torch.float64)).requires_grad_()
    assert gradcheck(higher, (x, x_tilde, w, b))


def test_gradcheck_exact_on_layers():
    x = torch.rand(3, 4, dtype=torch.float64)
    w1 = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    b1 = torch.randn(3, dtype=torch.float64, requires_grad=True)
    w2 = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    b2 = torch.randn(2, dtype=torch.float64, requires_grad=True)
    for mode in ["factored", "reverse"]:
        two = lambda w1, b1, w2, b2: torch.ops.carve.contractive_exact_layers(
            x, [w1, w2], [b1, b2], ["tanh", "softplus"], mode)
        assert gradcheck(two, (w1, b1, w2, b2))


def test_gradcheck_stochastic():
    x = torch.rand(3, 4, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, dtype=torch.float64, requires_grad=True)

    def stochastic(x, w, b):
        torch.manual_seed(14)  # the same projections at every evaluation
        return torch.ops.carve.contractive_stochastic(x, encoder_fn(x, w, b), 2, "gaussian")[0]

    assert gradcheck(stochastic, (x, w, b))
    assert gradgradcheck(stochastic, (x, w, b))


# TorchScript: modules that call the operators script, save, load and give the same numbers.

class ScriptedCAE(torch.nn.Module):
    def __init__(self, inputs: int, hidden: int):
        super().__init__()
        self.encoder = torch.nn.Linear(inputs, hidden)
        self.decoder = torch.nn.Linear(hidden, inputs)

    def forward(self, x):
        h = torch.sigmoid(self.encoder(x))
        recon = torch.sigmoid(self.decoder(h))
        penalty = torch.ops.carve.contractive_analytic(x, [self.encoder.weight], [self.encoder.bias],
                                                       ["sigmoid"])
        return torch.nn.functional.binary_cross_entropy(recon, x) + 0.1 * penalty

    @torch.jit.export
    def exact(self, x):
        leaf = x.detach().requires_grad_()
        return torch.ops.carve.contractive_exact(leaf, torch.sigmoid(self.encoder(leaf)), "auto")

    @torch.jit.export
    def stochastic(self, x):
        leaf = x.detach().requires_grad_()
        return torch.ops.carve.contractive_stochastic(leaf, torch.sigmoid(self.encoder(leaf)), 2,
                                                      "rademacher")[0]


def test_scripted_module_calls_the_operators_saved_and_loaded():
    torch.manual_seed(8)
    eager = ScriptedCAE(6, 4).double()
    x = torch.rand(5, 6, dtype=torch.float64)
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(eager), buffer)
    buffer.seek(0)
    loaded = torch.jit.load(buffer)
    assert "ops.carve.contractive_analytic" in loaded.code
    for _ in range(4):  # past the profiling executor's first runs, onto its optimized graph
        for method in ["forward", "exact", "stochastic"]:
            torch.manual_seed(15)
            want = getattr(eager, method)(x)
            want_grads = gradients(want, list(eager.parameters()))
            torch.manual_seed(15)
            got = getattr(loaded, method)(x)
            got_grads = gradients(got, list(loaded.parameters()))
            assert relative_error(got, want) < 1e-12, method
            for g, w in zip(got_grads, want_grads):
                assert relative_error(g, w) < 1e-12, method


# Arguments: errors name the value (ValueError), nothing crashes.

def test_bad_arguments_are_value_errors():
    x = torch.rand(3, 4)
    w, b = torch.randn(2, 4), torch.randn(2)
    with pytest.raises(ValueError, match="unknown activation 'sigmoidal'"):
        torch.ops.carve.contractive_analytic(x, [w], [b], ["sigmoidal"])
    with pytest.raises(ValueError, match="does not take 5 inputs"):
        torch.ops.carve.contractive_analytic(torch.rand(3, 5), [w], [b], ["tanh"])
    with pytest.raises(ValueError, match="one bias and one activation per weight"):
        torch.ops.carve.contractive_analytic(x, [w], [], ["tanh"])
    with pytest.raises(ValueError, match="x must require grad"):
        torch.ops.carve.contractive_exact(x, torch.tanh(x), "auto")
    leaf = x.clone().requires_grad_()
    with pytest.raises(ValueError, match="unknown Jacobian mode 'sideways'"):
        torch.ops.carve.contractive_exact(leaf, torch.tanh(leaf), "sideways")
    with pytest.raises(ValueError, match="'factored' needs the encoder's layers"):
        torch.ops.carve.contractive_exact(leaf, torch.tanh(leaf), "factored")
    with pytest.raises(ValueError, match="unknown Jacobian mode 'sideways'"):
        torch.ops.carve.contractive_exact_layers(x, [w], [b], ["tanh"], "sideways")
    with pytest.raises(ValueError, match="the exact penalty takes a batch"):
        torch.ops.carve.contractive_exact_layers(torch.rand(3, 2, 2), [w], [b], ["tanh"], "auto")
    with pytest.raises(ValueError, match="projections must be at least 1"):
        torch.ops.carve.contractive_stochastic(leaf, torch.tanh(leaf), 0, "gaussian")
    with pytest.raises(ValueError, match="unknown projection 'uniform'"):
        torch.ops.carve.contractive_stochastic(leaf, torch.tanh(leaf), 1, "uniform")
    with pytest.raises(ValueError, match="x_tilde must stack"):
        torch.ops.carve.higher_order_analytic(x, torch.rand(4, 4), [w], [b], ["tanh"])
    with pytest.raises(TypeError, match="Linear \\+ elementwise"):
        carve.contractive_penalty(NotAChain(4, 3), x)


def test_no_grad_gives_the_value_alone():
    encoder = chain([6, 5], ["sigmoid"], seed=9)
    x = torch.rand(4, 6, dtype=torch.float64)
    want = carve.contractive_penalty(encoder, x, "exact")
    with torch.no_grad():
        for method in ["analytic", "exact"]:
            got = carve.contractive_penalty(encoder, x, method)
            assert not got.requires_grad
            assert relative_error(got, want) < TOLERANCE


def test_cuda_matches_cpu(devices):
    if "cuda" not in devices:
        pytest.skip("no CUDA device")
    encoder = chain([6, 5, 4], ["sigmoid", "tanh"], seed=10)
    x = torch.rand(7, 6, dtype=torch.float64)
    for method, mode in [("analytic", "auto"), ("exact", "auto"), ("exact", "factored")]:
        want = carve.contractive_penalty(encoder, x, method, mode=mode)
        got = carve.contractive_penalty(encoder.cuda(), x.cuda(), method, mode=mode)
        encoder.cpu()
        assert relative_error(got.cpu(), want) < 1e-10, (method, mode)
