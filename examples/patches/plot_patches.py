#!/usr/bin/python3
"""Figures and summary numbers of the patches example (python3-matplotlib, python3-pil, scipy).

    /usr/bin/python3 examples/patches/plot_patches.py [out_dir] [figure_dir]
    (defaults: build/patches/out docs/figures)

Reads out_dir/results.json and out_dir/samples.safetensors (written by the patches program),
computes PNG sizes (PIL, 8-bit greyscale, optimize=True) and the Spearman correlations, prints a
summary, writes it to out_dir/summary.json and out_dir/summary.md, and saves
figure_dir/patches_{logp_vs_png,blur,samples,sde_ode_elbo}.png.
"""
import io
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import patches_common as pc  # noqa: E402

D = pc.D
LN2 = math.log(2.0)


def png_size(u8):
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(u8, dtype=np.uint8), mode="L").save(buf, format="PNG", optimize=True)
    return len(buf.getvalue())


def quantise(x):
    """Model units back to grey levels: the inverse of x = (u + U) / 128 - 1."""
    return np.clip(np.floor((np.asarray(x, dtype=np.float64) + 1.0) * 128.0), 0, 255).astype(np.uint8)


def bpd(logp):
    return -(np.asarray(logp) + D * math.log(1.0 / 128.0)) / (D * LN2)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "build/patches/out"
    figs = sys.argv[2] if len(sys.argv) > 2 else "docs/figures"
    os.makedirs(figs, exist_ok=True)
    res = json.load(open(os.path.join(out, "results.json")))
    samples, _ = pc.read_tensors(os.path.join(out, "samples.safetensors"))
    here = os.path.dirname(os.path.abspath(__file__))
    test, _ = pc.read_tensors(os.path.join(here, "data", "test_patches.safetensors"))
    patches = test["patches"]
    summary = {}

    # ---- held-out patches: log p vs PNG size
    lp = np.array(res["test"]["log_p"])
    n = len(lp)
    sizes = np.array([png_size(p) for p in patches[:n]])
    rho, pval = spearmanr(-lp, sizes)
    summary["test"] = {"n": n, "log_p_mean": lp.mean(), "log_p_sd": lp.std(ddof=1), "bpd_mean": float(bpd(lp.mean())),
                       "png_mean": sizes.mean(), "spearman_neglogp_png": rho, "spearman_p": pval}
    # The Gaussian base alone, in closed form, on the same (dequantised) patches: what the
    # network adds to it. p_{t_min} of N(mu, U diag(lam) U^T) data is N(a mu, a^2 U diag(lam) U^T + s^2 I).
    wts, _ = pc.read_tensors(os.path.join(here, "data", "model.safetensors"))
    if "base.mean" in wts:
        tm = res["settings"]["t_min"]
        B = pc.BETA_MIN * tm + 0.5 * (pc.BETA_MAX - pc.BETA_MIN) * tm * tm
        a, s2 = math.exp(-0.5 * B), -math.expm1(-B)
        var = a * a * wts["base.eigvals"].astype(np.float64) + s2
        x = samples["test"].astype(np.float64)
        y = (x - a * wts["base.mean"].astype(np.float64)) @ wts["base.eigvecs"].astype(np.float64)
        lg = -0.5 * (y * y / var).sum(1) - 0.5 * np.log(2 * math.pi * var).sum()
        d = lp[:len(lg)] - lg
        summary["gaussian_base_only"] = {"n": len(lg), "log_p_mean": lg.mean(), "model_minus_gaussian_mean": d.mean(),
                                         "model_minus_gaussian_se": d.std(ddof=1) / math.sqrt(len(d)),
                                         "model_minus_gaussian_median": float(np.median(d))}
    summary["test"]["log_p_median"] = float(np.median(lp))
    summary["test"]["bpd_median"] = float(bpd(np.median(lp)))
    ch = res["checks"]
    ex = np.array(ch["log_p_exact"])
    summary["checks"] = {"n": ch["n"], "hutchinson_minus_exact_mean": ch["hutchinson_minus_exact"]["mean"],
                         "hutchinson_minus_exact_sd": ch["hutchinson_minus_exact"]["sd"],
                         "half_steps_max_abs": float(np.max(np.abs(np.array(ch["log_p_exact_half_steps"]) - ex)))}

    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1.1, 1]})
    ax[0].scatter(sizes, bpd(lp), s=8, alpha=0.6)
    ax[0].set_xlabel("PNG size of the patch (bytes)")
    ax[0].set_ylabel("-log p_0 (bits/dim)")
    ax[0].set_title(f"{n} held-out patches: Spearman(-log p, PNG) = {rho:.2f}")
    order = np.argsort(lp)
    m8 = min(8, n // 2)
    pick = np.concatenate([order[-m8:][::-1], order[:m8]])
    grid = np.ones((2 * 17 - 1, m8 * 17 - 1)) * 255
    for k, i in enumerate(pick):
        r, c = divmod(k, m8)
        grid[r * 17:r * 17 + 16, c * 17:c * 17 + 16] = patches[i]
    ax[1].imshow(grid, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    ax[1].set_title("top: highest log p; bottom: lowest log p")
    ax[1].axis("off")
    fig.tight_layout()
    fig.savefig(os.path.join(figs, "patches_logp_vs_png.png"), dpi=110)
    plt.close(fig)

    # ---- blur
    levels = res["blur"]["levels"]
    nb = res["blur"]["n"]
    sig = [l["sigma_px"] for l in levels]
    means = [l["log_p_stats"]["mean"] for l in levels]
    ses = [l["log_p_stats"]["se"] for l in levels]
    base = np.array(levels[0]["log_p"])
    diffs = [np.array(l["log_p"]) - base for l in levels]
    frac_up = [float(np.mean(d > 0)) for d in diffs]
    png_blur = []
    for l in levels:
        key = f"blur_{int(round(l['sigma_px'] * 10))}"
        png_blur.append(float(np.mean([png_size(quantise(x).reshape(16, 16)) for x in samples[key]])))
    summary["blur"] = [{"sigma_px": s, "log_p_mean": m, "log_p_se": e, "mean_change": float(d.mean()),
                        "se_change": float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else 0.0,
                        "fraction_increased": f, "png_mean_first8": p}
                       for s, m, e, d, f, p in zip(sig, means, ses, diffs, frac_up, png_blur)]
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.8))
    ax[0].errorbar(sig, [d.mean() for d in diffs], yerr=[d.std(ddof=1) / math.sqrt(len(d)) for d in diffs], marker="o")
    ax[0].axhline(0, color="gray", lw=0.5)
    ax[0].set_xlabel("Gaussian blur sigma (pixels)")
    ax[0].set_ylabel("log p_0(blurred) - log p_0(original) (nats)")
    ax[0].set_title(f"{nb} held-out patches (mean +- s.e.)")
    rows = [samples[f"blur_{int(round(s * 10))}"] for s in sig]
    nc = min(8, len(rows[0]))
    grid = np.ones((len(rows) * 17 - 1, nc * 17 - 1)) * 255
    for r, row in enumerate(rows):
        for c in range(nc):
            grid[r * 17:r * 17 + 16, c * 17:c * 17 + 16] = quantise(row[c]).reshape(16, 16)
    ax[1].imshow(grid, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    ax[1].set_yticks([r * 17 + 8 for r in range(len(rows))], [f"{s:g} px" for s in sig])
    ax[1].set_xticks([])
    ax[1].set_title("rows: blur sigma")
    fig.tight_layout()
    fig.savefig(os.path.join(figs, "patches_blur.png"), dpi=110)
    plt.close(fig)

    # ---- samples
    S = res["samples"]
    methods = [("held-out data", "test", None, None),
               ("reverse SDE", "sde", S["sde"]["log_p_encoded"], S["sde"]["log_p_tracked"]),
               ("PF-ODE", "ode", S["ode"]["log_p_encoded"], S["ode"]["log_p_tracked"])]
    for h in S["hd"]:
        methods.append((f"HD t_thr={h['t_threshold']:g}", f"hd_{int(round(h['t_threshold'] * 100))}",
                        h["log_p_encoded"], h["log_p_tracked"]))
    summary["samples"] = []
    fig, ax = plt.subplots(figsize=(10, 0.75 * len(methods) + 0.6))
    nc = min(12, len(samples["sde"]))
    grid = np.ones((len(methods) * 17 - 1, nc * 17 - 1)) * 255
    labels = []
    for r, (name, key, enc, tracked) in enumerate(methods):
        u8 = np.stack([quantise(x).reshape(16, 16) for x in samples[key]])
        png = np.array([png_size(p) for p in u8])
        for c in range(nc):
            grid[r * 17:r * 17 + 16, c * 17:c * 17 + 16] = u8[c]
        if enc is None:
            e = lp[:len(u8)]
            labels.append(f"{name}\nlog p {e.mean():.0f}, PNG {png.mean():.0f} B")
            summary["samples"].append({"method": name, "n": len(u8), "log_p_mean": float(e.mean()),
                                       "png_mean": float(png.mean())})
            continue
        enc = np.array(enc)
        labels.append(f"{name}\nlog p {enc.mean():.0f}, PNG {png.mean():.0f} B")
        r_png = spearmanr(-enc, png)[0]
        summary["samples"].append({"method": name, "n": len(enc), "log_p_mean": float(enc.mean()),
                                   "log_p_se": float(enc.std(ddof=1) / math.sqrt(len(enc))),
                                   "log_p_tracked_mean": float(np.mean(tracked)), "bpd_mean": float(bpd(enc.mean())),
                                   "png_mean": float(png.mean()), "spearman_neglogp_png": float(r_png)})
    ax.imshow(grid, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    ax.set_yticks([r * 17 + 8 for r in range(len(methods))], labels, fontsize=8)
    ax.set_xticks([])
    ax.set_title(f"samples (same x_T in every row but the first); log p = PF-ODE encoding, mean over {len(samples['sde'])}")
    fig.tight_layout()
    fig.savefig(os.path.join(figs, "patches_samples.png"), dpi=110)
    plt.close(fig)

    # ---- SDE estimate vs ODE encoding vs ELBO on the same SDE samples
    sde, ode, elbo = (np.array(S["sde"][k]) for k in ("log_p_tracked", "log_p_encoded", "elbo"))
    summary["sde_ode_elbo"] = {"n": len(sde), "sde_mean": sde.mean(), "ode_mean": ode.mean(), "elbo_mean": elbo.mean(),
                               "sde_minus_ode": S["sde"]["sde_minus_ode"], "ode_minus_elbo": S["sde"]["ode_minus_elbo"],
                               "fraction_sde_ge_ode": float(np.mean(sde >= ode)),
                               "fraction_ode_ge_elbo": float(np.mean(ode >= elbo)),
                               "elbo_paths": S["sde"]["elbo_paths"]}
    fig, ax = plt.subplots(figsize=(6, 4.2))
    o = np.argsort(ode)
    x = np.arange(len(o))
    ax.plot(x, sde[o], ".", label="augmented reverse SDE (Thm 1)")
    ax.plot(x, ode[o], ".", label="PF-ODE encoding")
    ax.plot(x, elbo[o], ".", label=f"forward ELBO ({S['sde']['elbo_paths']} paths)")
    ax.set_xlabel("SDE sample (sorted by PF-ODE log p)")
    ax.set_ylabel("log p_0 (nats)")
    ax.legend(fontsize=8)
    ax.set_title("same reverse-SDE samples, three estimates")
    fig.tight_layout()
    fig.savefig(os.path.join(figs, "patches_sde_ode_elbo.png"), dpi=110)
    plt.close(fig)

    # ---- print and save
    def f(v):
        return float(v) if isinstance(v, (np.floating, np.integer)) else v

    json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=1, default=f)
    t = summary["test"]
    lines = [f"held-out: n = {t['n']}, log p_0 = {t['log_p_mean']:.1f} nats (sd {t['log_p_sd']:.1f}), "
             f"{t['bpd_mean']:.3f} bits/dim; Spearman(-log p, PNG size) = {t['spearman_neglogp_png']:.3f} "
             f"(p = {t['spearman_p']:.1e})",
             f"median log p_0 = {t['log_p_median']:.1f} nats ({t['bpd_median']:.3f} bits/dim)",
             f"hutchinson(16) - exact on {summary['checks']['n']}: {summary['checks']['hutchinson_minus_exact_mean']:.2f} "
             f"+- {summary['checks']['hutchinson_minus_exact_sd']:.2f} (sd) nats; half steps: max |diff| "
             f"{summary['checks']['half_steps_max_abs']:.3f} nats",
             "blur sigma (px) | mean log p change (nats) +- se | fraction increased | mean PNG (8 shown)"]
    for b in summary["blur"]:
        lines.append(f"{b['sigma_px']:g} | {b['mean_change']:+.1f} +- {b['se_change']:.1f} | {b['fraction_increased']:.2f} | "
                     f"{b['png_mean_first8']:.0f}")
    if "gaussian_base_only" in summary:
        g = summary["gaussian_base_only"]
        lines.append(f"Gaussian base alone (closed form) on the first {g['n']}: {g['log_p_mean']:.1f} nats; model - Gaussian = "
                     f"{g['model_minus_gaussian_mean']:+.2f} +- {g['model_minus_gaussian_se']:.2f} (se), median "
                     f"{g['model_minus_gaussian_median']:+.2f}")
    lines.append("method | log p (PF-ODE encoding, nats) | bits/dim | tracked log p | PNG bytes | Spearman(-log p, PNG)")
    for m in summary["samples"]:
        if "log_p_se" in m:
            lines.append(f"{m['method']} | {m['log_p_mean']:.1f} +- {m['log_p_se']:.1f} | {m['bpd_mean']:.2f} | "
                         f"{m['log_p_tracked_mean']:.1f} | {m['png_mean']:.1f} | {m['spearman_neglogp_png']:.2f}")
        else:
            lines.append(f"{m['method']} | {m['log_p_mean']:.1f} | {bpd(m['log_p_mean']):.2f} | - | {m['png_mean']:.1f} | -")
    s = summary["sde_ode_elbo"]
    lines.append(f"SDE samples (n = {s['n']}): augmented SDE {s['sde_mean']:.1f}, PF-ODE {s['ode_mean']:.1f}, "
                 f"ELBO {s['elbo_mean']:.1f}; SDE >= ODE for {s['fraction_sde_ge_ode']:.2f}, ODE >= ELBO for "
                 f"{s['fraction_ode_ge_elbo']:.2f} of the samples")
    text = "\n".join(lines)
    print(text)
    open(os.path.join(out, "summary.md"), "w").write(text + "\n")


if __name__ == "__main__":
    main()
