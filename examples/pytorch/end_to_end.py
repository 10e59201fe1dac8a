#!/usr/bin/python3
"""From a PyTorch model to log-densities with dlogp-run, end to end.

    /usr/bin/python3 examples/pytorch/end_to_end.py [--runner PATH] [--out DIR] [--quick]

1. trains a small epsilon-prediction MLP on a 2-D mixture of 8 Gaussians under the VP process,
2. saves it with torch.jit.script and held-out data with numpy.save,
3. runs dlogp-run twice: pf-ode-encode (log p of the held-out points) and pf-ode (samples with
   their log p), reading the results back from the --arrays .npy files,
4. plots both to DIR/end_to_end.png and checks the numbers (exit 1 when a check fails).

The runner is --runner, else $DLOGP_RUN, else build/release/examples/runner/dlogp-run, else
dlogp-run on PATH; it needs its TorchScript plugin libdlogp-run-torch.so beside it.
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import torch

# The VP process with dlogp's defaults (docs/notation.md, "Processes").
BETA_MIN, BETA_MAX, T_MIN, T_MAX = 0.1, 20.0, 1e-3, 1.0


def alpha_sigma(t):
    b = BETA_MIN * t + 0.5 * (BETA_MAX - BETA_MIN) * t * t  # integral of beta from 0 to t
    return torch.exp(-0.5 * b), torch.sqrt(-torch.expm1(-b))  # expm1: sigma is exact at small t


# The data: 8 Gaussians of standard deviation 0.2 on a circle of radius 2.
ANGLES = 2 * np.pi * np.arange(8) / 8
MEANS = 2.0 * np.stack([np.cos(ANGLES), np.sin(ANGLES)], axis=1)
STD = 0.2


def sample_data(n, rng):
    return MEANS[rng.integers(0, 8, n)] + STD * rng.standard_normal((n, 2))


def true_log_density(x):
    """log p_0(x) of the mixture, to compare the model's log p with."""
    d2 = ((x[:, None, :] - MEANS[None]) ** 2).sum(-1)  # [N, 8]
    log_comp = -d2 / (2 * STD**2) - math.log(2 * math.pi * STD**2) - math.log(8)
    m = log_comp.max(1)
    return m + np.log(np.exp(log_comp - m[:, None]).sum(1))


class EpsMLP(torch.nn.Module):
    """eps_hat(x_t, t): the noise in x_t = alpha(t) x_0 + sigma(t) eps. forward(x [N, D], t [N])."""

    def __init__(self, dim: int = 2, width: int = 64, n_freq: int = 8):
        super().__init__()
        # Sinusoidal features of t: the net sees t at several scales (t spans 1e-3 .. 1).
        self.register_buffer("freqs", 2.0 ** torch.arange(n_freq) * math.pi / 2)
        self.net = torch.nn.Sequential(
            torch.nn.Linear(dim + 2 * n_freq, width), torch.nn.SiLU(),
            torch.nn.Linear(width, width), torch.nn.SiLU(),
            torch.nn.Linear(width, width), torch.nn.SiLU(),
            torch.nn.Linear(width, dim))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        e = t[:, None] * self.freqs
        return self.net(torch.cat([x, e.sin(), e.cos()], dim=1))


def train(steps, seed=0):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = EpsMLP()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for step in range(steps):
        x0 = torch.from_numpy(sample_data(256, rng)).float()
        # Half the times uniform, half log-uniform: the likelihood weights the eps error by
        # beta(t) / sigma(t)^2 ~ 1/t at small t, where the modes' sharp edges are learnt.
        u = torch.rand(256)
        t = torch.where(torch.arange(256) % 2 == 0, T_MIN + (T_MAX - T_MIN) * u, T_MIN * (T_MAX / T_MIN) ** u)
        eps = torch.randn_like(x0)
        a, s = alpha_sigma(t)
        loss = ((net(a[:, None] * x0 + s[:, None] * eps, t) - eps) ** 2).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 500 == 0 or step == steps - 1:
            print(f"  step {step:5d}  loss {loss.item():.3f}")
    return net


def run(runner, out, name, spec):
    """Writes OUT/name.json, runs dlogp-run on it, returns the arrays it wrote."""
    spec_path = os.path.join(out, name + ".json")
    with open(spec_path, "w") as f:
        json.dump(spec, f, indent=2)
    arrays = os.path.join(out, name)
    os.makedirs(arrays, exist_ok=True)  # -o puts the document inside it
    cmd = [runner, spec_path, "--arrays", arrays, "-o", os.path.join(arrays, "result.json")]
    print("$", " ".join(cmd))
    t0 = time.time()
    rc = subprocess.run(cmd).returncode
    if rc not in (0, 3):  # 3: some trajectory is not ok, which the checks below report
        sys.exit(f"dlogp-run failed with exit status {rc}")
    print(f"  {time.time() - t0:.1f} s")
    return {k: np.load(os.path.join(arrays, k + ".npy")) for k in ("x", "logp", "status")}


