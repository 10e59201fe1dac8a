"""Baseline for benchmark 4: likelihood by PF-ODE encoding with scipy's RK45 (solve_ivp), one
solve per point on the augmented state [x, ell], the mixture's exact score and Laplacian in
NumPy - the same ODE, points, rtol and atol as bench_pf_ode --mode encode.

    pf_ode_scipy.py --mixture m.json --points p.json --rtol 1e-6 --atol 1e-9
Prints one JSON object: score evaluations (nfev, one score + Laplacian each), RMS and max error
of log p_{t_min}(x_0) = log p_T(x_T) - ell_T against the exact value, wall and CPU time.
"""
import argparse
import json
import math
import time

import numpy as np
from scipy.integrate import solve_ivp
from scipy.special import logsumexp

import mixture


def vp(t, b0=0.1, b1=20.0):
    B = b0 * t + 0.5 * (b1 - b0) * t * t
    return math.exp(-0.5 * B), -math.expm1(-B), -0.5 * (b0 + (b1 - b0) * t), b0 + (b1 - b0) * t


class Mixture:
    def __init__(self, path):
        w, m, v = mixture.load(path)
        self.logw, self.mu, self.var = np.log(w), m, v
        self.K, self.D = m.shape

    def parts(self, t, x):
        a, s2, _, _ = vp(t)
        p = a * a * self.var + s2
        d = x[None, :] - a * self.mu  # K x D
        logits = self.logw - 0.5 * self.D * np.log(2 * math.pi * p) - 0.5 * (d * d).sum(1) / p
        lse = logsumexp(logits)
        return d / p[:, None], np.exp(logits - lse), p, lse

    def log_density(self, t, x):
        return self.parts(t, x)[3]

    def score_and_laplacian(self, t, x):
        u, r, p, _ = self.parts(t, x)
        s = -(r[:, None] * u).sum(0)
        c = u + s
        lap = (r * ((c * c).sum(1) - self.D / p)).sum()
        return s, lap


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mixture", required=True)
    ap.add_argument("--points", required=True)
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--atol", type=float, default=1e-9)
    a = ap.parse_args()
    m = Mixture(a.mixture)
    with open(a.points) as f:
        pts = np.array(json.load(f))
    t_min, t_max = 1e-3, 1.0
    D = m.D

    def rhs(t, y):
        _, _, f, g2 = vp(t)
        s, lap = m.score_and_laplacian(t, y[:D])
        out = np.empty(D + 1)
        out[:D] = f * y[:D] - 0.5 * g2 * s
        out[D] = -f * D + 0.5 * g2 * lap
        return out

    nfev, errs, nsteps = 0, [], 0
    t0, c0 = time.perf_counter(), time.process_time()
    sols = []
    for x in pts:
        sol = solve_ivp(rhs, (t_min, t_max), np.concatenate([x, [0.0]]), method="RK45",
                        rtol=a.rtol, atol=a.atol)
        if sol.status != 0:
            raise RuntimeError(sol.message)
        sols.append(sol)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    for x, sol in zip(pts, sols):
        nfev += sol.nfev
        nsteps += sol.t.size - 1
        yT = sol.y[:, -1]
        est = m.log_density(t_max, yT[:D]) - yT[D]
        errs.append(est - m.log_density(t_min, x))
    errs = np.array(errs)
    print(json.dumps({"D": D, "K": m.K, "N": len(pts), "rtol": a.rtol, "atol": a.atol,
                      "seconds": secs, "cpu_seconds": cpu, "score_evals": int(nfev), "accepted_steps": int(nsteps),
                      "rms_error": float(np.sqrt((errs ** 2).mean())),
                      "max_error": float(np.abs(errs).max()),
                      "scipy": __import__("scipy").__version__}))


if __name__ == "__main__":
    main()
