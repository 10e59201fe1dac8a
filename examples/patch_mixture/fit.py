#!/usr/bin/python3
"""Fit full-covariance Gaussian mixtures to 8x8 grey photo patches (D = 64) and export one.

    /usr/bin/python3 examples/patch_mixture/fit.py [--k 1 16] [--choose 16] [--out examples/patch_mixture/data]

Debian's python3-numpy, python3-scipy and python3-sklearn only (no network, no torch). Fixed
seeds throughout: patch positions, dequantisation noise and the EM initialisation are the same
on every run. Writes to --out (docs/findings-patch-mixture.md describes every file):
  mixture.safetensors   the chosen mixture (weights [K], means [K, 64], covariances [K, 64, 64], F64)
  gaussian.safetensors  the K = 1 fit, the baseline the mixture must beat
  heldout.npy           the first 256 held-out patches, dequantised, in model units, (256, 64) F64
  heldout_first4.npy    the first 4 of them, the points of examples/patch_mixture/likelihood.json
  heldout_log_p.npy     scikit-learn's log p_0 of the first 16 of them: row 0 under the
                        mixture, row 1 under the Gaussian, (2, 16) F64
  fit.json              held-out results of every K and the fit times
"""
import argparse
import json
import math
import os
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import mixture_common as mc  # noqa: E402  (the safetensors writer, numpy only)
import example_data  # noqa: E402
from example_data import load_images, to_model_units  # noqa: E402

PATCH = 8
D = PATCH * PATCH
# One bin of 8-bit data in model units ([-1, 1] split into 256 bins), for bits/dim.
BIN_WIDTH = 2.0 / 256.0


def cut_patches(imgs, n_total, split, seed):
    """examples/common/example_data.py's patches of PATCH x PATCH, uint8 [n, 8, 8]."""
    return example_data.cut_patches(imgs, n_total, split, seed, PATCH)[0]


def bits_per_dim(log_p):
    """include/dlogp/analysis/bits_per_dim.hpp: -(log p + D ln w) / (D ln 2)."""
    return -(log_p + D * math.log(BIN_WIDTH)) / (D * math.log(2.0))


def mixture_tensors(gm):
    """The fitted parameters, exactly as score_samples uses them.

    sklearn adds reg_covar to the diagonal inside the M-step, so covariances_ already holds it
    and its Cholesky factor is precisions_cholesky_: the file's density is score_samples'.
    """
    return {"weights": gm.weights_, "means": gm.means_, "covariances": gm.covariances_}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, nargs="+", default=[1, 16], help="mixture sizes to fit")
    ap.add_argument("--choose", type=int, default=16, help="the K exported as mixture.safetensors")
    ap.add_argument("--train", type=int, default=48000)
    ap.add_argument("--test", type=int, default=6000)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "data"))
    args = ap.parse_args()
    if args.k[0] != 1 or args.choose not in args.k:
        ap.error("--k must start with 1 (the baseline) and contain the --choose value")
    os.makedirs(args.out, exist_ok=True)

    imgs = load_images()
    train_u8 = cut_patches(imgs, args.train, "train", seed=1).reshape(args.train, D)
    test_u8 = cut_patches(imgs, args.test, "test", seed=2).reshape(args.test, D)
    train = to_model_units(train_u8, np.random.default_rng(3).random(train_u8.shape))
    test = to_model_units(test_u8, np.random.default_rng(4).random(test_u8.shape))

    results, fitted, heldout_log_p = {}, {}, {}
    for k in args.k:
        t0 = time.perf_counter()
        gm = GaussianMixture(n_components=k, covariance_type="full", random_state=0, max_iter=200)
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)  # a fit that did not converge is not reported
            gm.fit(train)
        seconds = time.perf_counter() - t0
        lp = gm.score_samples(test)
        se = lp.std(ddof=1) / math.sqrt(len(lp))
        r = {
            "K": k,
            "heldout_log_p_mean": float(lp.mean()),
            "heldout_log_p_se": float(se),
            "heldout_bits_per_dim": float(bits_per_dim(lp.mean())),
            "heldout_bits_per_dim_se": float(se / (D * math.log(2.0))),
            "train_log_p_mean": float(gm.score(train)),
            "em_iterations": int(gm.n_iter_),
            "fit_seconds": round(seconds, 1),
        }
        if 1 in heldout_log_p:  # paired over the same patches: far smaller error than the difference of means
            gain = lp - heldout_log_p[1]
            r["gain_over_gaussian_nats"] = float(gain.mean())
            r["gain_over_gaussian_se"] = float(gain.std(ddof=1) / math.sqrt(len(gain)))
        results[k], fitted[k], heldout_log_p[k] = r, gm, lp
        print(f"K = {k:3d}: held-out log p_0 = {r['heldout_log_p_mean']:.2f} +- {se:.2f} nats, "
              f"{r['heldout_bits_per_dim']:.3f} +- {r['heldout_bits_per_dim_se']:.3f} bits/dim "
              f"(train {r['train_log_p_mean']:.2f} nats; {gm.n_iter_} EM iterations, {seconds:.0f} s)", flush=True)

    meta = {"source": "examples/patch_mixture/fit.py", "patch": "8x8 grey, x = (u + U[0,1)) / 128 - 1",
            "train_patches": str(args.train), "reg_covar": str(fitted[1].reg_covar)}
    for k, name in ((args.choose, "mixture"), (1, "gaussian")):
        tensors = {key: np.asarray(v, dtype="<f8") for key, v in mixture_tensors(fitted[k]).items()}
        mc.write_tensors(os.path.join(args.out, name + ".safetensors"), tensors,
                         dict(meta, K=str(k), heldout_bits_per_dim="%.4f" % results[k]["heldout_bits_per_dim"]))
    sample = test[:256]
    np.save(os.path.join(args.out, "heldout.npy"), sample)
    np.save(os.path.join(args.out, "heldout_first4.npy"), sample[:4])
    np.save(os.path.join(args.out, "heldout_log_p.npy"),
            np.stack([fitted[args.choose].score_samples(sample[:16]), fitted[1].score_samples(sample[:16])]))
    with open(os.path.join(args.out, "fit.json"), "w") as f:
        json.dump({"chosen_K": args.choose, "train_patches": args.train, "heldout_patches": args.test,
                   "bin_width": BIN_WIDTH, "results": [results[k] for k in args.k]}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
