"""The auto-encoder that carve's Python peers time, written as a researcher would in PyTorch:
sigmoid encoder, tied weights, cross-entropy reconstruction, the analytic contractive penalty
sum_j f'(a_j)^2 ||W_j||^2, SGD with momentum. Initialised like carve (uniform, 4 x Glorot), on the CPU, then moved to
`device`."""
import time

import torch


def synchronize(device):
    """Waits for the work queued on device (CUDA runs asynchronously; nothing to wait for on the CPU)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def median_ms(fn, repeats, device="cpu"):
    """The median wall time of repeats calls of fn after one warm-up, each timed to the end of its device work."""
    fn()
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(1e3 * (time.perf_counter() - start))
    times.sort()
    return times[len(times) // 2]


class TiedCAE:
    def __init__(self, inputs, hidden, lam=0.1, lr=0.01, momentum=0.9, seed=0, device="cpu"):
        torch.manual_seed(seed)
        r = 4 * (6.0 / (inputs + hidden)) ** 0.5
        self.W = ((torch.rand(hidden, inputs) * 2 - 1) * r).to(device).requires_grad_()
        self.b = torch.zeros(hidden, device=device, requires_grad=True)
        self.c = torch.zeros(inputs, device=device, requires_grad=True)
        self.opt = torch.optim.SGD([self.W, self.b, self.c], lr=lr, momentum=momentum)
        self.lam = lam

    def encode(self, x):
        return torch.sigmoid(torch.nn.functional.linear(x, self.W, self.b))

    def loss(self, x, contractive=True):
        h = self.encode(x)
        logits = torch.nn.functional.linear(h, self.W.t(), self.c)
        recon = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1).mean()
        if not contractive:
            return recon
        d = h * (1 - h)
        return recon + self.lam * torch.mv(d * d, self.W.pow(2).sum(1)).mean()

    def step(self, x, contractive=True):
        self.opt.zero_grad()
        self.loss(x, contractive).backward()
        self.opt.step()
