#!/usr/bin/python3
"""log p tracked along augmented reverse-SDE paths of a 1-D mixture (GMM1), against the exact
log p_t(x_t) on the same paths. Writes reverse_sde_logp.png."""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from dlogp_plot_common import GMM1, gmm_log_density, parse_args, run, trajectory_arrays, vp_alpha_sigma2

runner, out = parse_args(__doc__)
spec = {"model": GMM1, "process": {"type": "vp"}, "method": "reverse-sde", "n": 6, "seed": 3,
        "solver": {"steps": 2000}, "init_logp": "exact", "record": {"every": 10}}
doc = run(runner, spec)

fig, (ax_x, ax_l, ax_e) = plt.subplots(3, 1, figsize=(7.5, 9), sharex=True,
                                       gridspec_kw={"height_ratios": [1.2, 1.4, 0.8]})
colors = plt.cm.viridis(np.linspace(0, 0.95, len(doc["results"])))
for c, res in zip(colors, doc["results"]):
    t, x, lp = trajectory_arrays(res)
    alpha, sigma2 = vp_alpha_sigma2(t)
    exact = np.array([gmm_log_density(GMM1, x[i], alpha[i], sigma2[i]) for i in range(len(t))])
    ax_x.plot(t, x[:, 0], color=c, lw=0.9)
    ax_l.plot(t, lp, color=c, lw=1.1)
    ax_l.plot(t, exact, color="k", lw=0.6, ls="--")
    ax_e.plot(t, lp - exact, color=c, lw=0.9)
ax_l.plot([], [], color="k", lw=0.6, ls="--", label="exact log p_t(x_t)")
ax_l.plot([], [], color=colors[0], lw=1.1, label="tracked (augmented SDE)")
ax_l.legend(loc="lower left", fontsize=8)
for m in (-2.0, 0.0, 2.5):
    ax_x.axhline(m, color="0.8", lw=0.6, zorder=0)
ax_x.set_ylabel("x_t")
ax_l.set_ylabel("log p_t(x_t)")
ax_e.set_ylabel("tracked - exact")
ax_e.axhline(0, color="0.5", lw=0.6)
ax_e.set_xlabel("t (reverse time: the run goes from T = 1 to t_min = 1e-3)")
ax_e.invert_xaxis()
s = doc["summary"]
ax_x.set_title("Augmented reverse SDE on a 1-D mixture: log p along each path\n"
               "Euler-Maruyama, 2000 steps; mean |error| at t_min = %.3f nats" % s["mean_abs_error"])
fig.tight_layout()
fig.savefig(os.path.join(out, "reverse_sde_logp.png"), dpi=110)
print("wrote", os.path.join(out, "reverse_sde_logp.png"))
