#!/usr/bin/python3
"""Export the trained patches model and data for the C++ side (formats: docs/weights-format.md).

    /usr/bin/python3 examples/patches/export.py [--work build/patches] [--out examples/patches/data]

Writes (all committed, together about 1.9 MB):
  model.safetensors         EMA weights, float32, with the architecture in __metadata__["dlogp"]
  test_patches.safetensors  1000 held-out patches, uint8 [N, 16, 16], and their positions
  reference.safetensors     fixed inputs and PyTorch outputs for tests/model/mlp_test.cpp:
                            x [n, D], t [n], v [n, D] (float64); out_f64 [n, D], jvp_f64 [n, D],
                            trace_f64 [n], out_scale_f64 [n, D] = |W_o| |h_L| + |b_o| from the
                            float64 model; x_f32 [n, D] and out_f32 [n, D]
                            from the float32 model
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import patches_common as pc  # noqa: E402

N_TEST = 1000


def time_features(m, t):
    e = pc.time_embedding(t, m.emb_dim, m.scale, m.max_period).to(torch.float64)
    return torch.nn.functional.silu(m.time(e))


def last_hidden(m, x, t):
    """h_L of pc.mlp_eps.forward (float64 model)."""
    c = time_features(m, t)
    h = x
    for l, (lin, proj) in enumerate(zip(m.hidden, m.time_proj)):
        a = lin(h)
        if m.film:
            a = a * (1 + m.time_scale[l](c))
        a = torch.nn.functional.silu(a + proj(c))
        h = a + h if m.is_residual(l) else a
    return h


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="build/patches")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "data"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    ck = torch.load(os.path.join(args.work, "checkpoint.pt"))
    a = ck["args"]
    kw = dict(width=a["width"], depth=a["depth"], film=bool(a["film"]), residual=bool(a["residual"]),
              skip=bool(a["skip"]), base=ck["base"])
    model = pc.mlp_eps(**kw)
    model.load_state_dict(ck["ema"])
    model.eval()

    # Weights in float32: the float64 model below uses exactly these values, widened.
    model = model.float()
    arch = model.architecture()
    arch["training"] = {k: a[k] for k in ("steps", "batch", "lr", "ema", "train_patches", "tsample")}
    arch["training"]["seconds"] = round(ck["seconds"], 1)
    tensors = {k: v.detach().numpy().astype(np.float32) for k, v in model.named_tensors().items()}
    pc.write_tensors(os.path.join(args.out, "model.safetensors"), tensors, {"dlogp": json.dumps(arch)})

    # Held-out patches (the first N_TEST of the test split train.py monitors).
    imgs = pc.load_images()
    test_u8, where = pc.cut_patches(imgs, 2000, "test", seed=2)
    names = sorted(imgs)
    pos = np.array([[names.index(n), r, c] for n, r, c in where[:N_TEST]], dtype=np.int64)
    pc.write_tensors(os.path.join(args.out, "test_patches.safetensors"),
                     {"patches": test_u8[:N_TEST], "positions": pos},
                     {"images": json.dumps(names), "split": "columns >= floor(0.8 W) of each image",
                      "units": "uint8 grey levels; model units x = (u + 0.5) / 128 - 1 at bin centres"})

    # Reference: noised held-out patches at several times, one column per time.
    times = np.array([1e-3, 1e-2, 0.1, 0.3, 0.7, 1.0])
    n = len(times)
    g = torch.Generator().manual_seed(5)
    x0 = torch.from_numpy(pc.to_model_units(test_u8[:n].reshape(n, -1), 0.5))
    t = torch.from_numpy(times)
    alpha, sigma = pc.vp_alpha_sigma(t)
    x = alpha[:, None] * x0 + sigma[:, None] * torch.randn(n, pc.D, generator=g, dtype=torch.float64)
    v = torch.randn(n, pc.D, generator=g, dtype=torch.float64)
    m64 = pc.mlp_eps(**kw).double()
    m64.load_state_dict({k: w.double() for k, w in model.state_dict().items()})
    with torch.no_grad():
        out64 = m64(x, t)
        out32 = model(x.float(), t)
        # Magnitude accumulated by the output layer, |W_o| |h_L| + |b_o|: the scale of float
        # rounding in out (at small t the output is far smaller than its terms).
        scale64 = last_hidden(m64, x, t).abs() @ m64.out.weight.abs().T + m64.out.bias.abs()
        if m64.film:
            scale64 = scale64 * (1 + m64.out_scale(time_features(m64, t))).abs()
        if m64.skip:
            scale64 = scale64 + x.abs() @ m64.skip_lin.weight.abs().T
        if m64.has_base:  # |base| term, bounded by the base itself applied to |.|
            b = pc.BETA_MIN * t + 0.5 * (pc.BETA_MAX - pc.BETA_MIN) * t * t
            al, s2 = torch.exp(-0.5 * b), -torch.expm1(-b)
            coef = torch.sqrt(s2)[:, None] / (al[:, None] ** 2 * m64.base_eigvals[None, :] + s2[:, None])
            U = m64.base_eigvecs.abs()
            scale64 = scale64 + ((((x.abs() + al[:, None] * m64.base_mean.abs()) @ U) * coef) @ U.T)
    jvp, trace = [], []
    for i in range(n):
        f = lambda xi: m64(xi[None, :], t[i:i + 1])[0]  # noqa: E731
        jvp.append(torch.autograd.functional.jvp(f, x[i], v[i])[1])
        trace.append(torch.autograd.functional.jacobian(f, x[i]).diagonal().sum())
    ref = {"x": x.numpy(), "t": times, "v": v.numpy(), "out_f64": out64.numpy(),
           "jvp_f64": torch.stack(jvp).detach().numpy(), "trace_f64": torch.stack(trace).detach().numpy(),
           "out_scale_f64": scale64.numpy(), "x_f32": x.float().numpy(), "out_f32": out32.numpy()}
    pc.write_tensors(os.path.join(args.out, "reference.safetensors"), ref,
                     {"note": "rows are samples; model.safetensors evaluated by PyTorch " + torch.__version__})
    for f in ("model.safetensors", "test_patches.safetensors", "reference.safetensors"):
        print(f, os.path.getsize(os.path.join(args.out, f)), "bytes")


if __name__ == "__main__":
    main()
