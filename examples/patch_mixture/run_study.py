#!/usr/bin/python3
"""The exact study on the patch mixture (docs/findings-patch-mixture.md), run as dlogp-run specs.

    nice -n 19 /usr/bin/python3 examples/patch_mixture/run_study.py [--runner PATH] [--quick]
        [--threads N] [--out DIR] [--data DIR] [--figures DIR] [--results FILE]

1. Inputs (DATA, default build/patch_mixture/study-data): all 6000 held-out patches, cut again
   with fit.py's own functions and seeds (the first 256 are checked against the committed
   data/heldout.npy; --quick uses the committed 256 instead and needs no scipy or sklearn),
   blurred copies, noisy x_t for mode tracking, and exact draws from the mixture (numpy);
2. every spec of examples/patch_mixture/specs/ runs as
       dlogp-run SPEC --threads N --arrays OUT/NAME -o OUT/NAME/run.json
   from a copy in OUT/specs with absolute paths (and, for --quick, few trajectories and loose
   tolerances). The three oracle-* specs are templates: one Euler step of pf-ode-encode over
   1e-9 with track_logp false costs one score evaluation per point, and its logp_exact is the
   mixture's exact log p_t at the given point; they run once per input array (OUT/oracle-*-NAME);
3. the arrays become OUT/results.json and OUT/summary.md (and, without --quick, the figures
   patch_mixture_*.png in --figures and the results file examples/patch_mixture/study_results.json).

--quick checks what holds robustly at small N (see quick_checks) and exits 1 when one fails.
The runner: --runner, else $DLOGP_RUN, else build/release/examples/runner/dlogp-run.
Requires numpy; PNG sizes need PIL (python3-pil), the full inputs scipy and sklearn (fit.py).
"""
import argparse
import io
import json
import math
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "common"))
import example_data  # noqa: E402  (the tensor file format)

SPEC_DIR = os.path.join(HERE, "specs")
DEFAULT_DATA = os.path.join(ROOT, "build", "patch_mixture", "study-data")
DEFAULT_OUT = os.path.join(ROOT, "build", "patch_mixture", "study-out")
DEFAULT_RUNNER = os.path.join(ROOT, "build", "release", "examples", "runner", "dlogp-run")
MIXTURE = os.path.join(HERE, "data", "mixture.safetensors")
D, PATCH = 64, 8
BIN = 2.0 / 256.0
BETA0, BETA1 = 0.1, 20.0

BLUR = ["0.0", "0.5", "1.0", "1.5", "2.0", "3.0"]
HD = ["1.00", "0.50", "0.30", "0.20", "0.10", "0.05"]
MODE_T = ["0.05", "0.10", "0.20", "0.40"]
DG_Q = ["0.10", "0.20", "0.30", "0.40", "0.50", "0.55", "0.60", "0.65", "0.70"]
DGSDE_Q = ["0.30", "0.50", "0.60"]
SDE_STEPS = [1000, 4000]
DG_T_END = 1e-3
ORACLES = ["oracle-t0", "oracle-t0-dequantise", "oracle-t0.001"]
RUN_SPECS = (["encode-heldout", "sample-pf-ode", "sample-pf-ode-rtol-1e-4", "sample-pf-ode-rtol-1e-8"]
             + [f"sample-reverse-sde-{k}" for k in SDE_STEPS] + [f"sample-hd-{t}" for t in HD]
             + [f"{m}-{t}" for t in MODE_T for m in ("mode", "hd-ode")]
             + [f"dg-ode-{q}" for q in DG_Q] + [f"dg-sde-{q}" for q in DGSDE_Q])
SIZES = {  # full / quick
    "heldout_oracle": (6000, 64), "blur": (2000, 32), "encode": (64, 2), "mode": (16, 2), "mixture_draws": (4000, 64),
}


# ------------------------------------------------------------------------------ small helpers
def vp(t):
    """alpha, sigma of the VP process with linear beta (docs/notation.md section 1)."""
    la = -0.5 * (BETA0 * t + 0.5 * (BETA1 - BETA0) * t * t)
    return math.exp(la), math.sqrt(-math.expm1(2 * la))


def log_snr(t):
    a, s = vp(t)
    return 2 * math.log(a / s)


def read_mixture(path):
    """weights [K], means [K, D], covariances [K, D, D] of the committed F64 safetensors file."""
    tensors, _ = example_data.read_tensors(path)
    return {name: tensors[name] for name in ("weights", "means", "covariances")}


def dominant_component(mix, t, x):
    """Per point: the component k with the largest w_k N(x; alpha mu_k, alpha^2 Sigma_k + sigma^2 I)
    at time t, and that component's peak log w_k - (1/2) log det(2 pi P_k)."""
    al, si = vp(t)
    w = mix["weights"] / mix["weights"].sum()
    terms, peaks = [], []
    for k in range(len(w)):
        L = np.linalg.cholesky(al * al * mix["covariances"][k] + si * si * np.eye(D))
        peak = math.log(w[k]) - np.log(np.diag(L)).sum() - 0.5 * D * math.log(2 * math.pi)
        z = np.linalg.solve(L, (np.atleast_2d(x) - al * mix["means"][k]).T)
        terms.append(peak - 0.5 * (z ** 2).sum(0))
        peaks.append(peak)
    k = np.argmax(np.array(terms), axis=0)
    return k, np.array(peaks)[k]


