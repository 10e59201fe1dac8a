#!/usr/bin/python3
"""PF-ODE vs HD-ODE vs mode-tracking paths on a 1-D mixture (GMM1) over the density p_t(x),
started at T = 1 (all HD-ODE and mode-tracking paths end in modes of p_0) and at t = 0.6 and
0.3. Writes hd_paths.png."""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from dlogp_plot_common import GMM1, gmm_log_density, parse_args, run, trajectory_arrays, vp_alpha_sigma2

runner, out = parse_args(__doc__)
process = {"type": "vp", "t_min": 0}  # t = 0 reachable: mode tracking ends at argmax p(x_0 | x_t)
methods = [("pf-ode", "tab:blue", "PF-ODE"), ("hd-ode", "tab:orange", "HD-ODE"),
           ("mode-tracking", "tab:red", "mode tracking")]
starts = [(1.0, np.linspace(-2.4, 2.4, 9)), (0.6, np.linspace(-1.6, 1.8, 9)), (0.3, np.linspace(-1.4, 1.6, 9))]

# Background: p_t(x) on a (t, x) grid.
tt = np.linspace(0.0, 1.0, 201)
xx = np.linspace(-3.5, 3.5, 281)
alpha, sigma2 = vp_alpha_sigma2(tt)
dens = np.exp(np.stack([gmm_log_density(GMM1, xx[:, None], a, s2) for a, s2 in zip(alpha, sigma2)], axis=1))

fig, axes = plt.subplots(1, len(starts), figsize=(15, 5.2), sharey=True)
for ax, (t0, x0) in zip(axes, starts):
    ax.pcolormesh(tt, xx, dens, cmap="Greys", shading="auto", vmax=np.percentile(dens, 99.5))
    for method, color, label in methods:
        spec = {"model": GMM1, "process": process, "method": method, "t_start": t0,
                "x_start": [[float(v)] for v in x0], "init_logp": "exact",
                "solver": {"scheme": "rk4", "steps": 1000}, "record": {"every": 5}}
        doc = run(runner, spec)
        for i, res in enumerate(doc["results"]):
            t, x, _ = trajectory_arrays(res)
            ax.plot(t, x[:, 0], color=color, lw=1.2, alpha=0.9, label=label if i == 0 else None)
        ax.plot(np.zeros(len(doc["results"])), [r["x"][0] for r in doc["results"]], "o", color=color, ms=3.5)
    ax.plot(np.full(len(x0), t0), x0, "k.", ms=5)
    ax.set_xlim(1.02, -0.02)
    ax.set_xlabel("t")
    ax.set_title("started at t = %g" % t0)
axes[0].set_ylabel("x")
axes[0].legend(loc="lower left", fontsize=8, framealpha=0.9)
fig.suptitle("1-D mixture (modes -2, 0, 2.5; grey: p_t(x)): PF-ODE samples, HD-ODE and mode tracking head for modes")
fig.tight_layout()
fig.savefig(os.path.join(out, "hd_paths.png"), dpi=110)
print("wrote", os.path.join(out, "hd_paths.png"))
