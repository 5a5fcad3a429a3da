#!/usr/bin/env python3
"""Python peer of `carve bench rbm`: scikit-learn's BernoulliRBM (Debian python3-sklearn), one
epoch of PCD-1 over the same number of examples, batch size and sizes. Prints
{"seconds": best of the repeats, "examples_per_s": ...}."""
import argparse
import json
import time

import numpy as np
from sklearn.neural_network import BernoulliRBM
from threadpoolctl import threadpool_limits


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--visible", type=int, default=784)
    p.add_argument("--hidden", type=int, default=1000)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--examples", type=int, default=5000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--dtype", default="float32")
    a = p.parse_args()
    rng = np.random.RandomState(0)
    x = (rng.rand(a.examples, a.visible) < 0.2).astype(a.dtype)
    best = float("inf")
    with threadpool_limits(limits=a.threads):
        for r in range(a.repeats):
            rbm = BernoulliRBM(n_components=a.hidden, batch_size=a.batch, learning_rate=0.1, n_iter=1,
                               random_state=r)
            start = time.perf_counter()
            rbm.fit(x)
            best = min(best, time.perf_counter() - start)
    print(json.dumps({"seconds": best, "examples_per_s": a.examples / best, "dtype": a.dtype}))


if __name__ == "__main__":
    main()