def mean_se(v):
    v = np.asarray(v, dtype=np.float64)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return [float("nan"), float("nan"), 0]
    se = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else float("nan")
    return [float(v.mean()), se, int(len(v))]


def fmt(ms, digits=1):
    m, se = ms[0], ms[1]
    return f"{m:.{digits}f} +- {se:.{digits}f}" if np.isfinite(se) else f"{m:.{digits}f}"


def rankdata(v):
    """Average ranks (ties share their mean rank)."""
    v = np.asarray(v, dtype=np.float64)
    order = np.argsort(v, kind="mergesort")
    sv = v[order]
    r = np.empty(len(v))
    i = 0
    while i < len(v):  # runs of equal values
        j = i
        while j + 1 < len(v) and sv[j + 1] == sv[i]:
            j += 1
        r[order[i:j + 1]] = 0.5 * (i + j) + 1
        i = j + 1
    return r


def spearman(a, b):
    return float(np.corrcoef(rankdata(a), rankdata(b))[0, 1])


def spearman_bootstrap(a, b, reps, seed):
    """Percentile bootstrap (resampling patches) 95% interval of Spearman's rho."""
    rng = np.random.default_rng(seed)
    a, b = np.asarray(a), np.asarray(b)
    vals = [spearman(a[i], b[i]) for i in (rng.integers(0, len(a), len(a)) for _ in range(reps))]
    return [float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))]


def png_sizer():
    try:
        from PIL import Image
    except ImportError:
        return None

    def size(u8):
        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(u8, dtype=np.uint8).reshape(PATCH, PATCH), mode="L").save(
            buf, format="PNG", optimize=True)
        return len(buf.getvalue())

    return size


def to_grey(x):
    """Model units to 8-bit grey levels: the bin a value falls in (inverse of x = (u + n)/128 - 1)."""
    return np.clip(np.floor((np.asarray(x, dtype=np.float64) + 1.0) * 128.0), 0, 255).astype(np.uint8)


def blur_u8(u8, sigma):
    """Gaussian blur of 8x8 grey patches (radius ceil(3 sigma), half-sample reflection), in grey
    levels, rounded back to 8 bits: a blurred patch is stored as an image would be."""
    x = u8.reshape(-1, PATCH, PATCH).astype(np.float64)
    if sigma > 0:
        r = int(math.ceil(3 * sigma))
        k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
        k /= k.sum()
        for axis in (1, 2):
            pad = [(0, 0)] * 3
            pad[axis] = (r, r)
            xp = np.pad(x, pad, mode="symmetric")
            x = sum(k[i] * np.take(xp, range(i, i + PATCH), axis=axis) for i in range(2 * r + 1))
    return np.clip(np.rint(x), 0, 255).astype(np.uint8).reshape(len(u8), D)


# ------------------------------------------------------------------------------ inputs
def make_inputs(a):
    os.makedirs(a.data, exist_ok=True)
    q = 1 if a.quick else 0
    committed = np.load(os.path.join(HERE, "data", "heldout.npy"))
    if a.quick:
        heldout = committed
    else:  # all held-out patches, exactly as fit.py cuts and dequantises them
        sys.path.insert(0, HERE)
        import fit  # noqa: E402  (numpy, scipy, sklearn)

        u8 = fit.cut_patches(fit.load_images(), 6000, "test", seed=2).reshape(6000, D)
        heldout = fit.to_model_units(u8, np.random.default_rng(4).random(u8.shape))
        if not np.array_equal(heldout[:len(committed)], committed):
            sys.exit("run_study: the regenerated held-out patches differ from data/heldout.npy")
    n_or = min(SIZES["heldout_oracle"][q], len(heldout))
    np.save(os.path.join(a.data, "heldout_oracle.npy"), heldout[:n_or])
    np.save(os.path.join(a.data, "heldout_64.npy"), heldout[:SIZES["encode"][q]])
    u8 = to_grey(heldout)
    nb = SIZES["blur"][q]
    for s in BLUR:  # bin centres; the oracle-t0-dequantise spec adds the same noise at every level
        np.save(os.path.join(a.data, f"blur_{s}.npy"), (blur_u8(u8[:nb], float(s)) + 0.5) / 128.0 - 1.0)
    # x_t = alpha x_0 + sigma eps from the first held-out patches (fixed noise per t)
    nm = SIZES["mode"][q]
    for i, t in enumerate(MODE_T):
        al, si = vp(float(t))
        eps = np.random.default_rng(100 + i).standard_normal((nm, D))
        np.save(os.path.join(a.data, f"xt_{t}.npy"), al * heldout[:nm] + si * eps)
    # exact draws from the mixture at t = 0 and from p_{t_end} of the DG runs
    mix = read_mixture(MIXTURE)
    nd = SIZES["mixture_draws"][q]
    rng = np.random.default_rng(7)
    comp = rng.choice(len(mix["weights"]), size=nd, p=mix["weights"] / mix["weights"].sum())
    chol = np.linalg.cholesky(mix["covariances"])
    x0 = mix["means"][comp] + np.einsum("nij,nj->ni", chol[comp], rng.standard_normal((nd, D)))
    al, si = vp(DG_T_END)
    np.save(os.path.join(a.data, "mixture_t0.npy"), x0)
    np.save(os.path.join(a.data, "mixture_t0.001.npy"), al * x0 + si * rng.standard_normal((nd, D)))
    return {"heldout_oracle": n_or, "blur": nb, "encode": SIZES["encode"][q], "mode": nm, "mixture_draws": nd}


