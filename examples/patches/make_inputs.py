#!/usr/bin/python3
"""Inputs of the dlogp-run specs in examples/patches/specs/ (numpy only).

    /usr/bin/python3 examples/patches/make_inputs.py [--out DIR] [--n N] [--n-blur M] [--n-check K]
    (defaults: DIR = build/patches/specs-data under the repository root, N = 256, M = 64, K = 8)

Reads examples/patches/data/test_patches.safetensors (uint8 [1000, 16, 16] held-out patches) and
writes float32 arrays in MODEL UNITS, x = (u + 0.5) / 128 - 1, i.e. at the centres of the 256 bins
of width 2/256 over [-1, 1]. The specs declare that quantisation ("levels": 256, "range": [-1, 1])
and let dlogp-run add the uniform dequantisation noise itself, so the files hold no randomness:

    heldout.npy            (N, 16, 16)   the first N held-out patches
    heldout_check.npy      (K, 16, 16)   the first K (Hutchinson vs exact trace, step check)
    blur_0.0.npy ... blur_3.0.npy  (M, 16, 16)   the first M patches under a Gaussian blur of
                                         sigma = 0, 0.5, 1, 1.5, 2, 3 px (blur_0.0 = unblurred)
    gaussian_base.json     the network's fixed Gaussian base N(mu, U diag(lam) U^T) (tensors
                           base.mean, base.eigvecs, base.eigvals of model.safetensors, see
                           train.py) as a one-component "gmm" model file: dlogp-run then gives
                           its exact log p (logp_exact), the reference the findings compare with

The blur is the one of patches.cpp: a separable Gaussian kernel of radius ceil(3 sigma), normalised
to sum 1, with half-sample symmetric reflection at the border (pixel -1 mirrors pixel 0). It is
applied to the grey levels u + 0.5 before the affine map to model units; the kernel sums to 1, so
this is the same as blurring in model units. One difference to patches.cpp, on purpose: the C++
program blurs the DEQUANTISED patch (its uniform noise is blurred with it); here the bin-centre
patch is blurred and dlogp-run adds the noise after the blur (the same draws at every level, as
they are keyed by (seed, trajectory index)). The blurred values are not on bin centres; the
"bits/dim" of a blurred patch is therefore that of a continuous density, as in patches.cpp.

The row count of each file is the spec's n (dlogp-run takes n from x_start), so --n etc. change
the run size without editing the specs (run_specs.py --quick uses that with a separate folder).
"""
import argparse
import json
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "common"))
from example_data import read_tensors  # noqa: E402  (numpy only: this script needs no torch)

ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
SIDE = 16
BLUR_SIGMAS = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0]


def gaussian_kernel(sigma):
    """Kernel of patches.cpp's blur(): radius ceil(3 sigma), weights exp(-i^2 / (2 sigma^2)) / sum."""
    r = int(math.ceil(3 * sigma))
    i = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-0.5 * i * i / (sigma * sigma))
    return k / k.sum()


def blur(images, sigma):
    """Separable Gaussian blur of (N, 16, 16) float64 images; rows first, then columns.

    np.pad(mode="symmetric") repeats the edge pixel (index -1 -> 0, 16 -> 15), which is the
    reflection refl(i) = -i - 1 of patches.cpp. The radius (up to 9 px at sigma 3) stays below
    the side (16), so one reflection is all that is ever needed."""
    if sigma == 0:
        return images.copy()
    k = gaussian_kernel(sigma)
    r = (len(k) - 1) // 2
    out = images
    for axis in (2, 1):  # x (columns within a row) first, then y, as patches.cpp does
        pad = [(0, 0)] * 3
        pad[axis] = (r, r)
        p = np.pad(out, pad, mode="symmetric")
        acc = np.zeros_like(out)
        for j, w in enumerate(k):
            sl = [slice(None)] * 3
            sl[axis] = slice(j, j + SIDE)
            acc += w * p[tuple(sl)]
        out = acc
    return out


def to_model_units(levels):
    """Grey levels (already + 0.5 for bin centres, possibly blurred) to model units."""
    return (levels / 128.0 - 1.0).astype(np.float32)


def write_gaussian_base(model_path, path):
    """The Gaussian base of the network as a dlogp mixture file (docs/weights-format.md): one
    component, full covariance Sigma = U diag(lam) U^T in float64. The float32 eigenvectors are
    orthonormal to ~1e-8, so Sigma is formed as given and symmetrised exactly (the runner checks
    symmetry to 1e-12 relative); its eigenvalues are the positive lam (6e-4 .. 52)."""
    tensors, _ = read_tensors(model_path)
    mean, vecs, lam = (tensors["base." + n].astype(np.float64) for n in ("mean", "eigvecs", "eigvals"))
    cov = (vecs * lam) @ vecs.T
    cov = 0.5 * (cov + cov.T)
    with open(path, "w") as f:
        json.dump({"weights": [1.0], "means": [mean.tolist()], "covariances": [cov.tolist()]}, f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "patches", "specs-data"),
                    help="output folder (default: build/patches/specs-data under the repository root)")
    ap.add_argument("--data", default=os.path.join(HERE, "data", "test_patches.safetensors"))
    ap.add_argument("--model", default=os.path.join(HERE, "data", "model.safetensors"))
    ap.add_argument("--n", type=int, default=256, help="held-out patches for the likelihood (default 256)")
    ap.add_argument("--n-blur", type=int, default=64, help="patches per blur level (default 64)")
    ap.add_argument("--n-check", type=int, default=8, help="patches for the exact-trace check (default 8)")
    a = ap.parse_args()

    u8 = read_tensors(a.data)[0]["patches"]
    if u8.ndim != 3 or u8.shape[1:] != (SIDE, SIDE):
        raise SystemExit(f"{a.data}: expected patches of shape (N, 16, 16), got {u8.shape}")
    if max(a.n, a.n_blur, a.n_check) > len(u8) or min(a.n, a.n_blur, a.n_check) < 1:
        raise SystemExit(f"--n, --n-blur and --n-check must be in [1, {len(u8)}]")
    centres = u8.astype(np.float64) + 0.5  # bin centres in grey levels
    os.makedirs(a.out, exist_ok=True)
    written = {}
    written["heldout.npy"] = to_model_units(centres[:a.n])
    written["heldout_check.npy"] = to_model_units(centres[:a.n_check])
    for s in BLUR_SIGMAS:
        written[f"blur_{s:.1f}.npy"] = to_model_units(blur(centres[:a.n_blur], s))
    for name, arr in written.items():
        np.save(os.path.join(a.out, name), arr)
    write_gaussian_base(a.model, os.path.join(a.out, "gaussian_base.json"))
    print(f"make_inputs: wrote {', '.join(f'{k} {v.shape}' for k, v in written.items())} and gaussian_base.json "
          f"to {a.out}")


if __name__ == "__main__":
    main()
