"""Baselines for benchmarks 1b and 1c: the PF-ODE with the mixture's exact Laplacian (Heun) and the
augmented reverse SDE (Euler-Maruyama), batched over trajectories in PyTorch on the CPU, float64,
for isotropic and full-covariance mixtures - what a user would write instead of dlogp. Same
mixture file, process (VP, beta 0.1..20, t in [1e-3, 1]), uniform grid and N as
bench_pf_ode --mode steps and bench_reverse_sde; the SDE's noise comes from torch's generator.

Mixture forms (the file decides: "variances" isotropic, "covariances" full):
  isotropic, variant gemm: |x - a m_k|^2 with one matrix product (reverse_sde_torch.py's
      score_gemm), and the exact Laplacian in closed form,
      Lap = sum_k r_k (|x - a m_k|^2 / p_k^2 - D / p_k) - |s|^2,  p_k = a^2 v_k + sigma^2;
  full, per step P_k = a^2 S_k + sigma^2 I, its Cholesky factor (batched over k), log det P_k
  and tr P_k^{-1}, then per point u_k = P_k^{-1} (x - a m_k), r = softmax_k(c_k - (x - a m_k).u_k / 2),
  s = -sum_k r_k u_k, Lap = sum_k r_k (|u_k|^2 - tr P_k^{-1}) - |s|^2, computed as
    variant precision: P_k^{-1} from the factor (cholesky_inverse), then u_k for all k with ONE
        matrix product x [P_1^{-1} ... P_K^{-1}] (N x D times D x KD) into a preallocated
        buffer, the (N, K, D) reductions by elementwise products into a second one: the fastest
        form found (3-4x the naive einsum / fresh-tensor version of the same maths);
    variant cholesky: two batched triangular solves per step (what dlogp does per column).

    mixture_dynamics_torch.py --mixture m.json --dynamics pf_ode|reverse_sde --variant gemm
        --n 4096 --steps 1000 --window 50 --reps 1 --threads 1
    mixture_dynamics_torch.py --mixture m.json --check-values v.json   (bench_pf_ode --mode values)
    mixture_dynamics_torch.py --mixture m.json --dynamics pf_ode --check-trajectories d.bin
        --n N --steps S --window W                                     (bench_pf_ode --dump)
Prints one JSON object like bench_reverse_sde's (a check prints the largest relative differences).
"""
import argparse
import json
import math
import time

import numpy as np
import torch

from reverse_sde_torch import Mixture, median, vp


class Isotropic(Mixture):
    def score_laplacian(self, t, x):
        a, p, c = self.coefficients(t)
        am = a * self.mu
        sq = (x * x).sum(1, keepdim=True) - 2.0 * x @ am.T + (a * a) * self.musq  # N K
        r = torch.softmax(c - 0.5 * sq / p, dim=1)
        rp = r / p
        s = rp @ am - x * rp.sum(1, keepdim=True)
        lap = (r * (sq / (p * p) - self.D / p)).sum(1) - (s * s).sum(1)
        return s, lap