# ------------------------------------------------------------------------------ running
def derived_spec(name, a, points=None):
    spec = json.load(open(os.path.join(SPEC_DIR, name + ".json")))

    def move(p):
        p = os.path.normpath(os.path.join(SPEC_DIR, p))
        for default, chosen in ((DEFAULT_DATA, a.data), (DEFAULT_OUT, a.out)):
            if p == default or p.startswith(default + os.sep):
                return os.path.join(chosen, os.path.relpath(p, default))
        return p

    spec["model"]["file"] = move(spec["model"]["file"])
    if isinstance(spec.get("x_start"), dict):
        spec["x_start"]["file"] = points if points else move(spec["x_start"]["file"])
    if a.quick and not name.startswith("oracle"):
        if "n" in spec:
            spec["n"] = 4 if name.startswith(("sample-", "dg-")) else 2
        sv = spec["solver"]
        if sv["scheme"] == "dopri5":
            sv["rtol"], sv["atol"] = max(sv["rtol"], 1e-5), max(sv["atol"], 1e-8)
        elif sv["scheme"] == "euler-maruyama":
            sv["steps"] = sv["steps"] // 10
    return spec


class Runner:
    def __init__(self, a):
        self.a = a
        self.exe = a.runner or os.environ.get("DLOGP_RUN") or DEFAULT_RUNNER
        if not os.access(self.exe, os.X_OK):
            sys.exit(f"run_study: no dlogp-run at {self.exe} (give --runner PATH or set DLOGP_RUN)")
        self.timings = {}
        if a.summarise_only:  # the timings of the run that wrote OUT
            self.timings = json.load(open(os.path.join(a.out, "results.json")))["timings"]
        os.makedirs(os.path.join(a.out, "specs"), exist_ok=True)

    def run(self, name, spec_name=None, points=None):
        """Run spec spec_name (default name) into OUT/name; points replaces x_start's file."""
        spec_name = spec_name or name
        folder = os.path.join(self.a.out, name)
        if self.a.summarise_only:
            return
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(self.a.out, "specs", name + ".json")
        with open(path, "w") as f:
            json.dump(derived_spec(spec_name, self.a, points), f, indent=1)
        cmd = [self.exe, path, "--threads", str(self.a.threads), "--no-progress", "--arrays", folder,
               "-o", os.path.join(folder, "run.json")]
        t0, c0 = time.time(), os.times()
        proc = subprocess.run(cmd)
        c1 = os.times()
        if proc.returncode not in (0, 3):
            sys.exit(f"run_study: {' '.join(cmd)} failed with exit status {proc.returncode}")
        summ = json.load(open(os.path.join(folder, "run.json")))["summary"]
        cpu = (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)
        self.timings[name] = {"cpu_s": cpu, "wall_s": time.time() - t0, "score_evals": summ["score_evals"],
                              "n": summ["n"], "status_counts": summ["status_counts"]}
        bad = summ["n"] - summ["status_counts"]["ok"]
        print(f"run_study: {name}: {summ['n']} trajectories, {cpu:.1f} s CPU"
              + (f", {bad} not ok" if bad else ""), flush=True)

    def oracle(self, name, spec_name, points):
        self.run(f"{spec_name}-{name}", spec_name, points)
        return self.load(f"{spec_name}-{name}", "logp_exact")

    def load(self, name, what="logp"):
        v = np.load(os.path.join(self.a.out, name, what + ".npy"))
        if what in ("logp", "logp_exact"):
            st = np.load(os.path.join(self.a.out, name, "status.npy"))
            v = np.where(st == 0, v, np.nan)
        return v


