#!/usr/bin/python3
"""Run the patches study as dlogp-run specs and summarise it (docs/findings-patches.md,
"Reproduce with dlogp-run").

    nice -n 19 /usr/bin/python3 examples/patches/run_specs.py [--runner PATH] [--quick]
        [--threads N] [--out DIR] [--data DIR]

1. examples/patches/make_inputs.py writes the model-unit inputs (default build/patches/specs-data);
2. every spec of examples/patches/specs/ is run by dlogp-run, in the order of SPECS below (the
   re-encoding and ELBO specs read the samples the sampling specs wrote), each as
       dlogp-run SPEC --threads N --arrays OUT/NAME -o OUT/NAME/run.json
   (objective has no --arrays: its per-point ELBOs are read from run.json);
3. the per-trajectory arrays become the numbers of OUT/summary.md (and summary.json): bits/dim,
   Spearman(-log p, PNG size), blur deltas, sampler log p, SDE / ODE / ELBO ordering.

The runner: --runner, else $DLOGP_RUN, else build/release/examples/runner/dlogp-run under the
repository root (cmake --preset release && cmake --build --preset release --target dlogp-run).

Without --quick and with the default folders the committed spec files are run as they are
(their relative paths point at ../data and at build/patches/specs-{data,out}). --quick (a smoke
test, well under a minute, numbers meaningless) and non-default folders run derived copies
written to OUT/specs/: the same specs with absolute paths into the chosen folders and, for
--quick, tiny n, steps, probes and draws.

Requires numpy; PNG sizes need PIL (python3-pil; skipped with a note when missing), the Spearman
p-value scipy (the coefficient itself is computed with numpy).
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
SPEC_DIR = os.path.join(HERE, "specs")
DEFAULT_DATA = os.path.join(ROOT, "build", "patches", "specs-data")
DEFAULT_OUT = os.path.join(ROOT, "build", "patches", "specs-out")
DEFAULT_RUNNER = os.path.join(ROOT, "build", "release", "examples", "runner", "dlogp-run")
D = 256
LN2 = math.log(2.0)
BLUR = ["0.0", "0.5", "1.0", "1.5", "2.0", "3.0"]
HD = ["1.00", "0.50", "0.30", "0.20", "0.10", "0.05"]
SAMPLERS = ["pf-ode", "reverse-sde"] + [f"hd-{t}" for t in HD]
# Run order: a spec that reads build/patches/specs-out/<name>/x.npy comes after <name>.
GAUSS_SDE_STEPS = [250, 500, 1000, 2000]
SPECS = (["heldout", "heldout-check-exact", "heldout-check-exact-16", "heldout-gaussian-base"]
         + [f"blur-{b}" for b in BLUR]
         + [f"sample-{s}" for s in SAMPLERS] + [f"reencode-{s}" for s in SAMPLERS]
         + ["elbo-forward-sde-1", "elbo-forward-sde-2", "elbo-objective"]
         + [f"sample-reverse-sde-gaussian-base-{k}" for k in GAUSS_SDE_STEPS])


# ------------------------------------------------------------------------------ helpers
def mean_se(v):
    v = np.asarray(v, dtype=np.float64)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return float("nan"), float("nan"), 0
    se = v.std(ddof=1) / math.sqrt(len(v)) if len(v) > 1 else float("nan")
    return float(v.mean()), float(se), len(v)


def fmt(m, se, digits=1):
    return f"{m:.{digits}f} +- {se:.{digits}f}" if np.isfinite(se) else f"{m:.{digits}f}"


def bpd(logp):
    """Bits per dimension of a density value for 8-bit data in bins of width 2/256 (the runner's
    quantisation summary and patches.cpp use the same formula)."""
    return -(np.asarray(logp, dtype=np.float64) + D * math.log(2.0 / 256.0)) / (D * LN2)


def ranks(v):
    """Average ranks (ties share their mean rank), for Spearman's coefficient."""
    v = np.asarray(v, dtype=np.float64)
    order = np.argsort(v, kind="mergesort")
    r = np.empty(len(v))
    r[order] = np.arange(1, len(v) + 1)
    for val in np.unique(v):  # ties
        m = v == val
        if m.sum() > 1:
            r[m] = r[m].mean()
    return r


