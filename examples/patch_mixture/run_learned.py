#!/usr/bin/python3
"""Measure a network trained on the patch mixture against the mixture's exact score and log p
(docs/findings-learned-score.md).

    /usr/bin/python3 examples/patch_mixture/run_learned.py --runner PATH [--quick] [--threads 1]
        [--weights examples/patch_mixture/data/network.safetensors] [--out build/patch_mixture/learned]
        [--figures docs/figures]

numpy only (no torch): the mixture's score and log p and the network's output are evaluated by
mixture_common.py, everything that integrates runs through dlogp-run. Steps:

  check   one Euler step of pf-ode-encode with the network: the score the runner used, recovered
          from the step, equals mixture_common.MLP's score (so the score errors below are those
          of the network dlogp-run runs);
  a       score error |s_theta - s|, |s_theta - s| / |s| and sigma^2 |s_theta - s|^2 (the
          epsilon error) against the exact score of p_t, on a log-SNR grid of t:
          (a1) forward-perturbed held-out patches and exact samples (x_t ~ p_t),
          (a2) the network's own reverse-SDE paths (x_t ~ q_t, from the recorded states of c);
  b       PF-ODE log p (pf-ode-encode, exact divergence) of held-out patches and of exact
          samples with the network and with the mixture itself (the solver's own error), against
          the exact log p_{t_min} and log p_0 of the same points;
  c       the augmented reverse SDE with the network: tracked log p against the PF-ODE log p of
          the same final samples (pf-ode-encode of them with the network) and against the exact
          log p_{t_min}; the same SDE with the exact mixture score (discretisation bias alone);
          the learned-score bias of docs/notation.md §3.6 predicted from (a).

Writes OUT/summary.json and OUT/summary.md (every number with its standard error and the
dlogp-run command that produced it); with --figures, two PNGs (needs matplotlib).
--quick: a few trajectories and coarse grids (a CI smoke test, a few seconds; numbers meaningless).
Exit status 1 when a check fails (a run that did not end ok, the runner/reader mismatch).
"""
import argparse
import json
import math
import os
import shlex
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import mixture_common as mc  # noqa: E402

MIXTURE = os.path.join(mc.DATA, "mixture.safetensors")
HELDOUT = os.path.join(mc.DATA, "heldout.npy")
PROCESS = {"type": "vp", "beta_min": mc.BETA_MIN, "beta_max": mc.BETA_MAX, "t_min": mc.T_MIN, "t_max": mc.T_MAX}

FULL = {"n_heldout": 256, "n_samples": 256, "ode_steps": 64, "sde_n": 256, "sde_steps": 2000, "record_every": 40,
        "grid_t": 24, "points_per_t": 256}
QUICK = {"n_heldout": 4, "n_samples": 4, "ode_steps": 8, "sde_n": 6, "sde_steps": 100, "record_every": 10,
         "grid_t": 6, "points_per_t": 16}


class Runner:
    def __init__(self, exe, threads, out):
        self.exe, self.threads, self.out = exe, threads, out
        self.commands = {}
        self.cpu = 0.0

    def run(self, name, spec):
        """Write OUT/name/spec.json, run it with --arrays, return the arrays and the document."""
        d = os.path.join(self.out, name)
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "spec.json")
        with open(path, "w") as f:
            json.dump(spec, f, indent=1)
        cmd = [self.exe, path, "--threads", str(self.threads), "--no-progress", "--arrays", os.path.join(d, "arrays"),
               "-o", os.path.join(d, "run.json")]
        self.commands[name] = " ".join(shlex.quote(os.path.relpath(c, ROOT) if os.path.isabs(c) and c.startswith(ROOT)
                                                   else c) for c in cmd)
        t0 = os.times()
        r = subprocess.run(cmd, capture_output=True, text=True)
        t1 = os.times()
        self.cpu += (t1.children_user - t0.children_user) + (t1.children_system - t0.children_system)
        if r.returncode not in (0, 3):
            sys.exit(f"dlogp-run failed on {name} (exit {r.returncode}):\n{r.stderr}")
        doc = json.load(open(os.path.join(d, "run.json")))
        a = {k: np.load(os.path.join(d, "arrays", f)) for k, f in
             [("x", "x.npy"), ("x_start", "x_start.npy"), ("logp", "logp.npy"), ("logp_exact", "logp_exact.npy"),
              ("status", "status.npy")]}
        tr = os.path.join(d, "arrays", "trajectory.npy")
        if os.path.exists(tr):
            a["trajectory"] = np.load(tr)
        bad = int(np.sum(a["status"] != 0))
        if bad:
            print(f"FAIL: {name}: {bad} of {len(a['status'])} trajectories did not end ok", file=sys.stderr)
        return a, doc, bad


