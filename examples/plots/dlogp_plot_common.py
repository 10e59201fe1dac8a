"""Shared helpers of the example plots: run dlogp-run on a spec, and exact mixture densities
in NumPy (for contours and for the exact log p along recorded paths)."""
import json
import os
import subprocess
import sys

import numpy as np

GMM1 = {"type": "gmm", "weights": [0.3, 0.5, 0.2], "means": [[-2.0], [0.0], [2.5]],
        "variances": [0.16, 0.09, 0.25]}
GMM2 = {"type": "gmm", "weights": [0.4, 0.35, 0.25], "means": [[-2.0, 0.0], [2.0, 1.0], [0.0, -2.5]],
        "covariances": [[[0.5, 0.2], [0.2, 0.3]], [[0.1, 0.0], [0.0, 0.1]], [[0.3, -0.1], [-0.1, 0.6]]]}


def parse_args(doc):
    """argv: RUNNER OUTPUT_DIR."""
    if len(sys.argv) != 3:
        sys.exit("usage: %s PATH/TO/dlogp-run OUTPUT_DIR\n%s" % (os.path.basename(sys.argv[0]), doc))
    runner, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    return runner, out


def run(runner, spec, allow_failed=False):
    """Runs dlogp-run on `spec` (a dict) through stdin and returns the parsed output.
    Exit 3 (some trajectories not ok) is accepted when allow_failed."""
    p = subprocess.run([runner, "-", "--no-progress"], input=json.dumps(spec), capture_output=True, text=True)
    if p.returncode != 0 and not (allow_failed and p.returncode == 3):
        sys.exit("dlogp-run failed with exit %d: %s" % (p.returncode, p.stderr.strip()))
    return json.loads(p.stdout)


def vp_alpha_sigma2(t, beta_min=0.1, beta_max=20.0):
    """VP process (docs/notation.md section 1): alpha_t, sigma_t^2."""
    t = np.asarray(t, dtype=float)
    log_alpha = -0.25 * t * t * (beta_max - beta_min) - 0.5 * t * beta_min
    alpha = np.exp(log_alpha)
    return alpha, -np.expm1(2.0 * log_alpha)


def gmm_components(model):
    """Weights (normalised), means [K, D] and covariances [K, D, D] of a spec's gmm model."""
    w = np.asarray(model["weights"], dtype=float)
    mu = np.asarray(model["means"], dtype=float)
    K, D = mu.shape
    if "covariances" in model:
        cov = np.asarray(model["covariances"], dtype=float)
    elif "variances" in model:
        cov = np.asarray(model["variances"], dtype=float)[:, None, None] * np.eye(D)[None]
    else:
        cov = np.asarray(model["diagonals"], dtype=float)[:, :, None] * np.eye(D)[None]
    return w / w.sum(), mu, cov


def gmm_log_density(model, x, alpha=1.0, sigma2=0.0):
    """log p_t(x) of the diffused mixture at points x [..., D]: components N(alpha mu_k,
    alpha^2 S_k + sigma^2 I)."""
    w, mu, cov = gmm_components(model)
    x = np.asarray(x, dtype=float)
    D = mu.shape[1]
    terms = []
    for k in range(len(w)):
        S = alpha * alpha * cov[k] + sigma2 * np.eye(D)
        Si = np.linalg.inv(S)
        d = x - alpha * mu[k]
        q = np.einsum("...i,ij,...j->...", d, Si, d)
        terms.append(np.log(w[k]) - 0.5 * (q + np.linalg.slogdet(S)[1] + D * np.log(2 * np.pi)))
    terms = np.stack(terms)
    m = terms.max(axis=0)
    return m + np.log(np.exp(terms - m).sum(axis=0))


def trajectory_arrays(result):
    """(t [M], x [M, D], logp [M]) of a result's recorded trajectory (logp NaN where null)."""
    tr = result["trajectory"]
    t = np.array([s["t"] for s in tr], dtype=float)
    x = np.array([s["x"] for s in tr], dtype=float)
    lp = np.array([np.nan if s["logp"] is None else s["logp"] for s in tr], dtype=float)
    return t, x, lp