# ------------------------------------------------------------------------------ the study
def study(a):
    on_disk = sorted(f[:-5] for f in os.listdir(SPEC_DIR) if f.endswith(".json"))
    if sorted(RUN_SPECS + ORACLES) != on_disk:
        sys.exit(f"run_study: the spec list and {SPEC_DIR} disagree: {sorted(set(RUN_SPECS + ORACLES) ^ set(on_disk))}")
    sizes = json.load(open(os.path.join(a.out, "results.json")))["sizes"] if a.summarise_only else make_inputs(a)
    R = Runner(a)
    for name in RUN_SPECS:
        R.run(name)
    png = png_sizer()
    dat = lambda f: os.path.join(a.data, f)  # noqa: E731
    res = {"quick": a.quick, "sizes": sizes, "runner": R.exe, "threads": a.threads}

    # 1. -log p_0 against PNG size of held-out patches
    heldout = np.load(dat("heldout_oracle.npy"))
    lp_h = R.oracle("heldout", "oracle-t0", dat("heldout_oracle.npy"))
    r1 = {"n": len(lp_h), "log_p0": mean_se(lp_h), "log_p0_sd": float(np.std(lp_h, ddof=1))}
    if png is not None:
        sz = np.array([png(u) for u in to_grey(heldout)])
        rho = spearman(-lp_h, sz)
        r1.update({"png_mean": mean_se(sz), "spearman": rho,
                   "spearman_ci95": spearman_bootstrap(-lp_h, sz, 200 if a.quick else 1000, 11)})
        np.save(os.path.join(a.out, "heldout_png.npy"), sz)
    res["png"] = r1

    # 2. blur: paired changes of exact log p_0 (same dequantisation noise at every level)
    lp_b = {s: R.oracle(f"blur-{s}", "oracle-t0-dequantise", dat(f"blur_{s}.npy")) for s in BLUR}
    res["blur"] = []
    for s in BLUR:
        d = lp_b[s] - lp_b["0.0"]
        res["blur"].append({"sigma_px": float(s), "log_p0": mean_se(lp_b[s]), "change": mean_se(d),
                            "change_median": float(np.median(d)), "increased": int((d > 0).sum()), "n": len(d)})

    # 3. samples: exact log p_0 (logp_exact at t = 0), PNG size
    lp_mix = R.oracle("mixture", "oracle-t0", dat("mixture_t0.npy"))
    x_mix = np.load(dat("mixture_t0.npy"))
    samplers = ["pf-ode"] + [f"reverse-sde-{k}" for k in SDE_STEPS] + [f"hd-{t}" for t in HD]
    ref = R.load("sample-pf-ode", "logp_exact")
    xT = R.load("sample-pf-ode", "x_start")
    res["samples"] = {"held-out data": {"log_p0": mean_se(lp_h), "png": r1.get("png_mean")},
                      "exact mixture draws": {"log_p0": mean_se(lp_mix),
                                              "png": mean_se([png(u) for u in to_grey(x_mix)]) if png else None}}
    res["samples_same_x_T"] = True
    for s in samplers:
        name = f"sample-{s}"
        ex, x = R.load(name, "logp_exact"), R.load(name, "x")
        res["samples_same_x_T"] &= bool(np.array_equal(R.load(name, "x_start"), xT))
        row = {"log_p0": mean_se(ex), "png": mean_se([png(u) for u in to_grey(x)]) if png else None}
        if s != "pf-ode":
            row["minus_pf_ode"] = mean_se(ex - ref)
            row["above_pf_ode"] = int((ex > ref).sum())
        res["samples"][s] = row

    # 4. exact posterior mode (mode tracking) against the HD-ODE from the same x_t
    res["modes"] = []
    for t in MODE_T:
        al, si = vp(float(t))
        xt = np.load(dat(f"xt_{t}.npy"))
        # a local mode can vanish (a fold: H - c_s I turns singular) before s = 0; mode tracking
        # then stalls and stops at max_steps; such trajectories are counted and left out
        st_m = np.load(os.path.join(a.out, f"mode-{t}", "status.npy"))
        ok = (st_m == 0) & (np.load(os.path.join(a.out, f"hd-ode-{t}", "status.npy")) == 0)
        xt = xt[ok]
        ym, yh = R.load(f"mode-{t}", "x")[ok], R.load(f"hd-ode-{t}", "x")[ok]
        pm, ph = R.load(f"mode-{t}", "logp_exact")[ok], R.load(f"hd-ode-{t}", "logp_exact")[ok]
        # log p(x_0 = y | x_t) up to a constant: log p_0(y) + log N(x_t; alpha y, sigma^2 I)
        post = lambda y, p: p - ((xt - al * y) ** 2).sum(1) / (2 * si * si)  # noqa: E731
        dpost = post(ym, pm) - post(yh, ph)
        pix = np.abs(ym - yh) * 128.0  # grey levels
        x0 = heldout[:len(ok)][ok]
        res["modes"].append({
            "t": float(t), "sigma": si, "n": len(ok), "ok": int(ok.sum()), "mode_stalled": int((st_m == 1).sum()),
            "post_mode_minus_hd": mean_se(dpost),
            "post_mode_minus_hd_min": float(np.nanmin(dpost)) if ok.any() else float("nan"),
            "logp0_mode_minus_hd": mean_se(pm - ph), "rms_grey": mean_se(np.sqrt((pix ** 2).mean(1))),
            "max_grey": float(pix.max()) if ok.any() else float("nan"), "mode_logp0": mean_se(pm), "hd_logp0": mean_se(ph),
            "data_logp0": mean_se(lp_h[:len(ok)][ok]),
            "mode_rms_to_data_grey": mean_se(np.sqrt((((ym - x0) * 128) ** 2).mean(1))),
            "png_mode": mean_se([png(u) for u in to_grey(ym)]) if png else None,
            "png_hd": mean_se([png(u) for u in to_grey(yh)]) if png else None})

    # 5. density guidance: exact log p_{t_end} against the schedule, exact log p_0 of the end points
    lam = log_snr(DG_T_END) - log_snr(1.0)
    pf_end = R.load("dg-ode-0.50", "logp_exact")
    lp_ref_t = R.oracle("mixture-t0.001", "oracle-t0.001", dat("mixture_t0.001.npy"))
    from statistics import NormalDist

    res["dg"] = {"log_snr_range": lam, "ref_logp_t_end": mean_se(lp_ref_t), "ode": [], "sde": []}
    for kind, qs in (("ode", DG_Q), ("sde", DGSDE_Q)):
        for q in qs:
            name = f"dg-{kind}-{q}"
            ex = R.load(name, "logp_exact")
            st = np.load(os.path.join(a.out, name, "status.npy"))
            k = math.sqrt(2 * D) * NormalDist().inv_cdf(float(q))
            pred = pf_end + 0.5 * k * lam
            row = {"q": float(q), "n": len(st), "ok": int((st == 0).sum()), "eta_blowup": int((st == 4).sum()),
                   "logp_t_end": mean_se(ex), "predicted": mean_se(np.where(st == 0, pred, np.nan)),
                   "minus_predicted": mean_se(ex - pred),
                   "ref_quantile": float(np.quantile(lp_ref_t, float(q)))}
            if row["ok"]:
                lp0 = R.oracle(name, "oracle-t0", os.path.join(a.out, name, "x.npy"))
                lp0 = np.where(st == 0, lp0, np.nan)
                row["logp0"] = mean_se(lp0)
                x = R.load(name, "x")[st == 0]
                row["png"] = mean_se([png(u) for u in to_grey(x)]) if png else None
                # which component holds the end point, against the PF-ODE sample of the same x_T:
                # the schedule ignores the change of normalisation between components
                mix = read_mixture(MIXTURE)
                k_q, peak_q = dominant_component(mix, DG_T_END, x)
                k_pf, peak_pf = dominant_component(mix, DG_T_END, R.load("dg-ode-0.50", "x")[st == 0])
                row["component_changed"] = float(np.mean(k_q != k_pf))
                row["component_peak"] = mean_se(peak_q)
                row["component_peak_pf_ode"] = mean_se(peak_pf)
                # distance to the PF-ODE sample of the same x_T, in grey levels
                ref_x = R.load("dg-ode-0.50", "x")[st == 0]
                row["rms_grey_to_pf_ode"] = mean_se(np.sqrt((((x - ref_x) * 128.0) ** 2).mean(1)))
            res["dg"][kind].append(row)

    # 6. tracked log p against the exact value, per method
    groups = {"pf-ode-encode (held-out patches, t 0 -> 1)": ["encode-heldout"],
              "pf-ode, rtol 1e-4": ["sample-pf-ode-rtol-1e-4"], "pf-ode, rtol 1e-6": ["sample-pf-ode"],
              "pf-ode, rtol 1e-8": ["sample-pf-ode-rtol-1e-8"]}
    for k in SDE_STEPS:
        groups[f"reverse-sde, {k} EM steps (edm-rho grid)"] = [f"sample-reverse-sde-{k}"]
    groups["hd-sampler, 6 thresholds"] = [f"sample-hd-{t}" for t in HD]
    groups["hd-ode from x_t, 4 times"] = [f"hd-ode-{t}" for t in MODE_T]
    groups["mode-tracking from x_t, 4 times"] = [f"mode-{t}" for t in MODE_T]
    groups["dg-ode, q 0.1 .. 0.7 (ok trajectories)"] = [f"dg-ode-{q}" for q in DG_Q]
    groups["dg-sde, q 0.3 / 0.5 / 0.6, 1000 EM steps"] = [f"dg-sde-{q}" for q in DGSDE_Q]
    res["tracking"] = {}
    for g, names in groups.items():
        err = []
        for nm in names:
            e = R.load(nm) - R.load(nm, "logp_exact")
            err.append(e[np.isfinite(e)])
        e = np.concatenate(err) if err else np.array([])
        if len(e) == 0:
            continue
        spec = json.load(open(os.path.join(a.out, "specs", names[0] + ".json")))
        res["tracking"][g] = {"n": len(e), "mean_abs": mean_se(np.abs(e)), "mean": mean_se(e),
                              "sd": float(np.std(e, ddof=1)) if len(e) > 1 else None,
                              "max_abs": float(np.abs(e).max()), "solver": spec["solver"]}
    res["bounds"] = tolerance_bounds(R, a)
    res["timings"] = R.timings
    res["total_cpu_s"] = sum(t["cpu_s"] for t in R.timings.values())
    return res, R


