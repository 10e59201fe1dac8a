"""Baseline for the TorchScript benchmark: PF-ODE likelihoods of an MLP epsilon-model in eager
PyTorch, the way people write it (FFJORD-style: one autograd.grad per dimension for the exact
divergence, or a Rademacher probe for Hutchinson), against bench_torch_pf_ode, which runs the
same network as a TorchScript module through dlogp.

    pf_ode_torch_eager.py --dim 8 --width 64 --out DIR [--dtype float32] [--steps 50] [--n 64]
                          [--reps 3] [--divergence exact|hutchinson] [--write-only 1]
        Builds the network (seeded), writes DIR/model.pt (torch.jit.script) and DIR/points.npy
        (N x D float64, seeded normal draws: the data points at t_min), then integrates the
        PF-ODE from t_min = 1e-3 to t_max = 1 (VP, beta 0.1..20) with fixed-step RK4 on the
        uniform grid t_k = t_min + (t_max - t_min) k / steps (dlogp's uniform grid), and prints
        one JSON line: per-point log-likelihoods log N(x_1; 0, I) - int_{t_min}^{1} (-div u) dt
        and wall / CPU seconds per repetition. One thread (torch.set_num_threads).
    pf_ode_torch_eager.py --mode overhead --dim 8 --width 64 --n 64
        Per-call cost of the same forward (and forward + one backward) from Python: the eager
        module, the scripted module (parameters requiring grad, as saved, and not, as
        torch_score_model runs it), and the scripted module after torch.jit.freeze and
        torch.jit.optimize_for_inference. One JSON line, CPU microseconds per call.
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch

B0, B1, T_MIN, T_MAX = 0.1, 20.0, 1e-3, 1.0


class eps_mlp(torch.nn.Module):
    """epsilon(x, t): t concatenated to x, three hidden SiLU layers of `width`, linear output."""

    def __init__(self, dim: int, width: int):
        super().__init__()
        self.l1 = torch.nn.Linear(dim + 1, width)
        self.l2 = torch.nn.Linear(width, width)
        self.l3 = torch.nn.Linear(width, width)
        self.out = torch.nn.Linear(width, dim)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        h = torch.nn.functional.silu(self.l1(torch.cat([x, t[:, None]], dim=1)))
        h = torch.nn.functional.silu(self.l2(h))
        h = torch.nn.functional.silu(self.l3(h))
        return self.out(h)


def vp(t):
    """f, g^2, sigma of the VP process (as dlogp's vp_process computes them)."""
    B = B0 * t + 0.5 * (B1 - B0) * t * t
    beta = B0 + (B1 - B0) * t
    return -0.5 * beta, beta, math.sqrt(-math.expm1(-B))


def build(dim, width, seed=0):
    torch.manual_seed(seed)
    return eps_mlp(dim, width).eval()


def points(n, dim, seed=1):
    return np.random.default_rng(seed).standard_normal((n, dim))


def rate(net, t, x, divergence, gen):
    """PF-ODE rate (dx/dt, d ell/dt) with ell' = -div u, u = f x - g^2 s / 2, s = -eps / sigma."""
    f, g2, sigma = vp(t)
    D = x.shape[1]
    tt = torch.full((x.shape[0],), t, dtype=x.dtype)
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        e = net(xg, tt)
        if divergence == "exact":
            div = torch.zeros(x.shape[0], dtype=x.dtype)
            for i in range(D):
                g = torch.autograd.grad(e[:, i].sum(), xg, retain_graph=i + 1 < D)[0]
                div = div + g[:, i]
        else:
            z = torch.randint(0, 2, x.shape, generator=gen, dtype=x.dtype) * 2 - 1
            g = torch.autograd.grad(e, xg, grad_outputs=z)[0]
            div = (g * z).sum(1)
    e = e.detach()
    # div s = -div eps / sigma: -div u = -f D + (g^2 / 2) div s.
    dx = f * x + (0.5 * g2 / sigma) * e
    dl = -f * D - (0.5 * g2 / sigma) * div
    return dx, dl


def integrate(net, x0, steps, divergence):
    x = x0.clone()
    ell = torch.zeros(x.shape[0], dtype=x.dtype)
    gen = torch.Generator().manual_seed(3)
    ts = [T_MIN + (T_MAX - T_MIN) * (k / steps) for k in range(steps + 1)]
    for k in range(steps):
        t, h = ts[k], ts[k + 1] - ts[k]
        k1, l1 = rate(net, t, x, divergence, gen)
        k2, l2 = rate(net, t + 0.5 * h, x + 0.5 * h * k1, divergence, gen)
        k3, l3 = rate(net, t + 0.5 * h, x + 0.5 * h * k2, divergence, gen)
        k4, l4 = rate(net, t + h, x + h * k3, divergence, gen)
        x = x + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
        ell = ell + (h / 6) * (l1 + 2 * l2 + 2 * l3 + l4)
    D = x.shape[1]
    prior = -0.5 * D * math.log(2 * math.pi) - 0.5 * (x.double() ** 2).sum(1)
    return prior - ell.double()


def median(v):
    return float(np.median(v))


def overhead(a, dtype):
    net = build(a.dim, a.width).to(dtype)
    scripted = torch.jit.script(net)
    # As torch_score_model runs it: parameters that do not require grad, so a reverse pass
    # computes input gradients only (TorchScript's autodiff would compute the weights' too).
    nograd = torch.jit.script(build(a.dim, a.width).to(dtype))
    for p in nograd.parameters():
        p.requires_grad_(False)
    frozen = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.script(build(a.dim, a.width).to(dtype))))
    x = torch.from_numpy(points(a.n, a.dim)).to(dtype)
    t = torch.full((a.n,), 0.5, dtype=dtype)
    variants = [("eager", net), ("scripted", scripted), ("scripted_nograd", nograd), ("frozen", frozen)]

    def forward(m):
        with torch.no_grad():
            return m(x, t)

    def forward_backward(m):
        xg = x.detach().requires_grad_(True)
        y = m(xg, t)
        return torch.autograd.grad(y[:, 0].sum(), xg)[0]

    times = {}
    for _, m in variants:  # warm-up: the profiling executor specialises on early calls
        for _ in range(50):
            forward(m)
            forward_backward(m)
    # Variants interleaved within each repetition (the machine may be shared); CPU time of
    # `calls` calls, median over repetitions.
    for _ in range(5):
        for name, m in variants:
            for kind, fn in [("forward", forward), ("forward_backward", forward_backward)]:
                c0 = time.process_time()
                for _ in range(a.calls):
                    fn(m)
                times.setdefault(f"{name}_{kind}_us", []).append(1e6 * (time.process_time() - c0) / a.calls)
    res = {"mode": "overhead", "D": a.dim, "width": a.width, "N": a.n, "dtype": a.dtype}
    res.update({k: median(v) for k, v in times.items()})
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="pf_ode", choices=["pf_ode", "overhead"])
    ap.add_argument("--dim", type=int, default=8)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--divergence", default="exact", choices=["exact", "hutchinson"])
    ap.add_argument("--out", default="")
    ap.add_argument("--write-only", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dtype = torch.float32 if a.dtype == "float32" else torch.float64
    if a.mode == "overhead":
        print(json.dumps(overhead(a, dtype)))
        return
    net = build(a.dim, a.width)
    pts = points(a.n, a.dim)
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        # Scripted in float32; dlogp converts the parameters to its scalar type at load.
        torch.jit.script(net).save(os.path.join(a.out, "model.pt"))
        np.save(os.path.join(a.out, "points.npy"), pts)
    if a.write_only:
        return
    net = net.to(dtype)
    x0 = torch.from_numpy(pts).to(dtype)
    secs, cpu, ll = [], [], None
    with torch.no_grad():
        for _ in range(a.reps):
            t0, c0 = time.perf_counter(), time.process_time()
            ll = integrate(net, x0, a.steps, a.divergence)
            secs.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    print(json.dumps({"side": "eager", "D": a.dim, "width": a.width, "N": a.n, "steps": a.steps,
                      "dtype": a.dtype, "divergence": a.divergence, "threads": a.threads,
                      "seconds": secs, "cpu_seconds": cpu, "median_seconds": median(secs),
                      "median_cpu_seconds": median(cpu), "log_likelihood": ll.tolist(),
                      "mean_log_likelihood": float(ll.mean()), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
