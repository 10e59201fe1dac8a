"""Baseline for benchmark 6: the forward pass of bench_mlp's network in PyTorch (CPU, one
thread, no grad), what a user would run instead of dlogp's mlp::evaluate. Same architecture as
bench_mlp.cpp's make_network (model/mlp.hpp): sinusoidal time embedding (64), time features
z = silu(W_t e + b_t) (128), `depth` hidden layers h' = silu(W h + b + U z), output W_o h + b_o;
random weights of the same distribution (the rate does not depend on their values).

    mlp_torch.py --dim 32 --widths 128,256,512 --depth 4 --n 1024 --reps 5

Prints one JSON object: per scalar type and width, GFLOP/s counted as bench_mlp counts them
(2 flops per weight of the D -> H -> ... -> D products per column) over the CPU time of one
forward call on n columns, median over reps.
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn.functional as F


class Net(torch.nn.Module):
    def __init__(self, D, H, L, dtype, E=64, Tw=128):
        super().__init__()
        g = torch.Generator().manual_seed(11)

        def mat(r, c):
            return torch.randn(r, c, generator=g, dtype=dtype) / math.sqrt(c)

        def vec(r):
            return 0.3 * torch.randn(r, generator=g, dtype=dtype)

        self.E, self.dtype = E, dtype
        self.time_weight, self.time_bias = mat(Tw, E), vec(Tw)
        self.layers = []
        d = D
        for _ in range(L):
            self.layers.append((mat(H, d), vec(H), mat(H, Tw)))
            d = H
        self.out_weight, self.out_bias = mat(D, H), vec(D)
        self.macs = sum(W.numel() for W, _, _ in self.layers) + self.out_weight.numel()

    def forward(self, t, x):  # x: (N, D)
        half = self.E // 2
        j = torch.arange(half, dtype=torch.float64)
        a = (1000.0 * t) * torch.exp((-math.log(10000.0) * j) / half)
        e = torch.cat([torch.sin(a), torch.cos(a)]).to(self.dtype)
        z = F.silu(F.linear(e, self.time_weight, self.time_bias))
        h = x
        for W, b, U in self.layers:
            h = F.silu(F.linear(h, W, b + U @ z))
        return F.linear(h, self.out_weight, self.out_bias)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dim", type=int, default=32)
    ap.add_argument("--widths", default="128,256,512")
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    runs = []
    with torch.no_grad():
        for H in [int(w) for w in a.widths.split(",")]:
            for dtype, name in [(torch.float64, "double"), (torch.float32, "float")]:
                net = Net(a.dim, H, a.depth, dtype)
                x = torch.randn(a.n, a.dim, generator=torch.Generator().manual_seed(3), dtype=dtype)
                net(0.5, x)  # warm-up
                secs = []
                for _ in range(a.reps):
                    t0 = time.process_time()
                    out = net(0.5, x)
                    secs.append(time.process_time() - t0)
                flops = 2.0 * net.macs * a.n
                runs.append({"scalar": name, "width": H, "D": a.dim, "depth": a.depth, "N": a.n,
                             "gflops": flops / statistics.median(secs) / 1e9, "seconds": secs,
                             "sink": float(out[0, 0])})
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "runs": runs}))


if __name__ == "__main__":
    main()