def tolerance_bounds(R, a):
    """Per trajectory of every dopri5 run: |tracked - exact| against steps * (atol + rtol * L),
    L = the larger of |log p| at the two ends. dopri5 keeps each accepted step's local error of
    every state component, log p included, under atol + rtol * |value|; a global error above
    the sum of those allowances over the steps would mean the error control failed."""
    out = {}
    for name in RUN_SPECS:
        spec = json.load(open(os.path.join(a.out, "specs", name + ".json")))
        if spec["solver"]["scheme"] != "dopri5":
            continue
        st = np.load(os.path.join(a.out, name, "status.npy"))
        lp, ex = np.load(os.path.join(a.out, name, "logp.npy")), np.load(os.path.join(a.out, name, "logp_exact.npy"))
        steps = np.load(os.path.join(a.out, name, "steps.npy"))
        ok = st == 0
        if not ok.any():
            continue
        scale = np.maximum(np.abs(lp), np.abs(ex)) + 200.0  # |log p| also passes ~200 nats at t = 1
        bound = steps * (spec["solver"]["atol"] + spec["solver"]["rtol"] * scale)
        err = np.abs(lp - ex)
        out[name] = {"max_err": float(err[ok].max()), "max_ratio": float((err[ok] / bound[ok]).max()),
                     "within": bool((err[ok] <= bound[ok]).all())}
    return out


