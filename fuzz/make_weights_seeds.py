#!/usr/bin/python3
"""Writes small valid MLP weight files and Gaussian-mixture files (docs/weights-format.md) as
seeds for weights_fuzzer.

    fuzz/make_weights_seeds.py OUTDIR

Written independently of the C++ writer (save_mlp), from the format description, so the seeds
also check that the two agree. Deterministic: the weights are simple functions of the index.
"""
import json
import math
import os
import struct
import sys


def tensor(values, shape, dtype):
    fmt = {"F32": "<f", "F64": "<d"}[dtype]
    return dtype, shape, b"".join(struct.pack(fmt, v) for v in values)


def values(n, salt):
    return [0.3 * math.sin(1.7 * i + salt) for i in range(n)]


def write(path, D, width, depth, E, Tw, dtype="F32", residual=False, gains=False, skip=False,
          param="epsilon", process=None):
    process = process or {"kind": "vp", "beta_min": 0.1, "beta_max": 20.0, "t_min": 0.001, "t_max": 1.0}
    t = {}
    t["time.weight"] = tensor(values(Tw * E, 1), [Tw, E], dtype)
    t["time.bias"] = tensor(values(Tw, 2), [Tw], dtype)
    inp = D
    for l in range(depth):
        w = width
        t[f"hidden.{l}.weight"] = tensor(values(w * inp, 3 + l), [w, inp], dtype)
        t[f"hidden.{l}.bias"] = tensor(values(w, 4 + l), [w], dtype)
        t[f"hidden.{l}.time_weight"] = tensor(values(w * Tw, 5 + l), [w, Tw], dtype)
        if gains:
            t[f"hidden.{l}.time_scale"] = tensor(values(w * Tw, 6 + l), [w, Tw], dtype)
        inp = w
    t["out.weight"] = tensor(values(D * inp, 7), [D, inp], dtype)
    t["out.bias"] = tensor(values(D, 8), [D], dtype)
    if gains:
        t["out.time_scale"] = tensor(values(D * Tw, 9), [D, Tw], dtype)
    if skip:
        t["skip.weight"] = tensor(values(D * D, 10), [D, D], dtype)
    arch = {"format": "dlogp-mlp", "version": 1, "dimension": D, "depth": depth,
            "activation": "silu", "residual": [residual and l > 0 for l in range(depth)],
            "parametrisation": param,
            "time_embedding": {"kind": "sinusoidal", "dim": E, "scale": 1000.0, "max_period": 10000.0},
            "process": process}
    write_tensors(path, t, {"dlogp": json.dumps(arch)})


def write_tensors(path, t, metadata=None):
    header = {"__metadata__": metadata} if metadata else {}
    payload = b""
    for name in sorted(t):
        dt, shape, data = t[name]
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [len(payload), len(payload) + len(data)]}
        payload += data
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + payload)


def write_mixture(path, K, D, form, dtype="F64"):
    """A Gaussian-mixture file (docs/weights-format.md): weights, means and one covariance form."""
    t = {"weights": tensor([1.0 + k for k in range(K)], [K], dtype),
         "means": tensor(values(K * D, 11), [K, D], dtype)}
    if form == "variances":
        t["variances"] = tensor([0.5 + 0.25 * k for k in range(K)], [K], dtype)
    elif form == "diagonals":
        t["diagonals"] = tensor([0.5 + 0.1 * i for i in range(K * D)], [K, D], dtype)
    else:  # diagonally dominant, so positive definite
        t["covariances"] = tensor([(1.0 + D if i == j else 0.3) for k in range(K) for i in range(D)
                                   for j in range(D)], [K, D, D], dtype)
    write_tensors(path, t)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    write(os.path.join(out, "tiny-f32.safetensors"), D=2, width=4, depth=1, E=4, Tw=4)
    write(os.path.join(out, "residual-f64.safetensors"), D=3, width=3, depth=2, E=2, Tw=2, dtype="F64",
          residual=True, param="score")
    write(os.path.join(out, "gains-skip.safetensors"), D=2, width=3, depth=2, E=4, Tw=3, gains=True, skip=True,
          param="x0", process={"kind": "edm", "t_min": 0.002, "t_max": 80.0})
    write(os.path.join(out, "v-ve.safetensors"), D=1, width=2, depth=1, E=2, Tw=2, param="v",
          process={"kind": "ve", "sigma_min": 0.01, "sigma_max": 50.0})
    write_mixture(os.path.join(out, "gmm-iso.safetensors"), K=2, D=2, form="variances")
    write_mixture(os.path.join(out, "gmm-diag-f32.safetensors"), K=3, D=2, form="diagonals", dtype="F32")
    write_mixture(os.path.join(out, "gmm-full.safetensors"), K=2, D=3, form="covariances")


if __name__ == "__main__":
    main()
