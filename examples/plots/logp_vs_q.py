#!/usr/bin/python3
"""log p_0 against the density-guidance quantile q (DG-ODE, docs/ground-truth.md T1 in
dimension 64):
Gaussian data N(0, diag c_i^2), EDM from sigma = 80 to 0.002, Heun on the rho = 7 grid. Each
path's log p changes by sum_i (1/2) ln((c_i^2 + T^2)/(c_i^2 + sigma_min^2)) + sqrt(2D)
Phi^-1(q) ln(T / sigma_min); q above ~0.6 is infeasible for typical x_T (eta_blowup).
Writes logp_vs_q.png."""
import os
import sys
from statistics import NormalDist

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from dlogp_plot_common import parse_args, run

runner, out = parse_args(__doc__)
D, n, T, smin = 64, 32, 80.0, 0.002
c2 = 0.2 + 1.8 * (np.arange(D) + 0.5) / D
model = {"type": "gmm", "weights": [1.0], "means": [[0.0] * D], "diagonals": [c2.tolist()]}
qs = np.round(np.arange(0.05, 0.96, 0.05), 2)


def log_gauss(x, var):
    return -0.5 * np.sum(x * x / var + np.log(2 * np.pi * var), axis=-1)


rows = []
for q in qs:
    doc = run(runner, {"model": model, "process": {"type": "edm"}, "method": "dg-ode", "n": n, "seed": 2,
                       "init_logp": "exact", "guidance": {"q": float(q)},
                       "solver": {"scheme": "heun", "steps": 128, "grid": "edm-rho"}}, allow_failed=True)
    res = doc["results"]
    x_t = np.array([r["x_start"] for r in res])
    start = log_gauss(x_t, c2 + T * T)  # exact log p_T(x_T): the same draws for every q (same seed)
    change = 0.5 * np.sum(np.log((c2 + T * T) / (c2 + smin * smin))) + \
        np.sqrt(2 * D) * NormalDist().inv_cdf(q) * np.log(T / smin)
    ok = np.array([r["status"] == "ok" for r in res])
    tracked = np.array([np.nan if r["logp"] is None else r["logp"] for r in res])
    exact = np.array([np.nan if r["logp_exact"] is None else r["logp_exact"] for r in res])
    rows.append((q, start + change, tracked, exact, ok))

fig, (ax, ax_f) = plt.subplots(2, 1, figsize=(8, 7.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
for q, predicted, tracked, exact, ok in rows:
    jitter = (np.arange(n) / n - 0.5) * 0.02
    ax.plot(q + jitter[ok], exact[ok], ".", color="tab:blue", ms=3, alpha=0.6)
mq = np.array([r[0] for r in rows])
pred = np.array([np.mean(r[1]) for r in rows])
feasible = np.array([r[4].any() for r in rows])
last = np.flatnonzero(feasible).max() + 1 if feasible.any() else 0
ax.plot(mq[:last], pred[:last], "k-", lw=1, label="predicted (mean over the x_T draws)")
ax.plot(mq[max(last - 1, 0):], pred[max(last - 1, 0):], "k:", lw=1, label="predicted, infeasible (every path blows up)")
ax.plot(mq, [np.nanmean(r[2][r[4]]) if r[4].any() else np.nan for r in rows], "o", mfc="none", color="tab:red",
        label="mean tracked log p_0 (finished paths)")
ax.plot([], [], ".", color="tab:blue", label="exact log p_0 of each finished sample")
ax.set_ylabel("log p_0(x_0)")
ax.legend(loc="upper left", fontsize=9)
ax.set_title("DG-ODE, Gaussian data in D = %d: log p_0 against the quantile q\n"
             "(EDM, Heun, 128 steps, %d paths per q; q = 0.5 is the PF-ODE)" % (D, n))
ax_f.bar(mq, [1 - r[4].mean() for r in rows], width=0.03, color="tab:gray")
ax_f.set_ylabel("eta_blowup\nfraction")
ax_f.set_ylim(0, 1.05)
ax_f.set_xlabel("q")
fig.tight_layout()
fig.savefig(os.path.join(out, "logp_vs_q.png"), dpi=110)
print("wrote", os.path.join(out, "logp_vs_q.png"))