# ------------------------------------------------------------------------------ checks, report, figures
def quick_checks(res):
    fails = []
    for name, b in res["bounds"].items():
        if not b["within"]:
            fails.append(f"{name}: |tracked - exact| = {b['max_err']:.3g} above the dopri5 tolerance bound")
    for name, t in res["timings"].items():
        bad = t["n"] - t["status_counts"]["ok"]
        # expected: eta blow-up at q > 0.5, and local modes that vanish before s = 0
        if bad and not name.startswith(("dg-ode-0.6", "dg-ode-0.7", "mode-")):
            fails.append(f"{name}: {bad} trajectories not ok")
    hd = res["samples"]["hd-1.00"]
    if not hd["minus_pf_ode"][0] > 20:
        fails.append(f"HD sampler (t_thr = 1) not above PF-ODE samples in exact log p_0: {hd}")
    dg = [r["logp_t_end"][0] for r in res["dg"]["ode"] if r["q"] <= 0.5]
    if not all(x < y for x, y in zip(dg, dg[1:])):
        fails.append(f"DG-ODE exact log p_t_end not increasing in q (q <= 0.5): {dg}")
    if "spearman" in res["png"] and res["png"]["spearman"] < 0.5:
        fails.append(f"Spearman(-log p_0, PNG) = {res['png']['spearman']:.2f} < 0.5")
    b1 = res["blur"][2]
    if b1["increased"] < 0.75 * b1["n"]:
        fails.append(f"blur 1 px raised log p_0 for only {b1['increased']}/{b1['n']} patches")
    for m in res["modes"]:
        if m["post_mode_minus_hd_min"] < -1e-3:
            fails.append(f"t = {m['t']}: the HD-ODE end point has a higher posterior density than the tracked mode")
    return fails


