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


def make_full(D, K, seed):
    """Full covariances: S_k = v_k (A_k A_k^T / D + 0.1 I) / 1.1, A_k standard normal (a spread
    of eigenvalues, well conditioned), v_k and the rest as make()'s."""
    m = make(D, K, seed)
    rng = np.random.default_rng(seed + 1000)
    covs = []
    for v in m.pop("variances"):
        A = rng.normal(0.0, 1.0, (D, D))
        S = v * (A @ A.T / D + 0.1 * np.eye(D)) / 1.1
        covs.append((0.5 * (S + S.T)).tolist())  # exactly symmetric, as the loader requires
    m["covariances"] = covs
    return m


def write_full(path, D, K, seed):
    with open(path, "w") as f:
        json.dump(make_full(D, K, seed), f)
