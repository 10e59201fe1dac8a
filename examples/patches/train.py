#!/usr/bin/python3
"""Train the epsilon-prediction VP model on 16x16 grayscale photo patches (D = 256).

    /usr/bin/python3 examples/patches/train.py [--steps 3000] [--work build/patches]

One thread, fixed seeds: the same machine gives the same weights. Writes the checkpoint
<work>/checkpoint.pt and a log; examples/patches/export.py turns it into the committed files.
"""
import argparse
import copy
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import patches_common as pc  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--ema", type=float, default=0.998)
    ap.add_argument("--train-patches", type=int, default=200000)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--film", type=int, default=1, help="time-dependent gains (FiLM) on every layer")
    ap.add_argument("--residual", type=int, default=1, help="residual hidden layers")
    ap.add_argument("--skip", type=int, default=1, help="linear skip from the input to the output")
    ap.add_argument("--base", type=int, default=1, help="add the Gaussian (best linear) epsilon as a fixed base")
    ap.add_argument("--tsample", default="mixed", choices=["uniform", "mixed"],
                    help="t ~ U(t_min, T), or half of the batch log-uniform (weights small t as the likelihood does)")
    ap.add_argument("--work", default="build/patches")
    args = ap.parse_args()
    torch.set_num_threads(1)  # the machine is shared; results are also reproducible this way
    torch.manual_seed(0)
    os.makedirs(args.work, exist_ok=True)

    imgs = pc.load_images()
    train_u8, _ = pc.cut_patches(imgs, args.train_patches, "train", seed=1)
    test_u8, _ = pc.cut_patches(imgs, 2000, "test", seed=2)
    train = torch.from_numpy(train_u8.reshape(len(train_u8), -1).astype(np.float32))
    test_x0 = torch.from_numpy(pc.to_model_units(test_u8.reshape(len(test_u8), -1), 0.5).astype(np.float32))

    # Gaussian fit of the (dequantised) training patches, for the base and the diagnostics.
    xs = pc.to_model_units(train_u8.reshape(len(train_u8), -1), np.random.default_rng(6).random((len(train_u8), pc.D)))
    mu, cov = xs.mean(0), np.cov(xs.T)
    lam, U = np.linalg.eigh(cov)
    base = (mu, U, np.maximum(lam, 0.0)) if args.base else None
    model = pc.mlp_eps(width=args.width, depth=args.depth, film=bool(args.film), residual=bool(args.residual),
                       skip=bool(args.skip), base=base)
    ema = copy.deepcopy(model)
    for p in ema.parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    warmup = 200
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, args.steps) / args.steps)))
    gen = torch.Generator().manual_seed(3)

    def sample_t(n, g):
        u = torch.rand(n, generator=g, dtype=torch.float64)
        t = pc.T_MIN + (pc.T_MAX - pc.T_MIN) * u
        if args.tsample == "mixed":
            v = torch.rand(n, generator=g, dtype=torch.float64)
            t_log = pc.T_MIN * (pc.T_MAX / pc.T_MIN) ** v
            t = torch.where(torch.arange(n) % 2 == 0, t, t_log)
        return t

    # Diffusion-loss proxy of the likelihood: eps MSE averaged over log-SNR (uniform grid),
    # for the model and for the best linear (Gaussian, Wiener) denoiser fitted to the training
    # set. -ELBO differs by (1/2) (lambda range) D (difference of the averages) nats.
    lam_hi = math.log(float(pc.vp_alpha_sigma(torch.tensor(pc.T_MIN, dtype=torch.float64))[0] ** 2 /
                            pc.vp_alpha_sigma(torch.tensor(pc.T_MIN, dtype=torch.float64))[1] ** 2))
    lam_lo = math.log(float(pc.vp_alpha_sigma(torch.tensor(pc.T_MAX, dtype=torch.float64))[0] ** 2 /
                            pc.vp_alpha_sigma(torch.tensor(pc.T_MAX, dtype=torch.float64))[1] ** 2))
    lams = np.linspace(lam_lo, lam_hi, 16)

    def t_of_lambda(lam):  # VP: integrated beta B = log(1 + e^-lambda)
        B = math.log1p(math.exp(-lam))
        return 2 * B / (pc.BETA_MIN + math.sqrt(pc.BETA_MIN ** 2 + 2 * (pc.BETA_MAX - pc.BETA_MIN) * B))

    def lambda_mse(net):
        g = torch.Generator().manual_seed(7)
        x0 = test_x0[:512].double()
        m_model, m_gauss = [], []
        for lam in lams:
            t = torch.full((len(x0),), t_of_lambda(lam), dtype=torch.float64)
            alpha, sigma = pc.vp_alpha_sigma(t)
            eps = torch.randn(x0.shape, generator=g, dtype=torch.float64)
            xt = alpha[:, None] * x0 + sigma[:, None] * eps
            with torch.no_grad():
                m_model.append(((net(xt.float(), t).double() - eps) ** 2).mean().item())
            a, s_ = float(alpha[0]), float(sigma[0])
            P = a * a * cov + s_ * s_ * np.eye(pc.D)  # eps_hat = sigma P^-1 (x - a mu)
            e_hat = s_ * np.linalg.solve(P, (xt.numpy() - a * mu).T).T
            m_gauss.append(((e_hat - eps.numpy()) ** 2).mean())
        return np.mean(m_model), np.mean(m_gauss), 0.5 * (lam_hi - lam_lo) * pc.D

    def loss_on(net, x0, g):
        n = x0.shape[0]
        t = sample_t(n, g)
        alpha, sigma = pc.vp_alpha_sigma(t)
        eps = torch.randn(x0.shape, generator=g)
        xt = alpha.float()[:, None] * x0 + sigma.float()[:, None] * eps
        return ((net(xt, t) - eps) ** 2).mean()

    log = open(os.path.join(args.work, "train.log"), "a")
    t0 = time.time()
    for step in range(args.steps):
        idx = torch.randint(0, len(train), (args.batch,), generator=gen)
        u = train[idx]
        flip = torch.rand(args.batch, generator=gen) < 0.5  # horizontal flips
        u = torch.where(flip[:, None], u.view(-1, pc.PATCH, pc.PATCH).flip(-1).reshape(args.batch, -1), u)
        x0 = (u + torch.rand(u.shape, generator=gen)) / 128.0 - 1.0  # uniform dequantisation
        loss = loss_on(model, x0, gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():  # (buffers, the Gaussian base, are fixed)
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(args.ema).add_(pm, alpha=1 - args.ema)
        if step % 250 == 0 or step == args.steps - 1:
            with torch.no_grad():
                tl = loss_on(ema, test_x0, torch.Generator().manual_seed(4)).item()
            mm, mg, k = lambda_mse(ema) if step % 1000 == 0 or step == args.steps - 1 else (math.nan, math.nan, 0)
            msg = (f"step {step:6d}  loss {loss.item():.4f}  ema-test-loss {tl:.4f}  lambda-avg-mse model {mm:.4f} "
                   f"gauss {mg:.4f} (-elbo gap ~ {k * (mm - mg):.0f} nats)  lr {sched.get_last_lr()[0]:.2e}  {time.time() - t0:7.1f}s")
            print(msg, flush=True)
            log.write(msg + "\n")
            log.flush()
    torch.save({"args": vars(args), "ema": ema.state_dict(), "model": model.state_dict(), "seconds": time.time() - t0,
                "base": base},
               os.path.join(args.work, "checkpoint.pt"))
    print(f"done in {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
