"""Shared pieces of the patches example: data, model, and the weight-file writer/reader.

Run with Debian's /usr/bin/python3 (python3-torch, -numpy, -scipy, -sklearn).
The file format is documented in docs/weights-format.md.
"""
import json
import math
import struct

import numpy as np
import torch

PATCH = 16
D = PATCH * PATCH
# VP process as in dlogp::vp_process defaults (docs/notation.md §1).
BETA_MIN, BETA_MAX, T_MIN, T_MAX = 0.1, 20.0, 1e-3, 1.0
# Fraction of each image's width (from the left) used for training; the rest is held out.
TRAIN_FRACTION = 0.8


# ----------------------------------------------------------------------------------- data
def load_images():
    """The photographs Debian's python3-scipy and python3-sklearn bundle, as uint8 grayscale."""
    try:
        import scipy.datasets as sd  # scipy >= 1.10 with pooch

        face, ascent = sd.face(gray=True), sd.ascent()
    except Exception:  # Debian's scipy 1.10 ships the files with scipy.misc (deprecated)
        import warnings

        import scipy.misc as sm

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            face, ascent = sm.face(gray=True), sm.ascent()
    from sklearn.datasets import load_sample_images

    imgs = {"face": np.asarray(face, dtype=np.uint8), "ascent": np.clip(np.rint(ascent), 0, 255).astype(np.uint8)}
    for name, rgb in zip(["china", "flower"], load_sample_images().images):
        y = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]  # ITU-R 601 luma
        imgs[name] = np.clip(np.rint(y), 0, 255).astype(np.uint8)
    return imgs


def cut_patches(imgs, n_total, split, seed):
    """n_total patches at fixed random positions, spread over the images by area of the region.

    split = "train": columns [0, floor(0.8 W)); "test": columns [floor(0.8 W), W). A patch lies
    wholly inside its region, so train and test patches never share a pixel.
    Returns (uint8 array [n, 16, 16], list of (image, row, col)).
    """
    rng = np.random.default_rng(seed)
    regions = []
    for name in sorted(imgs):
        im = imgs[name]
        h, w = im.shape
        c = int(math.floor(TRAIN_FRACTION * w))
        lo, hi = (0, c) if split == "train" else (c, w)
        regions.append((name, im, lo, hi))
    areas = np.array([(im.shape[0] - PATCH + 1) * (hi - lo - PATCH + 1) for _, im, lo, hi in regions], float)
    counts = np.floor(n_total * areas / areas.sum()).astype(int)
    counts[np.argmax(areas)] += n_total - counts.sum()
    out, where = [], []
    for (name, im, lo, hi), n in zip(regions, counts):
        rows = rng.integers(0, im.shape[0] - PATCH + 1, size=n)
        cols = rng.integers(lo, hi - PATCH + 1, size=n)
        idx_r = rows[:, None, None] + np.arange(PATCH)[None, :, None]
        idx_c = cols[:, None, None] + np.arange(PATCH)[None, None, :]
        out.append(im[idx_r, idx_c])
        where += [(name, int(r), int(c)) for r, c in zip(rows, cols)]
    patches = np.concatenate(out)
    perm = rng.permutation(len(patches))
    return patches[perm], [where[i] for i in perm]


def to_model_units(u8, noise):
    """Uniform dequantisation: x = ((u + noise) / 256) * 2 - 1, noise in [0, 1).

    The bin width in model units is therefore 2/256 (used for bits/dim, docs/notation.md §7).
    """
    return (u8.astype(np.float64) + noise) / 128.0 - 1.0


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


# ----------------------------------------------------------------------------------- file format
_DTYPES = {np.dtype("float32"): "F32", np.dtype("float64"): "F64", np.dtype("uint8"): "U8", np.dtype("int64"): "I64"}
_NP = {v: k for k, v in _DTYPES.items()}


def write_tensors(path, tensors, metadata):
    """safetensors layout: u64 LE header length, JSON header, raw little-endian payload.

    metadata: dict of str -> str (safetensors allows only strings there).
    """
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
        b = arr.tobytes()
        header[name] = {"dtype": _DTYPES[arr.dtype.newbyteorder("=")], "shape": list(arr.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)  # keep the payload 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_tensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        payload = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for name, h in header.items():
        a, b = h["data_offsets"]
        out[name] = np.frombuffer(payload[a:b], dtype=_NP[h["dtype"]].newbyteorder("<")).reshape(h["shape"])
    return out, meta
