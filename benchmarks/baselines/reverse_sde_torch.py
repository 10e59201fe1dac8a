"""Baseline for benchmark 1: the augmented reverse SDE (Euler-Maruyama) on an isotropic Gaussian
mixture, batched over trajectories in PyTorch on the CPU, float64 - what a user would write
instead of dlogp. Same mixture file, process (VP, beta 0.1..20, t in [1e-3, 1]), grid and N as
bench_reverse_sde; the noise comes from torch's generator (throughput does not depend on it).

Two score implementations:
  direct  the textbook one: differences x - m_k as an (N, K, D) tensor, logsumexp, softmax;
  gemm    the fastest we could write: |x - m_k|^2 = |x|^2 - 2 x.m_k + |m_k|^2 with one matrix
          product, and s = -x (r . 1/p) + (r / p) M with another (no (N, K, D) tensor).

    reverse_sde_torch.py --mixture m.json --n 4096 --steps 1000 --window 50 --reps 3
                         --variant gemm --threads 1 [--track 1]
Prints one JSON object like bench_reverse_sde's.
"""
import argparse
import json
import math
import time

import torch

import mixture


def vp(t, b0=0.1, b1=20.0):
    B = b0 * t + 0.5 * (b1 - b0) * t * t
    return math.exp(-0.5 * B), -math.expm1(-B), -0.5 * (b0 + (b1 - b0) * t), b0 + (b1 - b0) * t


class Mixture:
    def __init__(self, path):
        w, m, v = mixture.load(path)
        self.logw = torch.tensor(w).log()
        self.mu = torch.tensor(m)  # K x D
        self.var = torch.tensor(v)
        self.musq = (self.mu * self.mu).sum(1)
        self.D = self.mu.shape[1]

    def coefficients(self, t):
        a, s2, _, _ = vp(t)
        p = a * a * self.var + s2  # K
        c = self.logw - 0.5 * self.D * torch.log(2 * math.pi * p)
        return a, p, c

    def score_direct(self, t, x):
        a, p, c = self.coefficients(t)
        d = x[:, None, :] - a * self.mu[None, :, :]  # N K D
        logits = c - 0.5 * (d * d).sum(-1) / p
        r = torch.softmax(logits, dim=1)
        return -((r / p)[:, :, None] * d).sum(1)

    def score_gemm(self, t, x):
        a, p, c = self.coefficients(t)
        am = a * self.mu
        sq = (x * x).sum(1, keepdim=True) - 2.0 * x @ am.T + (a * a) * self.musq  # N K
        logits = c - 0.5 * sq / p
        rp = torch.softmax(logits, dim=1) / p
        return rp @ am - x * rp.sum(1, keepdim=True)


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mixture", required=True)
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--window", type=int, default=0)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--variant", default="gemm", choices=["gemm", "direct"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--track", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_grad_enabled(False)
    m = Mixture(a.mixture)
    score = m.score_gemm if a.variant == "gemm" else m.score_direct
    window = a.window or a.steps
    t_max, t_min = 1.0, 1e-3
    grid = [t_max + (t_min - t_max) * k / a.steps for k in range(a.steps + 1)]
    gen = torch.Generator().manual_seed(1)
    _, s2T, _, _ = vp(t_max)
    x0 = torch.randn(a.n, m.D, generator=gen, dtype=torch.float64) * math.sqrt(s2T)
    l0 = -0.5 * m.D * math.log(2 * math.pi * s2T) - (x0 * x0).sum(1) / (2 * s2T)
    D = m.D
    times, cpu = [], []
    for _ in range(a.reps):
        x, l = x0.clone(), l0.clone()
        g = torch.Generator().manual_seed(7)
        t0, c0 = time.perf_counter(), time.process_time()
        for k in range(window):
            t, dt = grid[k], grid[k + 1] - grid[k]
            _, _, f, g2 = vp(t)
            s = score(t, x)
            z = torch.randn(a.n, D, generator=g, dtype=torch.float64)
            sq = math.sqrt(abs(dt))
            gg = math.sqrt(g2)
            if a.track:
                l = l + dt * (-f * D - 0.5 * g2 * (s * s).sum(1)) + sq * gg * (s * z).sum(1)
            x = x + dt * (f * x - g2 * s) + (sq * gg) * z
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    med, cmed = median(times), median(cpu)
    print(json.dumps({"D": D, "K": m.mu.shape[0], "N": a.n, "steps": a.steps, "window": window,
                      "variant": a.variant, "threads": a.threads, "seconds": times,
                      "cpu_seconds": cpu, "median_seconds": med, "median_cpu_seconds": cmed,
                      "traj_steps_per_s": a.n * window / med,
                      "traj_steps_per_cpu_s": a.n * window / cmed,
                      "mean_log_p": float(l.mean()), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