def spearman(a, b):
    """Spearman's rho = Pearson correlation of the ranks; p-value from scipy when present."""
    rho = float(np.corrcoef(ranks(a), ranks(b))[0, 1])
    try:
        from scipy.stats import spearmanr

        p = float(spearmanr(a, b)[1])
    except ImportError:
        p = float("nan")
    return rho, p


def png_sizer():
    """PNG size in bytes of an 8-bit greyscale image (PIL, optimize=True, as plot_patches.py)."""
    try:
        from PIL import Image
    except ImportError:
        return None

    def size(u8):
        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(u8, dtype=np.uint8), mode="L").save(buf, format="PNG", optimize=True)
        return len(buf.getvalue())

    return size


def to_grey(x):
    """Model units to grey levels: the bin a value falls in (inverse of x = (u + U)/128 - 1)."""
    return np.clip(np.floor((np.asarray(x, dtype=np.float64) + 1.0) * 128.0), 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------ running
def derived_spec(name, data_dir, out_dir, quick):
    """The spec with absolute paths into data_dir / out_dir and, for quick, tiny sizes."""
    path = os.path.join(SPEC_DIR, name + ".json")
    spec = json.load(open(path))

    def move(p):
        p = os.path.normpath(os.path.join(SPEC_DIR, p))
        for default, chosen in ((DEFAULT_DATA, data_dir), (DEFAULT_OUT, out_dir)):
            if p == default or p.startswith(default + os.sep):
                return os.path.join(chosen, os.path.relpath(p, default))
        return p

    for key in ("weights", "file"):  # mlp weights, gmm file
        if key in spec["model"]:
            spec["model"][key] = move(spec["model"][key])
    if isinstance(spec.get("x_start"), dict):
        spec["x_start"]["file"] = move(spec["x_start"]["file"])
    if quick:
        if "solver" in spec:  # 4 RK4 steps; Euler-Maruyama steps / 64 (at least 4: a step sweep stays one)
            em = spec["solver"]["scheme"] == "euler-maruyama"
            spec["solver"]["steps"] = max(4, spec["solver"]["steps"] // 64) if em else 4
        if spec.get("divergence", {}).get("type") == "hutchinson":
            spec["divergence"]["probes"] = min(2, spec["divergence"]["probes"])
        if "n" in spec:
            spec["n"] = 2
        if "objective" in spec:
            spec["objective"]["samples"] = 8
    return spec


def run_all(a):
    runner = a.runner or os.environ.get("DLOGP_RUN") or DEFAULT_RUNNER
    if not os.access(runner, os.X_OK):
        sys.exit(f"run_specs: no dlogp-run at {runner} (give --runner PATH or set DLOGP_RUN)")
    on_disk = sorted(f[:-5] for f in os.listdir(SPEC_DIR) if f.endswith(".json"))
    if sorted(SPECS) != on_disk:
        sys.exit(f"run_specs: SPECS and {SPEC_DIR} disagree: {sorted(set(SPECS) ^ set(on_disk))}")

    sizes = ["--n", "4", "--n-blur", "2", "--n-check", "2"] if a.quick else []
    subprocess.run([sys.executable, os.path.join(HERE, "make_inputs.py"), "--out", a.data] + sizes, check=True)
    as_committed = not a.quick and os.path.normpath(a.data) == DEFAULT_DATA and os.path.normpath(a.out) == DEFAULT_OUT
    os.makedirs(a.out, exist_ok=True)
    timings = {}
    for name in SPECS:
        folder = os.path.join(a.out, name)
        os.makedirs(folder, exist_ok=True)
        if as_committed:
            spec_path = os.path.join(SPEC_DIR, name + ".json")
        else:
            os.makedirs(os.path.join(a.out, "specs"), exist_ok=True)
            spec_path = os.path.join(a.out, "specs", name + ".json")
            with open(spec_path, "w") as f:
                json.dump(derived_spec(name, a.data, a.out, a.quick), f, indent=1)
        cmd = [runner, spec_path, "--threads", str(a.threads), "--no-progress", "-o", os.path.join(folder, "run.json")]
        if not name.startswith("elbo-objective"):  # objective results have no array form
            cmd[2:2] = ["--arrays", folder]
        t0, c0 = time.time(), os.times()
        proc = subprocess.run(cmd)
        c1 = os.times()
        cpu = (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)
        if proc.returncode not in (0, 3):
            sys.exit(f"run_specs: {' '.join(cmd)} failed with exit status {proc.returncode}")
        summ = json.load(open(os.path.join(folder, "run.json")))["summary"]
        timings[name] = {"wall_s": time.time() - t0, "cpu_s": cpu, "runner_seconds": summ["seconds"],
                         "score_evals": summ["score_evals"], "not_ok": summ["n"] - summ["status_counts"]["ok"]}
        note = f", {timings[name]['not_ok']} trajectories not ok" if timings[name]["not_ok"] else ""
        print(f"run_specs: {name}: {summ['n']} trajectories, {cpu:.1f} s CPU{note}", flush=True)
    return timings


# ------------------------------------------------------------------------------ analysis
def load(out, name, what="logp"):
    v = np.load(os.path.join(out, name, what + ".npy"))
    if what in ("logp", "logp_exact"):  # a trajectory that is not ok has NaN, which mean_se drops
        status = np.load(os.path.join(out, name, "status.npy"))
        v = np.where(status == 0, v, np.nan)
    return v


def summarise(a, timings):
    out = a.out
    S = {"quick": a.quick, "timings": timings}
    L = ["# Patches study, run as dlogp-run specs (examples/patches/specs)", ""]
    if a.quick:
        L += ["**--quick: tiny sizes, numbers meaningless (smoke test).**", ""]
    run = lambda name: json.load(open(os.path.join(out, name, "run.json")))  # noqa: E731
    png = png_sizer()

    # --- held-out likelihood
    r = run("heldout")
    lp = load(out, "heldout")
    m, se, n = mean_se(lp)
    b = r["summary"]["bits_per_dim"]
    S["heldout"] = {"n": n, "log_p_mean": m, "log_p_se": se, "log_p_sd": float(np.nanstd(lp, ddof=1)),
                    "log_p_median": float(np.nanmedian(lp)), "bits_per_dim": b}
    L += ["## Held-out patches (pf-ode-encode, RK4 32 steps on a log-SNR grid, Hutchinson 16 probes, "
          "uniform dequantisation)", "", "| quantity | value |", "|---|---|",
          f"| n | {n} |",
          f"| bits/dim (runner summary, mean +- s.e.) | **{b['mean']:.3f} +- {b['standard_error']:.3f}** |",
          f"| mean log p_0 (nats, +- s.e.; sd) | {fmt(m, se)} (sd {S['heldout']['log_p_sd']:.1f}) |",
          f"| median log p_0 (nats), its bits/dim | {S['heldout']['log_p_median']:.1f}, {bpd(S['heldout']['log_p_median']):.3f} |"]
    if png is not None:
        # PNG of the patch itself (its grey levels, as plot_patches.py), not of the dequantised point
        x0 = np.load(os.path.join(a.data, "heldout.npy")).reshape(-1, 16, 16)
        sizes = np.array([png(to_grey(x)) for x in x0])
        ok = np.isfinite(lp)
        rho, p = spearman(-lp[ok], sizes[ok])
        S["heldout"].update({"png_mean": float(sizes.mean()), "spearman_neglogp_png": rho, "spearman_p": p})
        L.append(f"| Spearman(-log p_0, PNG size) | **{rho:.3f}** (p = {p:.2g}); mean PNG {sizes.mean():.0f} bytes |")
    else:
        L.append("| Spearman(-log p_0, PNG size) | not computed: PIL is not installed |")
    # Hutchinson vs exact trace, and 16 vs 32 steps, on the first K patches (same seed, same
    # trajectory indices, hence the same dequantisation noise: checked below).
    ex, ex16 = load(out, "heldout-check-exact"), load(out, "heldout-check-exact-16")
    k = len(ex)
    same_x = np.array_equal(load(out, "heldout-check-exact", "x_start"), load(out, "heldout", "x_start")[:k])
    dh, ds = lp[:k] - ex, ex16 - ex
    S["checks"] = {"n": k, "same_dequantisation": bool(same_x), "hutchinson_minus_exact": mean_se(dh),
                   "hutchinson_minus_exact_sd": float(np.nanstd(dh, ddof=1)) if k > 1 else None,
                   "half_steps_max_abs_diff": float(np.nanmax(np.abs(ds)))}
    L += [f"| Hutchinson(16) - exact trace, first {k} (same dequantisation: {same_x}) | "
          f"{fmt(*mean_se(dh)[:2], 2)} nats (mean +- s.e.) |",
          f"| 16 vs 32 RK4 steps (exact trace), first {k} | max abs difference {S['checks']['half_steps_max_abs_diff']:.3f} nats |"]
    # The network's fixed Gaussian base as an exact gmm, on the same dequantised points (same
    # seed and indices): its closed-form log p (logp_exact) is what the network is compared with,
    # and its own PF-ODE encoding (logp) checks the pipeline against that closed form.
    g_enc, g_ex = load(out, "heldout-gaussian-base"), load(out, "heldout-gaussian-base", "logp_exact")
    same_g = np.array_equal(load(out, "heldout-gaussian-base", "x_start"), load(out, "heldout", "x_start"))
    dm = lp - g_ex
    h = min(64, len(dm))
    S["gaussian_base"] = {"same_points": bool(same_g), "log_p_exact": mean_se(g_ex), "model_minus_gaussian": mean_se(dm),
                          "model_minus_gaussian_median": float(np.nanmedian(dm)),
                          "model_minus_gaussian_first64": mean_se(dm[:h]),
                          "pf_ode_minus_closed_form_max_abs": float(np.nanmax(np.abs(g_enc - g_ex)))}
    L += [f"| Gaussian base alone, closed form (gmm logp_exact), same points: {same_g} | mean log p_0 "
          f"{fmt(*mean_se(g_ex)[:2])} nats, {float(bpd(mean_se(g_ex)[0])):.3f} bits/dim |",
          f"| network - Gaussian base, all {len(dm)} / first {h} (paired, mean +- s.e.) | "
          f"{fmt(*mean_se(dm)[:2])} (median {S['gaussian_base']['model_minus_gaussian_median']:.1f}) / "
          f"{fmt(*mean_se(dm[:h])[:2])} nats |",
          f"| Gaussian base: PF-ODE encoding (exact trace) - closed form | max abs {S['gaussian_base']['pf_ode_minus_closed_form_max_abs']:.3f} nats |",
          ""]

    # --- blur series: paired differences to the unblurred level (same noise and probes)
    base = load(out, "blur-0.0")
    L += ["## Blur series (pf-ode-encode per level, Hutchinson 4 probes; change of log p_0 vs sigma = 0, "
          "paired, mean +- s.e.)", "", "| sigma (px) | mean log p_0 (nats) | bits/dim | change (nats) | increased |",
          "|---|---|---|---|---|"]
    S["blur"] = []
    for lev in BLUR:
        v = load(out, f"blur-{lev}")
        d = v - base
        ok = np.isfinite(d)
        bb = run(f"blur-{lev}")["summary"]["bits_per_dim"]
        row = {"sigma_px": float(lev), "log_p": mean_se(v), "bits_per_dim": bb, "change": mean_se(d),
               "increased": int((d[ok] > 0).sum()), "n": int(ok.sum())}
        S["blur"].append(row)
        ch = "-" if lev == "0.0" else fmt(*row["change"][:2])
        inc = "-" if lev == "0.0" else f"{row['increased']}/{row['n']}"
        L.append(f"| {lev} | {fmt(*row['log_p'][:2])} | {bb['mean']:.3f} | {ch} | {inc} |")
    L.append("")

    # --- samplers: tracked log p, PF-ODE re-encoding, PNG size
    L += ["## Samples (same prior draws x_T for every sampler; log p_0 re-encoded by pf-ode-encode, "
          "RK4 32 steps, Hutchinson 4 probes)", "",
          "| sampler | tracked log p (runner's logp) | re-encoded log p_0 | tracked - re-encoded (paired) | bits/dim | "
          "re-encoded - PF-ODE (paired) | PNG bytes |",
          "|---|---|---|---|---|---|---|"]
    S["samples"] = {}
    ref = load(out, "reencode-pf-ode")
    xT = {s: load(out, f"sample-{s}", "x_start") for s in SAMPLERS}
    same_xT = all(np.array_equal(xT[s], xT["pf-ode"]) for s in SAMPLERS)
    labels = {"pf-ode": "PF-ODE (RK4, 32 steps)", "reverse-sde": "reverse SDE (Euler-Maruyama, 500 steps)"}
    labels.update({f"hd-{t}": f"HD sampler, t_thr = {float(t):g}" for t in HD})
    for s in SAMPLERS:
        tr, enc = load(out, f"sample-{s}"), load(out, f"reencode-{s}")
        x = load(out, f"sample-{s}", "x")
        pn = float(np.mean([png(to_grey(v).reshape(16, 16)) for v in x])) if png is not None else float("nan")
        row = {"tracked": mean_se(tr), "encoded": mean_se(enc), "minus_pf_ode": mean_se(enc - ref), "png_mean": pn,
               "tracked_minus_encoded": mean_se(tr - enc),
               "bits_per_dim": float(bpd(mean_se(enc)[0]))}
        S["samples"][s] = row
        diff = "-" if s == "pf-ode" else fmt(*row["minus_pf_ode"][:2])
        L.append(f"| {labels[s]} | {fmt(*row['tracked'][:2])} | {fmt(*row['encoded'][:2])} | "
                 f"{fmt(*row['tracked_minus_encoded'][:2])} | "
                 f"{row['bits_per_dim']:.2f} | {diff} | {'-' if png is None else f'{pn:.0f}'} |")
    L += ["", f"Same x_T for every sampler (checked from x_start.npy): {same_xT}. n = {len(ref)} per sampler.", ""]
    S["samples_same_x_T"] = bool(same_xT)

    # --- SDE vs ODE vs ELBO on the same reverse-SDE samples
    sde, ode = load(out, "sample-reverse-sde"), load(out, "reencode-reverse-sde")
    f1, f2 = load(out, "elbo-forward-sde-1"), load(out, "elbo-forward-sde-2")
    fwd = 0.5 * (f1 + f2)  # the forward-SDE ELBO: mean of the augmented forward path estimates
    obj = run("elbo-objective")
    eo = np.array([r["elbo"]["value"] if r["status"] == "ok" else np.nan for r in obj["results"]])
    eo_se = np.array([r["elbo"]["standard_error"] if r["status"] == "ok" and r["elbo"]["standard_error"] is not None
                      else np.nan for r in obj["results"]])
    rows = [("augmented reverse SDE (tracked logp)", sde), ("PF-ODE encoding", ode),
            ("ELBO, forward SDE (2 paths x 500 EM steps)", fwd), ("ELBO, objective (score_matching_elbo draws)", eo)]
    S["ordering"] = {k: mean_se(v) for k, v in rows}
    pairs = [("SDE - ODE", sde - ode), ("ODE - ELBO (forward SDE)", ode - fwd), ("ODE - ELBO (objective)", ode - eo)]
    S["ordering_diffs"] = {k: {"mean_se": mean_se(d), "fraction_positive": float(np.mean(d[np.isfinite(d)] > 0))}
                           for k, d in pairs}
    S["ordering"]["objective_per_point_se_median"] = float(np.nanmedian(eo_se))
    L += ["## Augmented SDE vs PF-ODE vs ELBO (same reverse-SDE samples; mean +- s.e. over samples)", "",
          "| estimate | log p (nats) |", "|---|---|"]
    L += [f"| {k} | {fmt(*mean_se(v)[:2])} |" for k, v in rows]
    L += ["", "| difference (paired) | mean +- s.e. | fraction > 0 |", "|---|---|---|"]
    L += [f"| {k} | {fmt(*S['ordering_diffs'][k]['mean_se'][:2])} | {S['ordering_diffs'][k]['fraction_positive']:.2f} |"
          for k, _ in pairs]
    L += ["", f"Objective ELBO: {obj['spec']['objective']['samples']} (time, noise) draws per sample, median "
          f"per-sample standard error {S['ordering']['objective_per_point_se_median']:.1f} nats.", ""]

    # --- the reverse-SDE bias where the truth is known: the Gaussian base as an exact gmm
    # (true score, so the augmented estimate's error is Euler-Maruyama's alone); logp_exact is
    # its exact log p_{t_min} at each sample
    L += ["## Reverse SDE on the Gaussian base (exact score): tracked log p - exact log p (mean +- s.e.)", "",
          "| Euler-Maruyama steps | tracked - exact (nats) |", "|---|---|"]
    S["gaussian_sde"] = {}
    gaps = {}
    for k in GAUSS_SDE_STEPS:
        name = f"sample-reverse-sde-gaussian-base-{k}"
        gaps[k] = load(out, name) - load(out, name, "logp_exact")
        S["gaussian_sde"][k] = mean_se(gaps[k])
        L.append(f"| {k} | {fmt(*mean_se(gaps[k])[:2])} |")
    rich = 2 * gaps[GAUSS_SDE_STEPS[-1]] - gaps[GAUSS_SDE_STEPS[-2]]  # same x_T, Brownian paths differ by step
    S["gaussian_sde"]["richardson"] = mean_se(rich)
    L += [f"| Richardson 2 gap({GAUSS_SDE_STEPS[-1]}) - gap({GAUSS_SDE_STEPS[-2]}) | {fmt(*mean_se(rich)[:2])} |", ""]

    # --- cost
    tot_cpu = sum(t["cpu_s"] for t in timings.values())
    tot_wall = sum(t["wall_s"] for t in timings.values())
    S["total_cpu_s"], S["total_wall_s"] = tot_cpu, tot_wall
    L += [f"## Cost: {tot_cpu:.0f} s of CPU time, {tot_wall:.0f} s of wall time over {len(timings)} runs "
          f"(--threads {a.threads})", "", "| spec | CPU s | wall s | score evals | not ok |", "|---|---|---|---|---|"]
    L += [f"| {k} | {t['cpu_s']:.1f} | {t['wall_s']:.1f} | {t['score_evals']} | {t['not_ok']} |" for k, t in timings.items()]
    if png is None:
        L += ["", "PIL is not installed: PNG sizes and the Spearman correlation were skipped."]
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("\n".join(L) + "\n")
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(S, f, indent=1)
    print("\n".join(L))


def main():
    ap = argparse.ArgumentParser(description="Run examples/patches/specs with dlogp-run and summarise them.")
    ap.add_argument("--runner", help="dlogp-run (default: $DLOGP_RUN, else build/release/examples/runner/dlogp-run)")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (smoke test, < 1 min, numbers meaningless)")
    ap.add_argument("--threads", type=int, default=1, help="dlogp-run --threads (default 1; results do not depend on it)")
    ap.add_argument("--out", help="output folder (default build/patches/specs-out, with --quick specs-out-quick)")
    ap.add_argument("--data", help="input folder (default build/patches/specs-data, with --quick specs-data-quick)")
    ap.add_argument("--summarise-only", action="store_true", help="skip the runs; re-read OUT (timings from OUT/timings.json)")
    a = ap.parse_args()
    suffix = "-quick" if a.quick else ""
    a.out = os.path.abspath(a.out or DEFAULT_OUT + suffix)
    a.data = os.path.abspath(a.data or DEFAULT_DATA + suffix)
    if a.summarise_only:
        timings = json.load(open(os.path.join(a.out, "timings.json")))
    else:
        timings = run_all(a)
        with open(os.path.join(a.out, "timings.json"), "w") as f:
            json.dump(timings, f, indent=1)
    summarise(a, timings)


if __name__ == "__main__":
    main()
