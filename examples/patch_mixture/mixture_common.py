"""The patch mixture's exact quantities and dlogp's MLP, in numpy only (no torch).

Used by train_network.py (targets, held-out checks) and run_learned.py (measurements), so the
measurement driver and its CTest need nothing beyond numpy.

Conventions are dlogp's (docs/notation.md §1, §2): VP process with linear beta, beta_min = 0.1,
beta_max = 20, x_t = alpha_t x_0 + sigma_t eps; the mixture p_0 = sum_k w_k N(mu_k, S_k) gives
p_t = sum_k w_k N(alpha mu_k, alpha^2 S_k + sigma^2 I).
"""
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from example_data import read_tensors, write_tensors  # noqa: E402,F401  (the tensor file format)

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
D = 64
BETA_MIN, BETA_MAX = 0.1, 20.0
T_MIN, T_MAX = 1e-3, 1.0
BIN_WIDTH = 2.0 / 256.0
LN2 = math.log(2.0)

# ----------------------------------------------------------------------------- process
def beta(t):
    return BETA_MIN + (BETA_MAX - BETA_MIN) * np.asarray(t, dtype=np.float64)


def alpha_sigma(t):
    t = np.asarray(t, dtype=np.float64)
    b = BETA_MIN * t + 0.5 * (BETA_MAX - BETA_MIN) * t * t
    return np.exp(-0.5 * b), np.sqrt(-np.expm1(-b))


def t_of_log_snr(lam):
    """Inverse of lambda(t) = log(alpha^2 / sigma^2) for the VP process (B = log(1 + e^-lambda))."""
    B = np.log1p(np.exp(-np.asarray(lam, dtype=np.float64)))
    return 2 * B / (BETA_MIN + np.sqrt(BETA_MIN ** 2 + 2 * (BETA_MAX - BETA_MIN) * B))


def log_snr(t):
    a, s = alpha_sigma(t)
    return np.log(a * a / (s * s))


# ----------------------------------------------------------------------------- mixture
class Mixture:
    """p_0 = sum_k w_k N(mu_k, S_k) through eigendecompositions S_k = V_k diag(l_k) V_k^T, so that
    P_k(t) = V_k diag(alpha^2 l_k + sigma^2) V_k^T costs nothing per t."""

    def __init__(self, path=os.path.join(DATA, "mixture.safetensors")):
        t, _ = read_tensors(path)
        self.w = np.asarray(t["weights"], np.float64) / np.sum(t["weights"])
        self.mu = np.asarray(t["means"], np.float64)
        self.S = np.asarray(t["covariances"], np.float64)
        self.lam, self.V = np.linalg.eigh(self.S)  # [K, D], [K, D, D] (columns)
        self.K, self.d = self.mu.shape
        # Moments of p_0, for the network's Gaussian base.
        self.mean = self.w @ self.mu
        dm = self.mu - self.mean
        self.cov = np.einsum("k,kij->ij", self.w, self.S) + np.einsum("k,ki,kj->ij", self.w, dm, dm)

    def _parts(self, t, x):
        """Per point and component: log w_k N(x; m_k, P_k) and V_k^T P_k^-1 (x - m_k) (eigenbasis).

        t: [N] or scalar, x: [N, D]."""
        x = np.asarray(x, np.float64)
        t = np.broadcast_to(np.asarray(t, np.float64), (x.shape[0],))
        a, s = alpha_sigma(t)
        ev = a[:, None, None] ** 2 * self.lam[None] + (s * s)[:, None, None]  # [N, K, D]
        # V_k^T (x - a mu_k), one matmul per component (einsum over [N, K, D, D] is far slower)
        y = np.stack([(x - a[:, None] * self.mu[k]) @ self.V[k] for k in range(self.K)], axis=1)
        u = y / ev
        logn = -0.5 * (np.sum(y * u, axis=2) + np.sum(np.log(ev), axis=2) + self.d * math.log(2 * math.pi))
        return logn + np.log(self.w)[None], u

    def log_density(self, t, x):
        lw, _ = self._parts(t, x)
        m = lw.max(axis=1, keepdims=True)
        return (m + np.log(np.exp(lw - m).sum(axis=1, keepdims=True)))[:, 0]

    def score(self, t, x):
        lw, u = self._parts(t, x)
        r = np.exp(lw - lw.max(axis=1, keepdims=True))
        r /= r.sum(axis=1, keepdims=True)
        return -sum((r[:, k, None] * u[:, k]) @ self.V[k].T for k in range(self.K))

    def sample(self, n, rng):
        k = rng.choice(self.K, size=n, p=self.w)
        z = rng.standard_normal((n, self.d))
        return self.mu[k] + np.einsum("nij,nj->ni", self.V[k], np.sqrt(self.lam[k]) * z)


