"""The benchmark mixtures: isotropic Gaussian mixtures with fixed-seed parameters, written as
JSON for the C++ programs and loaded by the Python baselines (both sides use the same file)."""
import json

import numpy as np


def make(D, K, seed):
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.5, 1.5, K)
    w = w / w.sum()
    means = rng.normal(0.0, 2.0, (K, D))
    variances = rng.uniform(0.05, 0.5, K)
    return {"weights": w.tolist(), "means": means.tolist(), "variances": variances.tolist()}


def write(path, D, K, seed):
    with open(path, "w") as f:
        json.dump(make(D, K, seed), f)


def load(path):
    with open(path) as f:
        m = json.load(f)
    return (np.array(m["weights"]), np.array(m["means"]), np.array(m["variances"]))
