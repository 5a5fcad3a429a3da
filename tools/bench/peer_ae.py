"""The auto-encoder that carve's Python peers time, written as a researcher would in PyTorch:
sigmoid encoder, tied weights, cross-entropy reconstruction, the analytic contractive penalty
sum_j f'(a_j)^2 ||W_j||^2, SGD with momentum. Initialised like carve (uniform, 4 x Glorot)."""
import torch


class TiedCAE:
    def __init__(self, inputs, hidden, lam=0.1, lr=0.01, momentum=0.9, seed=0):
        torch.manual_seed(seed)
        r = 4 * (6.0 / (inputs + hidden)) ** 0.5
        self.W = ((torch.rand(hidden, inputs) * 2 - 1) * r).requires_grad_()
        self.b = torch.zeros(hidden, requires_grad=True)
        self.c = torch.zeros(inputs, requires_grad=True)
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