class Full:
    def __init__(self, path, variant):
        with open(path) as f:
            j = json.load(f)
        w = torch.tensor(j["weights"], dtype=torch.float64)
        self.logw = (w / w.sum()).log()
        self.mu = torch.tensor(j["means"], dtype=torch.float64)  # K x D
        self.S = torch.tensor(j["covariances"], dtype=torch.float64)  # K x D x D
        self.K, self.D = self.mu.shape
        self.eye = torch.eye(self.D, dtype=torch.float64)
        self.variant = variant
        self.buf = self.tmp = None

    def frame(self, t):
        """What every point of a step shares: the Cholesky factors of P_k(t) and what follows."""
        a, s2, _, _ = vp(t)
        L = torch.linalg.cholesky((a * a) * self.S + s2 * self.eye)
        logdet = 2.0 * torch.log(torch.diagonal(L, dim1=1, dim2=2)).sum(1)
        c = self.logw - 0.5 * self.D * math.log(2 * math.pi) - 0.5 * logdet
        am = a * self.mu
        if self.variant == "cholesky":
            Li = torch.linalg.solve_triangular(L, self.eye.expand(self.K, -1, -1), upper=False)
            return L, c, am, (Li * Li).sum((1, 2))
        P_inv = torch.cholesky_inverse(L)  # K D D, symmetric
        b = (P_inv @ am[:, :, None])[:, :, 0]  # P_k^{-1} a m_k
        cat = P_inv.permute(1, 0, 2).reshape(self.D, self.K * self.D)  # [P_1^{-1} ... P_K^{-1}]
        return cat, c, am, b, torch.diagonal(P_inv, dim1=1, dim2=2).sum(1)

    def _u_r(self, t, x):
        N = x.shape[0]
        if self.variant == "cholesky":
            L, c, am, tr = self.frame(t)
            d = (x[None, :, :] - am[:, None, :]).transpose(1, 2)  # K D N
            w = torch.linalg.solve_triangular(L, d, upper=False)
            quad = (w * w).sum(1).T  # N K
            u = torch.linalg.solve_triangular(L.transpose(1, 2), w, upper=True).permute(2, 0, 1)
        else:
            cat, c, am, b, tr = self.frame(t)
            # Preallocated outputs: a fresh 32 MB tensor per step costs more in page faults than
            # the matrix product itself (measured: 40 against 16 ms at D = 64, K = 16, N = 4096).
            if self.buf is None or self.buf.shape[0] != N:
                self.buf = torch.empty(N, self.K * self.D, dtype=torch.float64)
                self.tmp = torch.empty(N, self.K, self.D, dtype=torch.float64)
            u = torch.mm(x, cat, out=self.buf).view(N, self.K, self.D).sub_(b)  # N K D
            # (x - a m_k).u_k = x.u_k - a m_k.P_k^{-1}(x - a m_k) = x.u_k - x.b_k + a m_k.b_k
            quad = (torch.mul(u, x[:, None, :], out=self.tmp).sum(2) - x @ b.T
                    + (am * b).sum(1))
        r = torch.softmax(c - 0.5 * quad, dim=1)
        return u, r, tr

    def _score(self, u, r):
        if self.variant == "cholesky":
            return -torch.einsum("nk,nkd->nd", r, u)
        return -torch.mul(u, r[:, :, None], out=self.tmp).sum(1)  # 3x faster than einsum's bmm

    def score(self, t, x):
        u, r, _ = self._u_r(t, x)
        return self._score(u, r)

    def score_laplacian(self, t, x):
        u, r, tr = self._u_r(t, x)
        s = self._score(u, r)
        uu = (u * u).sum(2) if self.variant == "cholesky" else torch.mul(u, u, out=self.tmp).sum(2)
        lap = (r * (uu - tr)).sum(1) - (s * s).sum(1)
        return s, lap


def load(path, variant):
    with open(path) as f:
        full = "covariances" in json.load(f)
    if full:
        return Full(path, "cholesky" if variant == "cholesky" else "precision")
    m = Isotropic(path)
    return m


def pf_ode_rate(m, t, x):
    _, _, f, g2 = vp(t)
    s, lap = m.score_laplacian(t, x)
    return f * x - 0.5 * g2 * s, -f * m.D + 0.5 * g2 * lap


def heun(m, grid, x, l, window):
    for k in range(window):
        t, dt = grid[k], grid[k + 1] - grid[k]
        k1, l1 = pf_ode_rate(m, t, x)
        k2, l2 = pf_ode_rate(m, t + dt, x + dt * k1)
        x = x + (0.5 * dt) * (k1 + k2)
        l = l + (0.5 * dt) * (l1 + l2)
    return x, l


def euler_maruyama(m, grid, x, l, window, gen):
    score = m.score if isinstance(m, Full) else m.score_gemm
    D = m.D
    for k in range(window):
        t, dt = grid[k], grid[k + 1] - grid[k]
        _, _, f, g2 = vp(t)
        s = score(t, x)
        z = torch.randn(x.shape[0], D, generator=gen, dtype=torch.float64)
        sg = math.sqrt(abs(dt)) * math.sqrt(g2)
        l = l + dt * (-f * D - 0.5 * g2 * (s * s).sum(1)) + sg * (s * z).sum(1)
        x = x + dt * (f * x - g2 * s) + sg * z
    return x, l


