#!/usr/bin/python3
"""Train dlogp's MLP (epsilon parametrisation, VP process) on the patch mixture by regression on
the EXACT epsilon, and export it as a dlogp weight file (docs/weights-format.md).

    /usr/bin/python3 examples/patch_mixture/train_network.py [--minutes 14] [--out examples/patch_mixture/data/network.safetensors]

The data are unlimited: every batch is a fresh exact draw x_0 ~ p_0 (the mixture of
data/mixture.safetensors), t, and x_t = alpha_t x_0 + sigma_t eps. The target is not eps (the
denoising target, whose noise floor hides the network's error) but the exact
E[eps | x_t] = -sigma_t grad log p_t(x_t), so the loss is the network's own error and goes to 0
for a perfect network.

Loss: |eps_theta - eps*|^2 with t drawn so that every unit of log-SNR gets the same number of
draws (half the batch) or uniform in t (the other half); the likelihood weighting of
docs/notation.md §3.6 is g^2 / sigma^2 |eps err|^2 dt = |eps err|^2 |d lambda|, i.e. log-SNR
uniform, so the first half is what the bias of the reverse-SDE estimate weighs.

Training stops after --steps steps or --minutes of CPU time (one thread), whichever comes first,
and the learning rate follows the fraction of the CPU budget used. Seeds are fixed (every batch,
t and noise draw is the same on every run), but the schedule and the number of steps depend on
the machine's speed: a rerun gives a network of the same kind and quality, not the same bits.
The committed file records its step count and CPU time in __metadata__ (training).
"""
import argparse
import copy
import json
import math
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "patches"))
import mixture_common as mc  # noqa: E402
import patches_common as pc  # noqa: E402  (the project's MLP module and its file layout)


class ExactEps:
    """E[eps | x_t] = -sigma grad log p_t(x_t) of the mixture, in torch float64 (docs/notation.md §2)."""

    def __init__(self, mix):
        self.w = torch.from_numpy(np.log(mix.w).copy())
        self.mu = torch.from_numpy(mix.mu.copy())
        self.lam = torch.from_numpy(mix.lam)
        self.V = torch.from_numpy(mix.V)

    def __call__(self, t, x):
        a, s = [torch.from_numpy(v) for v in mc.alpha_sigma(t.numpy())]
        ev = a[:, None, None] ** 2 * self.lam[None] + (s * s)[:, None, None]  # [N, K, D]
        # batched matmuls over components (torch's einsum takes a slow path here)
        diff = x[None, :, :] - a[None, :, None] * self.mu[:, None, :]  # [K, N, D]
        y = torch.bmm(diff, self.V).transpose(0, 1)  # [N, K, D]: V_k^T (x - a mu_k)
        u = y / ev
        lw = -0.5 * ((y * u).sum(2) + torch.log(ev).sum(2)) + self.w[None]
        r = torch.softmax(lw, dim=1)
        back = torch.bmm((r[:, :, None] * u).transpose(0, 1), self.V.transpose(1, 2))  # [K, N, D]
        return s[:, None] * back.sum(0)  # -sigma * score, score = -sum_k r_k V_k u_k


def sample_t(n, g):
    """Half uniform in log-SNR over [t_min, t_max], half uniform in t (alternating)."""
    lam_hi, lam_lo = mc.log_snr(mc.T_MIN), mc.log_snr(mc.T_MAX)
    u = torch.rand(n, generator=g, dtype=torch.float64).numpy()
    v = torch.rand(n, generator=g, dtype=torch.float64).numpy()
    t_lam = mc.t_of_log_snr(lam_lo + (lam_hi - lam_lo) * u)
    t_uni = mc.T_MIN + (mc.T_MAX - mc.T_MIN) * v
    t = np.where(np.arange(n) % 2 == 0, t_lam, t_uni)
    return torch.from_numpy(np.clip(t, mc.T_MIN, mc.T_MAX))