def find_runner(arg):
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(here, "..", "..", "build", "release", "examples", "runner", "dlogp-run")
    for candidate in (arg, os.environ.get("DLOGP_RUN"), default, shutil.which("dlogp-run")):
        if candidate and os.path.isfile(candidate):
            return os.path.abspath(candidate)
    sys.exit("dlogp-run not found: give --runner PATH or set DLOGP_RUN")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runner", help="path to dlogp-run")
    ap.add_argument("--out", default="out/pytorch", help="output folder (default out/pytorch)")
    ap.add_argument("--quick", action="store_true", help="fewer steps and points (~20 s)")
    args = ap.parse_args()
    runner = find_runner(args.runner)
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)  # small batches: one thread is as fast, and reproducible
    steps, n_test, n_samples = (1000, 300, 300) if args.quick else (6000, 2000, 2000)

    # 1. Train, then save the module: dlogp-run calls forward(x [N, 2], t [N]) -> [N, 2].
    print(f"training for {steps} steps")
    t0 = time.time()
    net = train(steps)
    print(f"  {time.time() - t0:.1f} s")
    torch.jit.script(net.eval()).save(os.path.join(args.out, "model.pt"))

    # 2. Held-out points from the data distribution (N, D), and a model spec both runs share.
    test = sample_data(n_test, np.random.default_rng(1))
    np.save(os.path.join(args.out, "data.npy"), test)
    model = {"type": "torchscript", "path": "model.pt",  # paths are relative to the spec's folder
             "parametrisation": "epsilon", "dtype": "float32", "dimension": 2}
    process = {"type": "vp", "beta_min": BETA_MIN, "beta_max": BETA_MAX, "t_min": T_MIN, "t_max": T_MAX}
    # A fixed-step scheme: dlogp calls the module on 64 trajectories at once (dopri5, adaptive,
    # steps each trajectory alone: one call per point and stage, ~5x slower here). RK4 with
    # 100 steps on a log-SNR grid is within 5e-3 nats of dopri5 at rtol 1e-5 on this model
    # (1e-3 on average), far below the ~0.05 nats standard error of a mean over 300 points.
    solver = {"scheme": "rk4", "steps": 100, "grid": "log-snr"}

    # 3a. log p_{t_min} of every held-out point: the PF-ODE from the data up to t_max.
    enc = run(runner, args.out, "encode", {"model": model, "process": process, "method": "pf-ode-encode",
                                            "x_start": {"file": "data.npy"}, "solver": solver})
    # 3b. New samples: the PF-ODE from prior draws down to t_min, log p tracked along.
    smp = run(runner, args.out, "sample", {"model": model, "process": process, "method": "pf-ode",
                                            "n": n_samples, "seed": 2, "solver": solver})

    # 4. Compare with two baselines and with the truth. Per point differences are paired (same
    # points), so their standard error decides whether a difference is real.
    logp, truth = enc["logp"], true_log_density(test)
    std_normal = -np.log(2 * np.pi) - 0.5 * (test**2).sum(1)
    train_x = sample_data(100000, np.random.default_rng(3))
    mu, cov = train_x.mean(0), np.cov(train_x.T)  # the best single Gaussian: no modes learnt
    r = np.linalg.solve(np.linalg.cholesky(cov), (test - mu).T)
    gauss = -np.log(2 * np.pi) - 0.5 * np.linalg.slogdet(cov)[1] - 0.5 * (r**2).sum(0)
    se = lambda d: d.std() / np.sqrt(len(d))
    print(f"held-out mean log p (nats, {n_test} points):")
    print(f"  standard normal    {std_normal.mean():8.3f}")
    print(f"  Gaussian fit       {gauss.mean():8.3f}")
    print(f"  trained model      {logp.mean():8.3f}   (dlogp-run pf-ode-encode)")
    print(f"  true mixture       {truth.mean():8.3f}   (KL(data || model) ~ {np.mean(truth - logp):.3f})")
    print(f"samples: {n_samples}, mean log p {smp['logp'].mean():.3f}")

    d_gauss, d_truth = logp - gauss, logp - truth
    checks = {
        "every trajectory ok": (enc["status"] == 0).all() and (smp["status"] == 0).all(),
        "every log p finite": np.isfinite(logp).all() and np.isfinite(smp["logp"]).all(),
        # The model learnt the modes: better than the best Gaussian by > 3 standard errors.
        f"model - Gaussian fit = {d_gauss.mean():+.3f} > 3 SE = {3 * se(d_gauss):.3f}":
            d_gauss.mean() > 3 * se(d_gauss),
        # Gibbs: no normalised density beats the truth on average (E log q <= E log p), so a
        # model mean above the truth's by > 3 standard errors means log p is miscounted.
        f"model - truth = {d_truth.mean():+.3f} < 3 SE = {3 * se(d_truth):.3f}":
            d_truth.mean() < 3 * se(d_truth),
    }
    for name, ok in checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 3, figsize=(13, 4.2))
    lo, hi = np.percentile(np.concatenate([logp, smp["logp"]]), [2, 100])
    for a, x, c, title in ((ax[0], test, logp, "held-out data, model log p"),
                           (ax[2], smp["x"], smp["logp"], "PF-ODE samples, their log p")):
        im = a.scatter(x[:, 0], x[:, 1], c=c, s=4, vmin=lo, vmax=hi, cmap="viridis")
        a.set(title=title, aspect="equal", xlim=(-3, 3), ylim=(-3, 3))
        fig.colorbar(im, ax=a, shrink=0.8)
    lo2, hi2 = np.percentile(np.concatenate([truth, logp]), [1, 100]) + [0, 0.3]  # the bulk
    ax[1].scatter(truth, logp, s=3)
    ax[1].plot([lo2, hi2], [lo2, hi2], "k--", lw=1)
    ax[1].set(title="held-out: model vs true log p", xlabel="true log p_0", ylabel="dlogp-run log p",
              xlim=(lo2, hi2), ylim=(lo2, hi2))
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "end_to_end.png"), dpi=80)
    print("wrote", os.path.join(args.out, "end_to_end.png"))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