# ----------------------------------------------------------------------------- dlogp MLP
def silu(a):
    return a / (1.0 + np.exp(-a))


class MLP:
    """dlogp's MLP weight file (docs/weights-format.md) evaluated in float64: the raw output and
    the score it implies for the epsilon parametrisation."""

    def __init__(self, path):
        t, meta = read_tensors(path)
        self.arch = json.loads(meta["dlogp"])
        if self.arch["parametrisation"] != "epsilon" or self.arch["process"]["kind"] != "vp":
            raise ValueError(f"{path}: this reader handles epsilon networks of the VP process only")
        self.p = {k: np.asarray(v, np.float64) for k, v in t.items()}
        self.depth = self.arch["depth"]
        self.residual = self.arch.get("residual", [False] * self.depth)
        te = self.arch["time_embedding"]
        self.E, self.scale, self.period = te["dim"], te["scale"], te["max_period"]

    def eps(self, t, x):
        p = self.p
        x = np.asarray(x, np.float64)
        t = np.broadcast_to(np.asarray(t, np.float64), (x.shape[0],))
        half = self.E // 2
        w = np.exp(-math.log(self.period) * np.arange(half) / half)
        ang = self.scale * t[:, None] * w[None]
        # The file is F32; the C++ reader rounds the embedding to the network's type. Evaluating
        # in float64 matches dlogp-run, which evaluates the MLP in double.
        e = np.concatenate([np.sin(ang), np.cos(ang)], axis=1)
        z = silu(e @ p["time.weight"].T + p["time.bias"])
        h = x
        for l in range(self.depth):
            a = h @ p[f"hidden.{l}.weight"].T + p[f"hidden.{l}.bias"]
            if f"hidden.{l}.time_scale" in p:
                a = a * (1 + z @ p[f"hidden.{l}.time_scale"].T)
            a = silu(a + z @ p[f"hidden.{l}.time_weight"].T)
            h = a + h if self.residual[l] else a
        out = h @ p["out.weight"].T + p["out.bias"]
        if "out.time_scale" in p:
            out = out * (1 + z @ p["out.time_scale"].T)
        if "skip.weight" in p:
            out = out + x @ p["skip.weight"].T
        if self.arch.get("gaussian_base", False):
            al, s = alpha_sigma(t)
            coef = s[:, None] / (al[:, None] ** 2 * p["base.eigvals"][None] + (s * s)[:, None])
            y = (x - al[:, None] * p["base.mean"][None]) @ p["base.eigvecs"]
            out = out + (y * coef) @ p["base.eigvecs"].T
        return out

    def score(self, t, x):
        t = np.broadcast_to(np.asarray(t, np.float64), (np.asarray(x).shape[0],))
        return -self.eps(t, x) / alpha_sigma(t)[1][:, None]


def bits_per_dim(logp):
    return -(np.asarray(logp, np.float64) + D * math.log(BIN_WIDTH)) / (D * LN2)


def mean_se(v):
    v = np.asarray(v, np.float64)
    v = v[np.isfinite(v)]
    if len(v) < 2:
        return (float(v.mean()) if len(v) else float("nan")), float("nan")
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v)))