def uniform_grid(steps, t_max=1.0, t_min=1e-3):
    return [t_max + (t_min - t_max) * k / steps for k in range(steps + 1)]


def rel(a, b):
    """Largest |a - b| / (1 + |b|) over all entries."""
    return float(((a - b).abs() / (1 + b.abs())).max())


def check_values(m, path):
    with open(path) as f:
        v = json.load(f)
    x = torch.tensor(v["x"], dtype=torch.float64)
    s, lap = m.score_laplacian(v["t"], x)
    ref_s = torch.tensor(v["score"], dtype=torch.float64)
    ref_l = torch.tensor(v["laplacian"], dtype=torch.float64)
    return {"check": "values", "t": v["t"], "N": x.shape[0],
            "max_score_difference_rel": rel(s, ref_s),
            "max_laplacian_difference_rel": rel(lap, ref_l),
            "max_laplacian_difference_rel_to_value": float(((lap - ref_l).abs() / ref_l.abs()).max())}


def check_trajectories(m, path, n, steps, window):
    raw = torch.from_numpy(np.fromfile(path, dtype="<f8"))
    D = m.D
    x0, x1 = raw[:n * D].view(n, D), raw[n * D:2 * n * D].view(n, D)
    l0, l1 = raw[2 * n * D:2 * n * D + n], raw[2 * n * D + n:]
    x, l = heun(m, uniform_grid(steps), x0.clone(), l0.clone(), window)
    return {"check": "trajectories", "N": n, "window": window,
            "max_x_difference_rel": rel(x, x1), "max_log_p_difference_rel": rel(l, l1),
            "mean_log_p": {"dlogp": float(l1.mean()), "torch": float(l.mean())}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mixture", required=True)
    ap.add_argument("--dynamics", default="pf_ode", choices=["pf_ode", "reverse_sde"])
    ap.add_argument("--variant", default="gemm", choices=["gemm", "precision", "cholesky"])
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--window", type=int, default=0)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--check-values")
    ap.add_argument("--check-trajectories")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_grad_enabled(False)
    m = load(a.mixture, a.variant)
    window = a.window or a.steps
    if a.check_values:
        print(json.dumps(check_values(m, a.check_values)))
        return
    if a.check_trajectories:
        print(json.dumps(check_trajectories(m, a.check_trajectories, a.n, a.steps, window)))
        return
    grid = uniform_grid(a.steps)
    _, s2T, _, _ = vp(grid[0])
    gen = torch.Generator().manual_seed(1)
    x0 = torch.randn(a.n, m.D, generator=gen, dtype=torch.float64) * math.sqrt(s2T)
    l0 = -0.5 * m.D * math.log(2 * math.pi * s2T) - (x0 * x0).sum(1) / (2 * s2T)
    # One untimed step first: OpenBLAS's and the allocator's first-call costs are not per step.
    if a.dynamics == "pf_ode":
        heun(m, grid, x0.clone(), l0.clone(), 1)
    else:
        euler_maruyama(m, grid, x0.clone(), l0.clone(), 1, torch.Generator().manual_seed(7))
    times, cpu = [], []
    for _ in range(a.reps):
        t0, c0 = time.perf_counter(), time.process_time()
        if a.dynamics == "pf_ode":
            x, l = heun(m, grid, x0.clone(), l0.clone(), window)
        else:
            x, l = euler_maruyama(m, grid, x0.clone(), l0.clone(), window,
                                  torch.Generator().manual_seed(7))
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    med, cmed = median(times), median(cpu)
    print(json.dumps({"D": m.D, "K": int(m.mu.shape[0]), "N": a.n, "steps": a.steps,
                      "window": window, "dynamics": a.dynamics,
                      "variant": getattr(m, "variant", a.variant), "threads": a.threads,
                      "seconds": times, "cpu_seconds": cpu, "median_seconds": med,
                      "median_cpu_seconds": cmed, "traj_steps_per_s": a.n * window / med,
                      "traj_steps_per_cpu_s": a.n * window / cmed,
                      "mean_log_p": float(l.mean()), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
