#!/usr/bin/python3
"""2-D mixture (GMM2) samples over the contours of p_0: reverse SDE, the high-density sampler
(reverse SDE to log-SNR 0, then the HD-ODE), and the DG-ODE at several quantiles q (q > 0.5 is
infeasible for most paths in 2-D: they stop with eta_blowup). Colour = tracked log p_0 of each
sample. Writes samples_2d.png."""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from dlogp_plot_common import GMM2, gmm_log_density, parse_args, run

runner, out = parse_args(__doc__)
n = 600
base = {"model": GMM2, "process": {"type": "vp"}, "n": n, "seed": 21, "init_logp": "exact"}
runs = [
    ("reverse SDE", dict(base, method="reverse-sde", solver={"steps": 1000})),
    ("HD sampler (reverse SDE, then HD-ODE)", dict(base, method="hd-sampler", first_phase="reverse-sde",
                                                   solver={"scheme": "heun", "steps": 1000})),
    ("DG-ODE q = 0.5 (= PF-ODE)", dict(base, method="dg-ode", guidance={"q": 0.5})),
    # On the VP range (~23 units of log-SNR) q shifts log p_0 by sqrt(2D) Phi^-1(q) x 11.6 nats.
    ("DG-ODE q = 0.45", dict(base, method="dg-ode", guidance={"q": 0.45})),
    ("DG-ODE q = 0.4", dict(base, method="dg-ode", guidance={"q": 0.4})),
    ("DG-ODE q = 0.55", dict(base, method="dg-ode", guidance={"q": 0.55})),
]

xs = np.linspace(-4.5, 4.5, 241)
ys = np.linspace(-5.0, 3.5, 241)
XX, YY = np.meshgrid(xs, ys)
lp0 = gmm_log_density(GMM2, np.stack([XX, YY], axis=-1))

fig, axes = plt.subplots(2, 3, figsize=(14, 8.6), sharex=True, sharey=True)
norm = matplotlib.colors.Normalize(vmin=-8, vmax=0)
for ax, (title, spec) in zip(axes.flat, runs):
    doc = run(runner, spec, allow_failed=True)
    ax.contour(XX, YY, lp0, levels=np.arange(-12, 0.5, 1.0), colors="0.6", linewidths=0.6, linestyles="solid")
    ok = [r for r in doc["results"] if r["status"] == "ok"]
    x = np.array([r["x"] for r in ok]).reshape(-1, 2)
    lp = np.array([r["logp"] for r in ok])
    sc = ax.scatter(x[:, 0], x[:, 1], c=lp, s=5, cmap="plasma", norm=norm)
    failed = len(doc["results"]) - len(ok)
    mean = doc["summary"]["mean_logp"]
    sub = "mean tracked log p_0 = %.2f" % mean if mean is not None else "no sample finished"
    if failed:
        sub += "\n%d of %d stopped: eta_blowup (q > 0.5 in 2-D)" % (failed, n)
    ax.set_title("%s\n%s" % (title, sub), fontsize=10)
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_aspect("equal")
fig.colorbar(sc, ax=axes, shrink=0.6, label="tracked log p_0(x)")
fig.suptitle("2-D mixture: samples over contours of log p_0 (one per nat)")
fig.savefig(os.path.join(out, "samples_2d.png"), dpi=100, bbox_inches="tight")
print("wrote", os.path.join(out, "samples_2d.png"))
