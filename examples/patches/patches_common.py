"""Shared pieces of the patches example: its patches, the model and its weight file
(the data and the file format themselves are examples/common/example_data.py).

Run with Debian's /usr/bin/python3 (python3-torch, -numpy, -scipy, -sklearn).
The file format is documented in docs/weights-format.md.
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import example_data  # noqa: E402
from example_data import load_images, read_tensors, to_model_units, write_tensors  # noqa: E402,F401

PATCH = 16
D = PATCH * PATCH
# VP process as in dlogp::vp_process defaults (docs/notation.md §1).
BETA_MIN, BETA_MAX, T_MIN, T_MAX = 0.1, 20.0, 1e-3, 1.0


# ----------------------------------------------------------------------------------- data
def cut_patches(imgs, n_total, split, seed):
    """examples/common/example_data.py's patches of PATCH x PATCH: (uint8 [n, 16, 16], where)."""
    return example_data.cut_patches(imgs, n_total, split, seed, PATCH)


# ----------------------------------------------------------------------------------- process
def vp_alpha_sigma(t):
    integral = BETA_MIN * t + 0.5 * (BETA_MAX - BETA_MIN) * t * t
    alpha = torch.exp(-0.5 * integral)
    sigma = torch.sqrt(-torch.expm1(-integral))
    return alpha, sigma


# ----------------------------------------------------------------------------------- model
def time_embedding(t, dim, scale, max_period):
    """[sin(scale t w_j), cos(scale t w_j)], w_j = max_period^(-j / (dim/2)), computed in float64.

    Always float64 (then cast) so that float32 models in C++ and PyTorch agree on it.
    """
    half = dim // 2
    t64 = t.to(torch.float64).reshape(-1, 1)
    w = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float64) / half)
    a = scale * t64 * w[None, :]
    return torch.cat([torch.sin(a), torch.cos(a)], dim=1)


class mlp_eps(torch.nn.Module):
    """epsilon-prediction MLP (docs/weights-format.md):
        e   = time_embedding(t)                                   (E)
        z   = silu(Wt e + bt)                                     (C)  time features
        h_0 = x
        a_l = (W_l h_l + b_l) * (1 + G_l z) + U_l z               (G_l only with film)
        h_{l+1} = silu(a_l) [+ h_l if residual and the widths agree]
        out = (W_o h_L + b_o) * (1 + G_o z) [+ S x if skip]       (G_o only with film)
              [+ sigma U diag(1 / (alpha^2 lam + sigma^2)) U^T (x - alpha mu)]   (Gaussian base)
    The Gaussian base is the exact epsilon of N(mu, U diag(lam) U^T) data under the VP process:
    the network starts as the best linear denoiser and learns what is not Gaussian.
    """

    def __init__(self, d=D, width=256, depth=4, emb_dim=64, time_width=128, scale=1000.0, max_period=10000.0,
                 film=False, residual=False, skip=False, base=None):
        super().__init__()
        self.has_base = base is not None
        if self.has_base:  # base = (mean [D], eigenvectors [D, D] as columns, eigenvalues [D])
            for name, v in zip(("base_mean", "base_eigvecs", "base_eigvals"), base):
                self.register_buffer(name, torch.as_tensor(v, dtype=torch.float32).clone())
        self.d, self.width, self.depth = d, width, depth
        self.emb_dim, self.time_width, self.scale, self.max_period = emb_dim, time_width, scale, max_period
        self.film, self.residual, self.skip = film, residual, skip
        self.time = torch.nn.Linear(emb_dim, time_width)
        self.hidden = torch.nn.ModuleList([torch.nn.Linear(d if l == 0 else width, width) for l in range(depth)])
        self.time_proj = torch.nn.ModuleList([torch.nn.Linear(time_width, width, bias=False) for _ in range(depth)])
        self.out = torch.nn.Linear(width, d)
        if film:
            self.time_scale = torch.nn.ModuleList([torch.nn.Linear(time_width, width, bias=False) for _ in range(depth)])
            self.out_scale = torch.nn.Linear(time_width, d, bias=False)
            for m in list(self.time_scale) + [self.out_scale]:
                torch.nn.init.zeros_(m.weight)  # start as the plain network
        if skip:
            self.skip_lin = torch.nn.Linear(d, d, bias=False)
            torch.nn.init.zeros_(self.skip_lin.weight)
        if self.has_base:  # start as exactly the Gaussian model
            torch.nn.init.zeros_(self.out.weight)
            torch.nn.init.zeros_(self.out.bias)

    def is_residual(self, l):
        return self.residual and l > 0

    def forward(self, x, t):
        e = time_embedding(t, self.emb_dim, self.scale, self.max_period).to(x.dtype)
        c = torch.nn.functional.silu(self.time(e))
        h = x
        for l, (lin, proj) in enumerate(zip(self.hidden, self.time_proj)):
            a = lin(h)
            if self.film:
                a = a * (1 + self.time_scale[l](c))
            a = torch.nn.functional.silu(a + proj(c))
            h = a + h if self.is_residual(l) else a
        out = self.out(h)
        if self.film:
            out = out * (1 + self.out_scale(c))
        if self.skip:
            out = out + self.skip_lin(x)
        if self.has_base:
            b = BETA_MIN * t + 0.5 * (BETA_MAX - BETA_MIN) * t * t  # float64, as in C++
            alpha = torch.exp(-0.5 * b)
            sigma2 = -torch.expm1(-b)
            coef = torch.sqrt(sigma2)[:, None] / (alpha[:, None] ** 2 * self.base_eigvals.double()[None, :] + sigma2[:, None])
            y = (x - alpha.to(x.dtype)[:, None] * self.base_mean.to(x.dtype)) @ self.base_eigvecs.to(x.dtype)
            out = out + (y * coef.to(x.dtype)) @ self.base_eigvecs.to(x.dtype).T
        return out

    def architecture(self):
        return {
            "format": "dlogp-mlp",
            "version": 1,
            "dimension": self.d,
            "depth": self.depth,
            "activation": "silu",
            "residual": [self.is_residual(l) for l in range(self.depth)],
            "parametrisation": "epsilon",
            "time_embedding": {
                "kind": "sinusoidal",
                "dim": self.emb_dim,
                "scale": self.scale,
                "max_period": self.max_period,
            },
            "process": {"kind": "vp", "beta_min": BETA_MIN, "beta_max": BETA_MAX, "t_min": T_MIN, "t_max": T_MAX},
            "gaussian_base": self.has_base,
        }

    def named_tensors(self):
        """The tensors of the file, by their documented names (weights are [out, in])."""
        t = {"time.weight": self.time.weight, "time.bias": self.time.bias}
        for l in range(self.depth):
            t[f"hidden.{l}.weight"] = self.hidden[l].weight
            t[f"hidden.{l}.bias"] = self.hidden[l].bias
            t[f"hidden.{l}.time_weight"] = self.time_proj[l].weight
            if self.film:
                t[f"hidden.{l}.time_scale"] = self.time_scale[l].weight
        t["out.weight"] = self.out.weight
        t["out.bias"] = self.out.bias
        if self.film:
            t["out.time_scale"] = self.out_scale.weight
        if self.skip:
            t["skip.weight"] = self.skip_lin.weight
        if self.has_base:
            t["base.mean"] = self.base_mean
            t["base.eigvecs"] = self.base_eigvecs
            t["base.eigvals"] = self.base_eigvals
        return t