def summary_md(res):
    L = ["# The exact study on the patch mixture (examples/patch_mixture/specs)", ""]
    if res["quick"]:
        L += ["**--quick: few trajectories, loose tolerances: a smoke test.**", ""]
    p = res["png"]
    L += [f"## 1. -log p_0 against PNG size, n = {p['n']} held-out patches", "",
          f"mean exact log p_0 {fmt(p['log_p0'], 2)} nats (sd {p['log_p0_sd']:.1f})"]
    if "spearman" in p:
        L += [f"Spearman(-log p_0, PNG size) = **{p['spearman']:.3f}**, bootstrap 95% CI "
              f"[{p['spearman_ci95'][0]:.3f}, {p['spearman_ci95'][1]:.3f}]; mean PNG {fmt(p['png_mean'], 1)} bytes"]
    L += ["", "## 2. Blur (exact log p_0, paired change against sigma = 0)", "",
          "| sigma (px) | log p_0 | change | median change | increased |", "|---|---|---|---|---|"]
    L += [f"| {b['sigma_px']} | {fmt(b['log_p0'])} | {fmt(b['change'])} | {b['change_median']:.1f} | {b['increased']}/{b['n']} |"
          for b in res["blur"]]
    L += ["", "## 3. Samples (exact log p_0; same x_T for every sampler: " + str(res["samples_same_x_T"]) + ")", "",
          "| source | log p_0 | minus PF-ODE (paired) | above PF-ODE | PNG bytes |", "|---|---|---|---|---|"]
    for s, r in res["samples"].items():
        L.append(f"| {s} | {fmt(r['log_p0'])} | {fmt(r['minus_pf_ode']) if 'minus_pf_ode' in r else '-'} | "
                 f"{r.get('above_pf_ode', '-')} | {fmt(r['png']) if r['png'] else '-'} |")
    L += ["", "## 4. Exact posterior mode (mode tracking) vs HD-ODE, same x_t", "",
          "| t | sigma | mode reached s = 0 | log post(mode) - log post(HD) | log p_0(mode) - log p_0(HD) | RMS grey levels | max grey | "
          "log p_0 mode / HD / data | PNG mode / HD |", "|---|---|---|---|---|---|---|---|---|"]
    for m in res["modes"]:
        pn = f"{m['png_mode'][0]:.0f} / {m['png_hd'][0]:.0f}" if m["png_mode"] and m["ok"] else "-"
        L.append(f"| {m['t']} | {m['sigma']:.3f} | {m['ok']}/{m['n']} | {fmt(m['post_mode_minus_hd'], 2)} | {fmt(m['logp0_mode_minus_hd'], 1)} | "
                 f"{fmt(m['rms_grey'], 2)} | {m['max_grey']:.1f} | {m['mode_logp0'][0]:.1f} / {m['hd_logp0'][0]:.1f} / "
                 f"{m['data_logp0'][0]:.1f} | {pn} |")
    dg = res["dg"]
    L += ["", f"## 5. Density guidance to t = {DG_T_END} (log-SNR range {dg['log_snr_range']:.2f}); "
          f"exact log p_t_end of exact draws from p_t_end: {fmt(dg['ref_logp_t_end'])}", "",
          "| method | q | ok / n | exact log p_t_end | predicted (PF-ODE + k range/2, paired) | exact - predicted | "
          "q-quantile of p_t_end draws | exact log p_0 | PNG | RMS grey levels to the PF-ODE sample | "
          "component differs from the PF-ODE sample's | its peak (PF-ODE sample's) |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for kind in ("ode", "sde"):
        for r in dg[kind]:
            L.append(f"| dg-{kind} | {r['q']} | {r['ok']}/{r['n']} | {fmt(r['logp_t_end'])} | {fmt(r['predicted'])} | "
                     f"{fmt(r['minus_predicted'], 2)} | {r['ref_quantile']:.1f} | {fmt(r['logp0']) if 'logp0' in r else '-'} | "
                     f"{fmt(r['png']) if r.get('png') else '-'} | "
                     f"{fmt(r['rms_grey_to_pf_ode']) if 'rms_grey_to_pf_ode' in r else '-'} | "
                     + (f"{r['component_changed']:.2f} | {fmt(r['component_peak'])} ({fmt(r['component_peak_pf_ode'])}) |"
                        if "component_changed" in r else "- | - |"))
    L += ["", "## 6. Tracked log p - exact log p, per method", "",
          "| method | n | mean abs | mean (signed) | sd | max abs |", "|---|---|---|---|---|---|"]
    for g, r in res["tracking"].items():
        L.append(f"| {g} | {r['n']} | {r['mean_abs'][0]:.3g} +- {r['mean_abs'][1]:.2g} | {r['mean'][0]:.3g} | "
                 f"{r['sd']:.3g} | {r['max_abs']:.3g} |")
    L += ["", "dopri5 runs against the bound steps x (atol + rtol x (|log p| + 200)): "
          + ", ".join(f"{k} {v['max_ratio']:.2g}" for k, v in res["bounds"].items()) + " (largest error / bound)", "",
          f"## Cost: {res['total_cpu_s']:.0f} s of CPU time over {len(res['timings'])} runs (--threads {res['threads']})", "",
          "| run | CPU s | score evals | not ok |", "|---|---|---|---|"]
    L += [f"| {k} | {t['cpu_s']:.1f} | {t['score_evals']} | {t['n'] - t['status_counts']['ok']} |"
          for k, t in res["timings"].items()]
    return "\n".join(L) + "\n"


def figures(res, R, a):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(a.figures, exist_ok=True)
    dat = lambda f: os.path.join(a.data, f)  # noqa: E731
    grey = dict(cmap="gray", vmin=0, vmax=255, interpolation="nearest")

    def grid(rows, labels, path, ncol=8):
        fig, ax = plt.subplots(len(rows), ncol, figsize=(ncol * 0.6 + 1.6, len(rows) * 0.62), squeeze=False)
        for i, (imgs, lab) in enumerate(zip(rows, labels)):
            for j in range(ncol):
                ax[i, j].axis("off")
                if j < len(imgs) and imgs[j] is not None:
                    ax[i, j].imshow(to_grey(imgs[j]).reshape(PATCH, PATCH), **grey)
            ax[i, 0].text(-1.0, 3.5, lab, ha="right", va="center", fontsize=7)
        fig.subplots_adjust(left=0.22, right=0.99, top=0.99, bottom=0.01, wspace=0.06, hspace=0.06)
        fig.savefig(path, dpi=80)
        plt.close(fig)

    # 1
    lp = R.load("oracle-t0-heldout", "logp_exact")
    sz = np.load(os.path.join(a.out, "heldout_png.npy"))
    fig, ax = plt.subplots(figsize=(4.2, 3.2))
    ax.scatter(sz + np.random.default_rng(0).uniform(-0.3, 0.3, len(sz)), -lp, s=1, alpha=0.3)
    ax.set_xlabel("PNG size of the 8x8 patch (bytes, jittered)")
    ax.set_ylabel("-log p_0 (nats, exact)")
    p = res["png"]
    ax.set_title(f"n = {p['n']}, Spearman {p['spearman']:.3f} [{p['spearman_ci95'][0]:.3f}, {p['spearman_ci95'][1]:.3f}]", fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(a.figures, "patch_mixture_logp_vs_png.png"), dpi=90)
    plt.close(fig)
    # 2
    fig, ax = plt.subplots(figsize=(4.2, 3.0))
    b = res["blur"]
    ax.errorbar([r["sigma_px"] for r in b], [r["change"][0] for r in b], yerr=[1.96 * r["change"][1] for r in b], marker="o",
                label="mean (95% CI)")
    ax.plot([r["sigma_px"] for r in b], [r["change_median"] for r in b], "s--", label="median")
    ax.set_xlabel("Gaussian blur sigma (pixels)")
    ax.set_ylabel("change of exact log p_0 (nats)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(a.figures, "patch_mixture_blur.png"), dpi=90)
    plt.close(fig)
    # 3
    rows = [np.load(dat("heldout_oracle.npy"))[:8], np.load(dat("mixture_t0.npy"))[:8]]
    labels = ["held-out data", "exact mixture draws"]
    for s in ["reverse-sde-4000", "pf-ode"] + [f"hd-{t}" for t in reversed(HD)]:
        rows.append(R.load(f"sample-{s}", "x")[:8])
        labels.append(s.replace("hd-", "HD t_thr = ").replace("reverse-sde-4000", "reverse SDE") +
                      f" ({res['samples'][s]['log_p0'][0]:.0f})")
    grid(rows, labels, os.path.join(a.figures, "patch_mixture_samples.png"))
    # 4
    rows, labels = [], []
    x0 = np.load(dat("heldout_oracle.npy"))
    for t in MODE_T:
        ok = ((np.load(os.path.join(a.out, f"mode-{t}", "status.npy")) == 0)
              & (np.load(os.path.join(a.out, f"hd-ode-{t}", "status.npy")) == 0))
        row = []
        for j in np.flatnonzero(ok)[:4]:
            row += [x0[j], np.load(dat(f"xt_{t}.npy"))[j] / vp(float(t))[0], R.load(f"mode-{t}", "x")[j], R.load(f"hd-ode-{t}", "x")[j]]
        rows.append(row)
        labels.append(f"t = {t}: x_0, x_t/alpha,\nmode, HD-ODE")
    grid(rows, labels, os.path.join(a.figures, "patch_mixture_modes.png"), ncol=16)
    # 5
    fig, ax = plt.subplots(figsize=(4.4, 3.2))
    for kind, mk in (("ode", "o-"), ("sde", "s")):
        rr = [r for r in res["dg"][kind] if r["ok"]]
        ax.errorbar([r["q"] for r in rr], [r["logp_t_end"][0] for r in rr], yerr=[1.96 * r["logp_t_end"][1] for r in rr],
                    fmt=mk, label=f"DG-{kind.upper()} exact log p_t_end")
    rr = [r for r in res["dg"]["ode"] if r["ok"]]
    ax.plot([r["q"] for r in rr], [r["predicted"][0] for r in rr], "k--", label="schedule (PF-ODE + k range / 2)")
    ax.plot([r["q"] for r in res["dg"]["ode"]], [r["ref_quantile"] for r in res["dg"]["ode"]], ":",
            label="q-quantile of log p_t_end, exact draws")
    ax.set_xlabel("q")
    ax.set_ylabel(f"log p at t = {DG_T_END} (nats)")
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(os.path.join(a.figures, "patch_mixture_dg.png"), dpi=90)
    plt.close(fig)
    rows, labels = [], []
    for q in DG_Q:
        st = np.load(os.path.join(a.out, f"dg-ode-{q}", "status.npy"))
        if (st == 0).any():
            x = R.load(f"dg-ode-{q}", "x")
            rows.append([x[j] if st[j] == 0 else None for j in range(8)])  # blank: eta_blowup
            labels.append(f"DG-ODE q = {q}")
    grid(rows, labels, os.path.join(a.figures, "patch_mixture_dg_samples.png"))


def main():
    ap = argparse.ArgumentParser(description="The exact study on the patch mixture, run with dlogp-run.")
    ap.add_argument("--runner")
    ap.add_argument("--quick", action="store_true", help="few trajectories, loose tolerances; checks; no figures")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", help="default build/patch_mixture/study-out (--quick: study-out-quick)")
    ap.add_argument("--data", help="default build/patch_mixture/study-data (--quick: study-data-quick)")
    ap.add_argument("--figures", default=os.path.join(ROOT, "docs", "figures"), help="figures (not with --quick)")
    ap.add_argument("--results", default=os.path.join(HERE, "study_results.json"), help="results JSON (not with --quick)")
    ap.add_argument("--summarise-only", action="store_true", help="no runs: re-read OUT and DATA of an earlier run")
    a = ap.parse_args()
    sfx = "-quick" if a.quick else ""
    a.out = os.path.abspath(a.out or DEFAULT_OUT + sfx)
    a.data = os.path.abspath(a.data or DEFAULT_DATA + sfx)
    t0 = time.time()
    res, R = study(a)
    res["wall_s"] = (json.load(open(os.path.join(a.out, "results.json")))["wall_s"] if a.summarise_only
                     else time.time() - t0)
    text = summary_md(res)
    with open(os.path.join(a.out, "summary.md"), "w") as f:
        f.write(text)
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    print(text)
    if a.quick:
        fails = quick_checks(res)
        for m in fails:
            print("run_study --quick: FAILED:", m)
        print(f"run_study --quick: {len(res['timings'])} runs, {len(fails)} failed checks, {res['wall_s']:.0f} s")
        sys.exit(1 if fails else 0)
    with open(a.results, "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    figures(res, R, a)


if __name__ == "__main__":
    main()
