#!/usr/bin/python3
"""Writes the tiny models tests/torch/torch_score_model_test.cpp loads (run at test time).

    /usr/bin/python3 tests/torch/make_models.py OUT_DIR

OUT_DIR/mlp_traced_f64.pt    torch.jit.trace of examples/patches' MLP (D = 8, width 8, FiLM,
                             residual, skip), float64; mlp_traced_f32.pt the same in float32
OUT_DIR/mlp.safetensors      the same weights in the dlogp weight format
OUT_DIR/gauss_scripted.pt    torch.jit.script of eps(x, t) = x * sigma / (alpha^2 c^2 + sigma^2)
                             (the exact epsilon of N(0, c^2 I) data under the VP process), c = 0.5
OUT_DIR/bad_shape.pt         torch.jit.script returning [N, D + 1]
For dlogp-run (tests/torch/runner_test.cpp):
OUT_DIR/gauss_sigma.pt       gauss_scripted.pt taking sigma(t) instead of t
OUT_DIR/gauss_image.pt       gauss_scripted.pt for x of any shape [N, ...] (e.g. [N, 2, 2, 2])
OUT_DIR/one_argument.pt      forward(x): the wrong signature
OUT_DIR/float64_output.pt    returns float64 whatever the input's dtype
OUT_DIR/throws.pt            raises once t < 0.5 (a module failing mid-run)
OUT_DIR/points_f64.npy       six points ~ N(0, 0.5^2 I) in D = 8, float64; the fourth has a NaN
OUT_DIR/points_f32.npy       the same points in float32
"""
import copy
import json
import os
import sys

import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "examples", "patches"))
import patches_common as pc  # noqa: E402


def gauss_eps_coefficient(t: torch.Tensor, c: float) -> torch.Tensor:
    """eps = x * this: sigma / (alpha^2 c^2 + sigma^2) under the VP process."""
    b = pc.BETA_MIN * t + 0.5 * (pc.BETA_MAX - pc.BETA_MIN) * t * t
    alpha = torch.exp(-0.5 * b)
    sigma = torch.sqrt(-torch.expm1(-b))
    return sigma / (alpha * alpha * c * c + sigma * sigma)


class gauss_eps(torch.nn.Module):
    def __init__(self, c: float):
        super().__init__()
        self.c = c

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return x * gauss_eps_coefficient(t, self.c)[:, None]


class gauss_eps_sigma(torch.nn.Module):
    def __init__(self, c: float):
        super().__init__()
        self.c = c

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        alpha2 = 1.0 - sigma * sigma  # VP: alpha^2 + sigma^2 = 1
        return x * (sigma / (alpha2 * self.c * self.c + sigma * sigma))[:, None]


class gauss_eps_image(torch.nn.Module):
    def __init__(self, c: float):
        super().__init__()
        self.c = c

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return x * gauss_eps_coefficient(t, self.c).reshape([x.shape[0]] + [1] * (x.dim() - 1))


class one_argument(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class float64_output(torch.nn.Module):
    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return x.double()


class throws(torch.nn.Module):
    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if bool(t[0] < 0.5):
            raise RuntimeError("this module fails below t = 0.5")
        return 0.1 * x


class bad_shape(torch.nn.Module):
    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, t[:, None]], dim=1)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    d = 8
    m = pc.mlp_eps(d=d, width=8, depth=3, emb_dim=8, time_width=6, scale=100.0, max_period=1000.0,
                   film=True, residual=True, skip=True).double()
    with torch.no_grad():  # the zero-initialised gains and skip would hide bugs: randomise
        for p in m.parameters():
            p.copy_(0.5 * torch.randn_like(p))
    x = torch.randn(3, d, dtype=torch.float64)
    t = torch.full((3,), 0.3, dtype=torch.float64)
    # A trace records dtype conversions as constants: trace once per scalar type.
    torch.jit.trace(m, (x, t)).save(os.path.join(out, "mlp_traced_f64.pt"))
    m32 = copy.deepcopy(m).float()
    torch.jit.trace(m32, (x.float(), t.float())).save(os.path.join(out, "mlp_traced_f32.pt"))
    tensors = {k: v.detach().numpy() for k, v in m.named_tensors().items()}
    arch = m.architecture()
    arch["dimension"] = d
    pc.write_tensors(os.path.join(out, "mlp.safetensors"), tensors, {"dlogp": json.dumps(arch)})
    torch.jit.script(gauss_eps(0.5)).save(os.path.join(out, "gauss_scripted.pt"))
    torch.jit.script(bad_shape()).save(os.path.join(out, "bad_shape.pt"))
    torch.jit.script(gauss_eps_sigma(0.5)).save(os.path.join(out, "gauss_sigma.pt"))
    torch.jit.script(gauss_eps_image(0.5)).save(os.path.join(out, "gauss_image.pt"))
    torch.jit.script(one_argument()).save(os.path.join(out, "one_argument.pt"))
    torch.jit.script(float64_output()).save(os.path.join(out, "float64_output.pt"))
    torch.jit.script(throws()).save(os.path.join(out, "throws.pt"))
    import numpy as np
    points = 0.5 * np.random.default_rng(3).standard_normal((6, d))
    points[3, 2] = np.nan
    np.save(os.path.join(out, "points_f64.npy"), points)
    np.save(os.path.join(out, "points_f32.npy"), points.astype(np.float32))


if __name__ == "__main__":
    main()