def stats(v, per_dim=False):
    m, se = mc.mean_se(v)
    v = np.asarray(v, np.float64)
    out = {"mean": m, "se": se, "sd": float(np.std(v[np.isfinite(v)], ddof=1)) if np.sum(np.isfinite(v)) > 1 else
           float("nan"), "n": int(np.sum(np.isfinite(v)))}
    if per_dim:  # nats -> bits/dim of a log-density difference
        out["bpd_mean"], out["bpd_se"] = m / (mc.D * mc.LN2), se / (mc.D * mc.LN2)
    return out


def score_errors(mix, net, t, x):
    """Per point: |ds|^2, |ds| / |s|, sigma^2 |ds|^2 (= |eps_theta - eps*|^2), ds = s_theta - s."""
    s = mix.score(t, x)
    ds = net.score(t, x) - s
    sig = mc.alpha_sigma(np.broadcast_to(t, (x.shape[0],)))[1]
    sq = np.sum(ds * ds, axis=1)
    return sq, np.sqrt(sq / np.sum(s * s, axis=1)), sig * sig * sq


def bias_integral(lams, eps_mse):
    """(1/2) int g^2 E|s_theta - s|^2 dt = (1/2) int E[sigma^2 |ds|^2] d lambda (g^2 dt = sigma^2 |d lambda|,
    docs/notation.md §1), by the trapezoid rule on the given log-SNR nodes."""
    o = np.argsort(lams)
    l, e = np.asarray(lams)[o], np.asarray(eps_mse)[o]
    return float(0.5 * np.sum(0.5 * (e[1:] + e[:-1]) * np.diff(l)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runner", default=os.environ.get("DLOGP_RUN", os.path.join(ROOT, "build", "release", "examples",
                                                                                 "runner", "dlogp-run")))
    ap.add_argument("--weights", default=os.path.join(mc.DATA, "network.safetensors"))
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "patch_mixture", "learned"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--figures", default=None, help="folder for the PNGs (needs matplotlib)")
    args = ap.parse_args()
    P = QUICK if args.quick else FULL
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    runner = Runner(os.path.abspath(args.runner), args.threads, out)
    mix, net = mc.Mixture(MIXTURE), mc.MLP(args.weights)
    weights = os.path.abspath(args.weights)
    mlp = {"type": "mlp", "weights": weights}
    gmm = {"type": "gmm", "file": MIXTURE}
    failures = 0
    res = {"mode": "quick" if args.quick else "full", "parameters": P, "weights": os.path.relpath(weights, ROOT),
           "training": net.arch.get("training", {})}
    wall0 = time.time()

    # ---------------------------------------------------------------- inputs
    rng = np.random.default_rng(20261206)
    held = np.load(HELDOUT)[:P["n_heldout"]]
    samples = mix.sample(P["n_samples"], rng)
    np.save(os.path.join(out, "heldout.npy"), held)
    np.save(os.path.join(out, "samples.npy"), samples)

    # ---------------------------------------------------------------- check: runner's score = reader's score
    t0c, h = 0.3, 1e-3
    a, _, bad = runner.run("check", {"model": mlp, "process": PROCESS, "method": "pf-ode-encode",
                                     "x_start": {"file": os.path.join(out, "heldout.npy")}, "t_start": t0c,
                                     "t_end": t0c + h, "solver": {"scheme": "euler", "steps": 1}, "track_logp": False})
    failures += bad
    f = -0.5 * mc.beta(t0c)
    s_runner = (f * a["x_start"] - (a["x"] - a["x_start"]) / h) * 2 / mc.beta(t0c)  # PF-ODE v = f x - g^2 s / 2
    s_py = net.score(t0c, a["x_start"])
    rel = float(np.max(np.abs(s_runner - s_py)) / np.max(np.abs(s_py)))
    res["check_reader_vs_runner_max_rel"] = rel
    if not rel < 1e-6:
        print(f"FAIL: the runner's score and mixture_common.MLP's differ by {rel:.2e} (relative)", file=sys.stderr)
        failures += 1

    # ---------------------------------------------------------------- b: PF-ODE log p
    ode = {"scheme": "rk4", "steps": P["ode_steps"], "grid": "log-snr"}
    res["b"] = {}
    for name, pts in [("heldout", "heldout.npy"), ("samples", "samples.npy")]:
        xs = {"file": os.path.join(out, pts)}
        an, _, bad1 = runner.run(f"b-{name}-network", {"model": mlp, "process": PROCESS, "method": "pf-ode-encode",
                                                        "x_start": xs, "solver": ode, "divergence": {"type": "exact"}})
        ag, _, bad2 = runner.run(f"b-{name}-mixture", {"model": gmm, "process": PROCESS, "method": "pf-ode-encode",
                                                        "x_start": xs, "solver": ode, "divergence": {"type": "exact"}})
        failures += bad1 + bad2
        x = np.load(os.path.join(out, pts))
        exact_tmin = ag["logp_exact"]
        exact_0 = mix.log_density(0.0, x)
        res["b"][name] = {
            "exact_log_p_tmin": stats(exact_tmin), "exact_log_p_0": stats(exact_0),
            "exact_bpd_0": stats(mc.bits_per_dim(exact_0)),
            "network_bpd": stats(mc.bits_per_dim(an["logp"])),
            "network_minus_exact_tmin": stats(an["logp"] - exact_tmin, True),
            "network_minus_exact_0": stats(an["logp"] - exact_0, True),
            "exact_tmin_minus_exact_0": stats(exact_tmin - exact_0, True),
            "mixture_pf_ode_minus_exact_tmin": stats(ag["logp"] - exact_tmin, True),
            "commands": [runner.commands[f"b-{name}-network"], runner.commands[f"b-{name}-mixture"]]}
        # the error by quartile of the exact log p_tmin (where in the density range the network fails)
        order = np.argsort(exact_tmin)
        res["b"][name]["by_quartile_of_exact"] = [
            {"exact_log_p_tmin": stats(exact_tmin[q]), "network_minus_exact_tmin": stats(an["logp"][q] - exact_tmin[q])}
            for q in np.array_split(order, 4)]
        np.save(os.path.join(out, f"b-{name}.npy"), np.stack([an["logp"], ag["logp"], exact_tmin, exact_0]))

    # ---------------------------------------------------------------- c: augmented reverse SDE
    # At the full step count and at half of it: Euler-Maruyama's tracked log p has an O(h) mean
    # error (docs/notation.md §3.2), removed by Richardson extrapolation 2 gap(h/2) - gap(h).
    res["c"] = {"commands": []}
    for level, steps in [("half", P["sde_steps"] // 2), ("full", P["sde_steps"])]:
        sde = {"scheme": "euler-maruyama", "steps": steps, "grid": "log-snr"}
        rec = {"record": {"every": P["record_every"]}} if level == "full" else {}
        asn_l, _, bad1 = runner.run(f"c-sde-network-{level}", {"model": mlp, "process": PROCESS, "method": "reverse-sde",
                                                              "n": P["sde_n"], "seed": 7, "solver": sde, **rec})
        asg, _, bad2 = runner.run(f"c-sde-mixture-{level}", {"model": gmm, "process": PROCESS, "method": "reverse-sde",
                                                            "n": P["sde_n"], "seed": 7, "solver": sde})
        np.save(os.path.join(out, f"sde_samples_{level}.npy"), asn_l["x"])
        are, _, bad3 = runner.run(f"c-reencode-network-{level}", {
            "model": mlp, "process": PROCESS, "method": "pf-ode-encode",
            "x_start": {"file": os.path.join(out, f"sde_samples_{level}.npy")}, "solver": ode,
            "divergence": {"type": "exact"}})
        failures += bad1 + bad2 + bad3
        exact_sde = mix.log_density(mc.T_MIN, asn_l["x"])
        res["c"][level] = {
            "steps": steps,
            "sde_minus_pf_ode": stats(asn_l["logp"] - are["logp"], True),
            "sde_minus_exact_tmin": stats(asn_l["logp"] - exact_sde, True),
            "pf_ode_minus_exact_tmin": stats(are["logp"] - exact_sde, True),
            "mixture_sde_minus_exact_tmin": stats(asg["logp"] - asg["logp_exact"], True),
            "network_sde_exact_log_p_tmin": stats(exact_sde),
            "mixture_sde_exact_log_p_tmin": stats(asg["logp_exact"])}
        res["c"]["commands"] += [runner.commands[f"c-{k}-{level}"] for k in ("sde-network", "sde-mixture",
                                                                             "reencode-network")]
        if level == "full":
            asn = asn_l
    for key in ("sde_minus_pf_ode", "mixture_sde_minus_exact_tmin", "sde_minus_exact_tmin"):
        f_, h_ = res["c"]["full"][key], res["c"]["half"][key]
        # the two levels share x_T and noise seeds but not paths, so the SEs are combined as independent
        res["c"][f"richardson_{key}"] = {"mean": 2 * f_["mean"] - h_["mean"], "se": math.hypot(2 * f_["se"], h_["se"])}

    # ---------------------------------------------------------------- a: score error against the exact score
    lam_grid = np.linspace(mc.log_snr(mc.T_MAX), mc.log_snr(mc.T_MIN), P["grid_t"])
    t_grid = np.clip(mc.t_of_log_snr(lam_grid), mc.T_MIN, mc.T_MAX)
    m = P["points_per_t"]
    x0_held = np.load(HELDOUT)[:m]
    x0_samp = mix.sample(m, rng)
    rows = []
    for t, lam in zip(t_grid, lam_grid):
        al, sg = mc.alpha_sigma(t)
        row = {"t": float(t), "log_snr": float(lam)}
        for name, x0 in [("heldout", x0_held), ("samples", x0_samp)]:
            xt = al * x0 + sg * rng.standard_normal(x0.shape)
            sq, rel, eps = score_errors(mix, net, t, xt)
            row[name] = {"mse": stats(sq / mc.D), "rel": stats(rel), "eps_sq": stats(eps)}
        rows.append(row)
    # (a2) along the network's reverse-SDE paths: recorded states (t, logp, x)
    tr = asn["trajectory"]
    rows2, lam_path, eps_path = [], [], []
    for j in range(tr.shape[1]):
        t = tr[:, j, 0]
        ok = np.isfinite(t)
        if not np.any(ok) or not (t[ok][0] > 0):
            continue
        tj = float(t[ok][0])
        if not np.all(ok):
            continue  # per-path integrals below need every path at every node (all paths are ok)
        sq, rel, eps = score_errors(mix, net, tj, tr[ok, j, 2:])
        lam_path.append(float(mc.log_snr(tj)))
        eps_path.append(eps)
        rows2.append({"t": tj, "log_snr": float(mc.log_snr(tj)), "mse": stats(sq / mc.D), "rel": stats(rel),
                      "eps_sq": stats(eps)})
    res["a"] = {"forward_perturbed": rows, "network_sde_paths": rows2}

    def pred(lams, e, se):
        b = bias_integral(lams, e)
        # SE of a trapezoid sum of independent node means: weights (1/2) * (trapezoid weights)
        o = np.argsort(lams)
        l = np.asarray(lams)[o]
        w = np.zeros(len(l))
        w[1:] += 0.5 * np.diff(l)
        w[:-1] += 0.5 * np.diff(l)
        return {"nats": b, "se": float(0.5 * np.sqrt(np.sum((w * np.asarray(se)[o]) ** 2)))}

    res["c"]["predicted_bias"] = {
        "from_heldout_p_t": pred([r["log_snr"] for r in rows], [r["heldout"]["eps_sq"]["mean"] for r in rows],
                                 [r["heldout"]["eps_sq"]["se"] for r in rows]),
        "from_samples_p_t": pred([r["log_snr"] for r in rows], [r["samples"]["eps_sq"]["mean"] for r in rows],
                                 [r["samples"]["eps_sq"]["se"] for r in rows]),
        # the nodes of one path are correlated: the integral path by path, then mean and SE over paths
        "from_network_sde_paths_q_t_per_path": stats([bias_integral(lam_path, e) for e in np.array(eps_path).T]),
        "from_network_sde_paths_q_t": pred([r["log_snr"] for r in rows2], [r["eps_sq"]["mean"] for r in rows2],
                                           [r["eps_sq"]["se"] for r in rows2]),
        "log_snr_range": [float(mc.log_snr(mc.T_MAX)), float(mc.log_snr(mc.T_MIN))]}
    obs = res["c"]["full"]["sde_minus_pf_ode"]
    ctrl = res["c"]["full"]["mixture_sde_minus_exact_tmin"]
    res["c"]["observed_minus_discretisation"] = {"mean": obs["mean"] - ctrl["mean"],
                                                 "se": math.hypot(obs["se"], ctrl["se"])}
    res["runner_cpu_seconds"] = round(runner.cpu, 2)
    res["wall_seconds"] = round(time.time() - wall0, 1)
    res["commands"] = runner.commands
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(res, f, indent=1)
    write_markdown(res, os.path.join(out, "summary.md"), args)
    if args.figures:
        figures(res, out, args.figures)
    print(open(os.path.join(out, "summary.md")).read())
    if failures:
        sys.exit(f"{failures} check(s) failed")


def fmt(s, k="mean", digits=2):
    se = s.get({"mean": "se", "nats": "se"}.get(k, k.replace("mean", "se")), float("nan"))
    return f"{s[k]:.{digits}f} +- {se:.{digits}f}"


def write_markdown(r, path, args):
    L = [f"# Learned network on the patch mixture ({r['mode']})", "",
         f"weights: {r['weights']}; training: {json.dumps(r['training'])}", "",
         f"reader vs runner score, max relative difference: {r['check_reader_vs_runner_max_rel']:.1e}", "",
         "## b. PF-ODE log p (nats; difference also in bits/dim), mean +- SE (SD)", "",
         "| points | exact log p_0 | exact bits/dim | network - exact log p_tmin | (bits/dim) | SD | "
         "network - exact log p_0 | mixture PF-ODE - exact log p_tmin | exact log p_tmin - log p_0 |",
         "|---|---|---|---|---|---|---|---|---|"]
    for name, b in r["b"].items():
        d = b["network_minus_exact_tmin"]
        L.append(f"| {name} (n={d['n']}) | {fmt(b['exact_log_p_0'])} | {fmt(b['exact_bpd_0'], digits=3)} | {fmt(d)} | "
                 f"{fmt(d, 'bpd_mean', 4)} | {d['sd']:.2f} | {fmt(b['network_minus_exact_0'])} | "
                 f"{fmt(b['mixture_pf_ode_minus_exact_tmin'], digits=4)} | {fmt(b['exact_tmin_minus_exact_0'])} |")
    for name, b in r["b"].items():
        L.append(f"- {name}, network - exact log p_tmin by quartile of the exact value (lowest first): " + "; ".join(
            f"{q['exact_log_p_tmin']['mean']:.1f}: {fmt(q['network_minus_exact_tmin'])}" for q in b["by_quartile_of_exact"]))
    c = r["c"]
    p = c["predicted_bias"]
    L += ["", "## c. Augmented reverse SDE with the network (nats), mean +- SE", ""]
    for level in ("half", "full"):
        d = c[level]
        L += [f"Euler-Maruyama, {d['steps']} log-SNR steps:", "",
              f"- SDE tracked log p - PF-ODE log p of the same samples: {fmt(d['sde_minus_pf_ode'])} "
              f"(SD {d['sde_minus_pf_ode']['sd']:.2f}; {fmt(d['sde_minus_pf_ode'], 'bpd_mean', 4)} bits/dim)",
              f"- SDE tracked log p - exact log p_tmin: {fmt(d['sde_minus_exact_tmin'])}",
              f"- PF-ODE log p - exact log p_tmin (same samples): {fmt(d['pf_ode_minus_exact_tmin'])}",
              f"- discretisation alone (same SDE, exact mixture score): tracked - exact = "
              f"{fmt(d['mixture_sde_minus_exact_tmin'])}",
              f"- exact log p_tmin of the samples: network SDE {fmt(d['network_sde_exact_log_p_tmin'])}, "
              f"mixture SDE {fmt(d['mixture_sde_exact_log_p_tmin'])}", ""]
    L += [f"- Richardson (2 x full - half): SDE - PF-ODE {fmt(c['richardson_sde_minus_pf_ode'])}; "
          f"mixture tracked - exact {fmt(c['richardson_mixture_sde_minus_exact_tmin'])}; "
          f"network SDE - exact {fmt(c['richardson_sde_minus_exact_tmin'])}",
          f"- observed (full) minus discretisation (full): {fmt(c['observed_minus_discretisation'])}",
          f"- predicted bias (1/2) int g^2 E|s_theta - s|^2 dt: on p_t (held-out) {fmt(p['from_heldout_p_t'], 'nats')}, "
          f"on p_t (samples) {fmt(p['from_samples_p_t'], 'nats')}, on the network's SDE paths "
          f"{fmt(p['from_network_sde_paths_q_t'], 'nats')} (path by path: "
          f"{fmt(p['from_network_sde_paths_q_t_per_path'])}, SD {p['from_network_sde_paths_q_t_per_path']['sd']:.2f})",
          "", "## a. Score error against the exact score (forward-perturbed points; mean over points)", "",
          "| t | log-SNR | held-out rel. error | held-out MSE per dim | held-out sigma^2 |ds|^2 | samples rel. error | "
          "samples sigma^2 |ds|^2 |", "|---|---|---|---|---|---|---|"]
    for row in r["a"]["forward_perturbed"]:
        h, s = row["heldout"], row["samples"]
        L.append(f"| {row['t']:.4g} | {row['log_snr']:.2f} | {fmt(h['rel'], digits=4)} | {h['mse']['mean']:.4g} | "
                 f"{fmt(h['eps_sq'], digits=3)} | {fmt(s['rel'], digits=4)} | {fmt(s['eps_sq'], digits=3)} |")
    L += ["", "## Commands", ""] + [f"- {k}: `{v}`" for k, v in r["commands"].items()]
    L += ["", f"runner CPU {r['runner_cpu_seconds']} s, wall {r['wall_seconds']} s", ""]
    open(path, "w").write("\n".join(L))


def figures(r, out, folder):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(folder, exist_ok=True)
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.4))
    rows, rows2 = r["a"]["forward_perturbed"], r["a"]["network_sde_paths"]
    lam = [x["log_snr"] for x in rows]
    for name, st in [("heldout", "o-"), ("samples", "s--")]:
        ax[0].plot(lam, [x[name]["rel"]["mean"] for x in rows], st, ms=3, label=f"{name} + noise (p_t)")
        ax[1].semilogy(lam, [x[name]["eps_sq"]["mean"] for x in rows], st, ms=3, label=f"{name} + noise (p_t)")
    ax[0].plot([x["log_snr"] for x in rows2], [x["rel"]["mean"] for x in rows2], "^:", ms=3, label="network SDE paths (q_t)")
    ax[1].semilogy([x["log_snr"] for x in rows2], [x["eps_sq"]["mean"] for x in rows2], "^:", ms=3,
                   label="network SDE paths (q_t)")
    ax[0].set_xlabel("log-SNR  (t = 1 left, t = 1e-3 right)")
    ax[0].set_ylabel("|s_theta - s| / |s|")
    ax[1].set_xlabel("log-SNR")
    ax[1].set_ylabel("sigma^2 |s_theta - s|^2  (epsilon error)")
    ax[0].legend(fontsize=7)
    for a_ in ax:
        a_.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(folder, "learned_score_error.png"), dpi=80)
    plt.close(fig)

    fig, ax = plt.subplots(1, 2, figsize=(9, 3.4))
    for i, name in enumerate(["heldout", "samples"]):
        v = np.load(os.path.join(out, f"b-{name}.npy"))
        ax[i].plot(v[2], v[0], ".", ms=3, label="network PF-ODE")
        ax[i].plot(v[2], v[1], "x", ms=3, label="mixture PF-ODE")
        lo, hi = np.nanmin(v[2]), np.nanmax(v[2])
        ax[i].plot([lo, hi], [lo, hi], "k-", lw=0.5)
        ax[i].set_xlabel("exact log p_tmin (nats)")
        ax[i].set_ylabel("PF-ODE log p (nats)")
        ax[i].set_title(name, fontsize=9)
        ax[i].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(folder, "learned_logp_vs_exact.png"), dpi=80)
    plt.close(fig)


if __name__ == "__main__":
    main()