def draw_x0(mix, n, g):
    k = torch.multinomial(torch.from_numpy(mix.w), n, replacement=True, generator=g)
    z = torch.randn(n, mix.d, generator=g, dtype=torch.float64)
    V, lam, mu = torch.from_numpy(mix.V), torch.from_numpy(mix.lam), torch.from_numpy(mix.mu)
    return mu[k] + torch.bmm(V[k], (lam[k].sqrt() * z)[:, :, None])[:, :, 0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200000, help="upper bound; --minutes usually stops first")
    ap.add_argument("--minutes", type=float, default=14.0, help="CPU-time budget of the training loop")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--ema", type=float, default=0.998)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--time-width", type=int, default=64)
    ap.add_argument("--emb-dim", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--log-every", type=int, default=1000)
    ap.add_argument("--whiten", type=float, default=1e-4, help="c of the first layer's whitened initialisation (0: off)")
    ap.add_argument("--out", default=os.path.join(mc.DATA, "network.safetensors"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    mix = mc.Mixture()
    target = ExactEps(mix)
    lam, U = np.linalg.eigh(mix.cov)
    base = (mix.mean, U, np.maximum(lam, 0.0))  # exact moments of p_0: the Gaussian part is free
    model = pc.mlp_eps(d=mc.D, width=args.width, depth=args.depth, emb_dim=args.emb_dim, time_width=args.time_width,
                       film=True, residual=True, skip=True, base=base)
    if args.whiten > 0:
        # The exact epsilon at small t depends on x through directions whose variance (down to
        # 1e-5) is far below that of the brightness directions (~0.3): a first layer initialised
        # for unit-scale inputs sees them as noise-level changes and learns them slowly. Start
        # the first layer on x whitened by (Cov + c I)^(-1/2) instead (a plain initialisation
        # of the same weights: the file format is unchanged).
        wh = U @ np.diag(1.0 / np.sqrt(np.maximum(lam, 0.0) + args.whiten)) @ U.T
        with torch.no_grad():
            w0 = model.hidden[0].weight
            w0.copy_(w0 @ torch.from_numpy(wh * math.sqrt(args.whiten)).float() / math.sqrt(args.whiten))
            model.hidden[0].bias.sub_(w0 @ torch.from_numpy(mix.mean).float())
    ema = copy.deepcopy(model)
    for p in ema.parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    budget = 60.0 * args.minutes

    # The schedule is a function of the fraction of the CPU budget used, so that a time-limited
    # run still anneals the learning rate to 0 at its end.
    def lr_at(frac, step):
        return args.lr * min(1.0, (step + 1) / 500) * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0)))

    # Fixed monitoring set: exact draws and held-out patches, each perturbed on a log-SNR grid.
    gm = torch.Generator().manual_seed(11)
    mon_t = torch.from_numpy(np.repeat(mc.t_of_log_snr(np.linspace(mc.log_snr(mc.T_MAX), mc.log_snr(mc.T_MIN), 16)), 64))
    mon_x0 = draw_x0(mix, len(mon_t), gm)
    a, s = [torch.from_numpy(v) for v in mc.alpha_sigma(mon_t.numpy())]
    mon_x = a[:, None] * mon_x0 + s[:, None] * torch.randn(mon_x0.shape, generator=gm, dtype=torch.float64)
    mon_y = target(mon_t, mon_x)

    def monitor(net):
        with torch.no_grad():
            e = ((net(mon_x.float(), mon_t).double() - mon_y) ** 2).sum(1)
        # log-SNR-uniform grid: mean over it x the log-SNR range / 2 = the likelihood-weighted
        # integral (1/2) int g^2 |s_theta - s|^2 dt, the predicted reverse-SDE bias in nats.
        return e.mean().item(), 0.5 * (mc.log_snr(mc.T_MIN) - mc.log_snr(mc.T_MAX)) * e.mean().item()

    gen = torch.Generator().manual_seed(3)
    c0 = time.process_time()
    log_lines = []
    step = 0
    while step < args.steps:
        frac = (time.process_time() - c0) / budget
        if frac >= 1.0:
            break
        for grp in opt.param_groups:
            grp["lr"] = lr_at(frac, step)
        x0 = draw_x0(mix, args.batch, gen)
        t = sample_t(args.batch, gen)
        a, s = [torch.from_numpy(v) for v in mc.alpha_sigma(t.numpy())]
        xt = a[:, None] * x0 + s[:, None] * torch.randn(x0.shape, generator=gen, dtype=torch.float64)
        y = target(t, xt).float()
        loss = ((model(xt.float(), t) - y) ** 2).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(args.ema).add_(pm, alpha=1 - args.ema)
        if step % args.log_every == 0:
            m, b = monitor(ema)
            mr, _ = monitor(model)
            msg = (f"step {step:6d}  loss {loss.item():.4f}  |eps err|^2 {mr:.4f}  ema {m:.4f}  predicted SDE bias {b:.2f} nats  "
                   f"lr {lr_at(frac, step):.2e}  cpu {time.process_time() - c0:6.0f}s")
            print(msg, flush=True)
            log_lines.append(msg)
        step += 1
    cpu = time.process_time() - c0
    m, b = monitor(ema)
    print(f"done: {step} steps, {cpu:.0f} s CPU; ema |eps err|^2 {m:.4f}, predicted SDE bias {b:.2f} nats", flush=True)

    ema = ema.float().eval()
    arch = ema.architecture()
    arch["training"] = {"steps": step, "batch": args.batch, "lr": args.lr, "ema": args.ema, "cpu_seconds": round(cpu, 1),
                        "threads": args.threads, "target": "exact epsilon of the patch mixture",
                        "monitor_eps_mse_sum": round(m, 5), "torch": torch.__version__}
    tensors = {k: v.detach().numpy().astype(np.float32) for k, v in ema.named_tensors().items()}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    mc.write_tensors(args.out, tensors, {"dlogp": json.dumps(arch)})
    with open(os.path.splitext(args.out)[0] + ".log", "w") as f:
        f.write("\n".join(log_lines) + "\n")
    print(args.out, os.path.getsize(args.out), "bytes")


if __name__ == "__main__":
    main()
