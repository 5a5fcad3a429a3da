"""The contractive and higher-order penalties for any torch.nn.Module encoder.

Three methods that agree (carve's tests check it):
  analytic    closed form; needs an encoder made of Linear + elementwise layers (affine_layers);
  exact       autograd only: the Jacobian formed unit by unit on the encoder's own graph and
              differentiated by a true double backward; any differentiable encoder whose
              examples are independent (no batch statistics); mode="factored" instead runs
              autograd on carve's own graph of the layers affine_layers finds, blocks of
              columns at a time (several times faster for Linear + elementwise encoders);
  stochastic  Hutchinson's estimate E_v ||v^T J||^2 with `projections` random draws.

Gradients reach the encoder's parameters; x itself is treated as data (detached).
"""
import torch

_ACTIVATIONS = {
    torch.nn.Sigmoid: "sigmoid",
    torch.nn.Tanh: "tanh",
    torch.nn.ReLU: "relu",
    torch.nn.Identity: "linear",
}


def _ops():
    return torch.ops.carve


def _carve_encoder_layers(module):
    """A carve encoder.pt: weight/bias (one layer) or weight_l/bias_l, attribute activations."""
    count = int(module.layers)
    if hasattr(module, "activations"):
        activations = list(module.activations)
    elif count == 1:  # written before the attribute existed
        activations = [str(module.activation)]
    else:
        raise TypeError("this encoder.pt predates the `activations` attribute: export it again "
                        "with `carve export`, or use method='exact' or 'stochastic'")
    if count == 1:
        return [module.weight], [module.bias], activations
    return ([getattr(module, f"weight_{l}") for l in range(count)],
            [getattr(module, f"bias_{l}") for l in range(count)], activations)


def _flatten(module):
    if isinstance(module, torch.nn.Sequential):
        for child in module:
            yield from _flatten(child)
    else:
        yield module


def affine_layers(encoder):
    """(weights, biases, activations) of an encoder made of Linear + elementwise layers.

    Takes a carve encoder.pt (torch.jit.load) or a torch.nn.Sequential of nn.Linear layers, each
    followed by at most one of Sigmoid, Tanh, Softplus (beta 1), ReLU, Identity. The tensors are
    the live parameters, so gradients of the analytic penalty reach them.
    """
    if isinstance(encoder, torch.jit.ScriptModule) and hasattr(encoder, "layers") \
            and hasattr(encoder, "model_type"):
        return _carve_encoder_layers(encoder)
    weights, biases, activations = [], [], []
    for m in _flatten(encoder):
        if isinstance(m, torch.nn.Linear):
            weights.append(m.weight)
            biases.append(m.bias if m.bias is not None else
                          torch.zeros(m.out_features, dtype=m.weight.dtype, device=m.weight.device))
            activations.append("linear")
            continue
        if isinstance(m, torch.nn.Softplus) and m.beta == 1:
            name = "softplus"
        else:
            name = _ACTIVATIONS.get(type(m))
        if name is None or not weights or activations[-1] != "linear":
            raise TypeError(f"the analytic penalty needs Linear + elementwise layers; {type(m).__name__} "
                            f"in {type(encoder).__name__} is not one: use method='exact' or 'stochastic'")
        activations[-1] = name
    if not weights:
        raise TypeError(f"{type(encoder).__name__} has no Linear layer: use method='exact' or 'stochastic'")
    return weights, biases, activations


def _graph(encoder, x):
    """x as a leaf that requires grad and the code computed from it, grad mode on."""
    leaf = x.detach().requires_grad_(True)
    with torch.enable_grad():
        return leaf, encoder(leaf)


def _exact_mode(encoder, mode, x, h):
    """The operator's "auto" takes reverse mode whenever the penalty is differentiated, as forward
    mode's gradient needs third derivatives of unknown operations. Linear + elementwise chains
    (affine_layers understands them) have verified ones (carve's tests check them against the
    closed form), so for them "auto" takes the mode with fewer VJPs."""
    if mode != "auto":
        return mode
    try:
        affine_layers(encoder)
    except TypeError:
        return mode
    inputs, outputs = x[0].numel(), h[0].numel()
    return "forward" if inputs + 1 < outputs else "reverse"


def contractive_penalty(encoder, x, method="analytic", *, projections=1, projection="gaussian",
                        mode="auto", return_standard_error=False):
    """mean over the batch of ||J_f(x_b)||_F^2 for the encoder f.

    method: "analytic", "exact" or "stochastic" (projections, projection "gaussian" or
    "rademacher"; with return_standard_error, (value, standard error over the projections)).
    mode (exact): "auto", "forward" or "reverse" on the encoder's own graph, or "factored" for
    an encoder affine_layers understands: autograd on carve's forward pass of those layers, the
    first layer's Jacobian W_1 factored out (several times faster; its gradient is first-order
    only) (docs/OPERATORS.md). Under torch.no_grad() the value alone is computed.
    """
    if method == "analytic":
        weights, biases, activations = affine_layers(encoder)
        return _ops().contractive_analytic(x, weights, biases, activations)
    if method not in ("exact", "stochastic"):
        raise ValueError(f"unknown method {method!r} (known: analytic, exact, stochastic)")
    if method == "exact" and mode == "factored":
        try:
            weights, biases, activations = affine_layers(encoder)
        except TypeError as e:
            raise TypeError(f"mode='factored' needs Linear + elementwise layers ({e}); "
                            "use mode 'auto', 'forward' or 'reverse'") from None
        return _ops().contractive_exact_layers(x.detach(), weights, biases, activations, "factored")
    leaf, h = _graph(encoder, x)
    if method == "exact":
        return _ops().contractive_exact(leaf, h, _exact_mode(encoder, mode, leaf, h))
    value, error = _ops().contractive_stochastic(leaf, h, projections, projection)
    return (value, error.item()) if return_standard_error else value


def higher_order_penalty(encoder, x, sigma=0.1, corruptions=4, method="analytic", *, mode="auto"):
    """CAE+H's E_eps ||J_f(x) - J_f(x + eps)||_F^2, eps ~ N(0, sigma^2 I), over `corruptions`
    draws from torch's default generator; method "analytic" or "exact"."""
    if sigma < 0 or corruptions < 1:
        raise ValueError(f"need sigma >= 0 and corruptions >= 1, got {sigma} and {corruptions}")
    x_tilde = torch.cat([x + sigma * torch.randn_like(x) for _ in range(corruptions)])
    if method == "analytic":
        weights, biases, activations = affine_layers(encoder)
        return _ops().higher_order_analytic(x, x_tilde, weights, biases, activations)
    if method != "exact":
        raise ValueError(f"unknown method {method!r} for the higher-order penalty (known: analytic, exact)")
    leaf, h = _graph(encoder, x)
    leaf_tilde, h_tilde = _graph(encoder, x_tilde)
    return _ops().higher_order_exact(leaf, h, leaf_tilde, h_tilde, _exact_mode(encoder, mode, leaf, h))
