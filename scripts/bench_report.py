#!/usr/bin/env python3
"""Writes docs/performance.md and its SVG charts from the measurements scripts/bench_report.sh took in one run.

Inputs: the FMA probe's lines, Google Benchmark JSON from bench_gemm and bench_conv, and the CSV of
scripts/bench_training.sh. Nothing is measured here; every ratio compares two figures of the same run.
"""
import argparse
import csv
import json
import re
from pathlib import Path

# Training FLOPs per image, counted from the example models: 2 FLOPs per multiply-add, forward + input
# gradient + weight gradient for every layer except the first, whose input (the image) takes no gradient.
# MLP 784-128-10: (2 * 100,352 + 3 * 1,280) MACs. CNN conv 1->32 3x3 on 28x28 + dense 5408->10:
# (2 * 194,688 + 3 * 54,080). CIFAR conv 3->32 + conv 32->64 (3x3, same) + dense 4096->512->10:
# (2 * 884,736 + 3 * (4,718,592 + 2,097,152 + 5,120)).
FLOPS_PER_IMAGE = {
    "mlp": 2 * (2 * 100_352 + 3 * 1_280),
    "cnn": 2 * (2 * 194_688 + 3 * 54_080),
    "cifar": 2 * (2 * 884_736 + 3 * (4_718_592 + 2_097_152 + 5_120)),
}
MODEL_TITLES = {"mlp": "MNIST MLP", "cnn": "MNIST CNN", "cifar": "CIFAR-10 CNN"}
COLORS = {"xgrad": "#d9480f", "OpenBLAS": "#1971c2", "LibTorch": "#2f9e44", "peak": "#868e96"}
LIGHT = {"xgrad": "#ffa94d", "LibTorch": "#8ce99a"}  # the 2-thread bars


def read_fma(path):
    peak = {}
    for line in Path(path).read_text().splitlines():
        m = re.search(r"threads=(\d+) value=([0-9.]+)", line)
        if m:
            peak[int(m.group(1))] = float(m.group(2))
    return peak


def bench_rows(path):
    """Median aggregates of a Google Benchmark JSON file: {name: {"time_ms":..., "gflops":...}}."""
    data = json.loads(Path(path).read_text())
    rows = {}
    for b in data["benchmarks"]:
        if b.get("aggregate_name", "median") != "median":
            continue
        name = b.get("run_name", b["name"]).replace("/real_time", "")
        scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b.get("time_unit", "ns")]
        rows[name] = {"time_ms": b["real_time"] * scale, "gflops": b.get("FLOPS", 0.0) / 1e9}
    return rows


def args_of(name):
    return {k: int(v) for k, v in re.findall(r"(\w+):(\d+)", name)}


# --- SVG ---------------------------------------------------------------------------------------------


class Svg:
    def __init__(self, width, height):
        self.w, self.h, self.parts = width, height, []

    def add(self, s):
        self.parts.append(s)

    def text(self, x, y, s, anchor="middle", size=12, weight="normal", rotate=None):
        tr = f' transform="rotate({rotate} {x:.1f} {y:.1f})"' if rotate else ""
        s = s.replace("&", "&amp;").replace("<", "&lt;")
        self.add(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
                 f'font-weight="{weight}"{tr}>{s}</text>')

    def save(self, path):
        body = "\n".join(self.parts)
        Path(path).write_text(
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.w}" height="{self.h}" '
            f'viewBox="0 0 {self.w} {self.h}" font-family="sans-serif">\n'
            f'<rect width="100%" height="100%" fill="white"/>\n{body}\n</svg>\n')


def nice_max(v):
    for e in range(-3, 7):
        for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8):
            top = step * 10**e
            if top >= v:
                return top
    return v


def line_chart(path, title, xlabel, ylabel, series, xs, log_x=False, hlines=()):
    """series: [(label, color, dashed, {x: y})]; hlines: [(label, color, y)]."""
    import math
    W, H, L, R, T, B = 640, 380, 70, 170, 40, 50
    svg = Svg(W, H)
    svg.text(W / 2 - (R - L) / 2, 22, title, size=15, weight="bold")
    ys = [y for _, _, _, pts in series for y in pts.values()] + [y for _, _, y in hlines]
    ymax = nice_max(max(ys) * 1.05 if ys else 1.0)
    fx = (lambda x: math.log(x)) if log_x else (lambda x: x)
    x0, x1 = fx(min(xs)), fx(max(xs))
    px = lambda x: L + (fx(x) - x0) / ((x1 - x0) or 1) * (W - L - R)
    py = lambda y: H - B - y / ymax * (H - T - B)
    svg.add(f'<line x1="{L}" y1="{H-B}" x2="{W-R}" y2="{H-B}" stroke="black"/>')
    svg.add(f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H-B}" stroke="black"/>')
    for i in range(6):
        y = ymax * i / 5
        svg.add(f'<line x1="{L}" y1="{py(y):.1f}" x2="{W-R}" y2="{py(y):.1f}" stroke="#e9ecef"/>')
        svg.text(L - 6, py(y) + 4, f"{y:g}", anchor="end", size=11)
    for x in xs:
        svg.text(px(x), H - B + 16, f"{x:g}", size=11)
    svg.text((L + W - R) / 2, H - 12, xlabel)
    svg.text(18, (T + H - B) / 2, ylabel, rotate=-90)
    legend_y = T + 8
    for label, color, y in hlines:
        svg.add(f'<line x1="{L}" y1="{py(y):.1f}" x2="{W-R}" y2="{py(y):.1f}" stroke="{color}" '
                f'stroke-dasharray="2,3"/>')
        svg.add(f'<line x1="{W-R+10}" y1="{legend_y}" x2="{W-R+30}" y2="{legend_y}" stroke="{color}" '
                f'stroke-dasharray="2,3"/>')
        svg.text(W - R + 35, legend_y + 4, label, anchor="start", size=11)
        legend_y += 18
    for label, color, dashed, pts in series:
        if not pts:
            continue
        dash = ' stroke-dasharray="6,4"' if dashed else ""
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in sorted(pts.items()))
        svg.add(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
        for x, y in pts.items():
            svg.add(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{color}"/>')
        svg.add(f'<line x1="{W-R+10}" y1="{legend_y}" x2="{W-R+30}" y2="{legend_y}" stroke="{color}" '
                f'stroke-width="2"{dash}/>')
        svg.text(W - R + 35, legend_y + 4, label, anchor="start", size=11)
        legend_y += 18
    svg.save(path)


def bar_panels(path, title, panels):
    """panels: [(panel title, [(bar label, color, value)])], each panel on its own scale (seconds)."""
    pw, H, T, B = 260, 330, 50, 60
    W = pw * len(panels) + 20
    svg = Svg(W, H)
    svg.text(W / 2, 22, title, size=15, weight="bold")
    for i, (ptitle, bars) in enumerate(panels):
        left = 20 + i * pw + 35
        width = pw - 55
        ymax = nice_max(max(v for _, _, v in bars) * 1.1)
        svg.text(left + width / 2, T - 8, ptitle, size=12, weight="bold")
        svg.add(f'<line x1="{left}" y1="{H-B}" x2="{left+width}" y2="{H-B}" stroke="black"/>')
        svg.add(f'<line x1="{left}" y1="{T}" x2="{left}" y2="{H-B}" stroke="black"/>')
        for k in range(5):
            y = ymax * k / 4
            yy = H - B - y / ymax * (H - T - B)
            svg.text(left - 4, yy + 4, f"{y:g}", anchor="end", size=10)
        bw = width / (len(bars) + 1)
        for j, (label, color, v) in enumerate(bars):
            x = left + bw * (j + 0.5)
            h = v / ymax * (H - T - B)
            svg.add(f'<rect x="{x:.1f}" y="{H-B-h:.1f}" width="{bw*0.8:.1f}" height="{h:.1f}" fill="{color}"/>')
            svg.text(x + bw * 0.4, H - B - h - 4, f"{v:.2f}", size=10)
            svg.text(x + bw * 0.4, H - B + 14, label.split()[0], size=10)
            svg.text(x + bw * 0.4, H - B + 27, " ".join(label.split()[1:]), size=10)
    svg.text(W / 2, H - 8, "seconds per epoch (lower is better)", size=11)
    svg.save(path)


# --- report ------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--fma", required=True)
    ap.add_argument("--gemm", required=True)
    ap.add_argument("--conv", required=True)
    ap.add_argument("--training", required=True)
    ap.add_argument("--machine", default="")
    ap.add_argument("--out-dir", default="docs")
    a = ap.parse_args()
    out = Path(a.out_dir)
    peak = read_fma(a.fma)
    gemm = bench_rows(a.gemm)
    conv = bench_rows(a.conv)
    training = list(csv.DictReader(open(a.training)))

    md = ["# Performance", "",
          "Generated by `scripts/bench_report.sh` in one run on one machine: every ratio below compares two",
          "figures measured minutes apart on the same machine, never across runs. Peers: LibTorch 1.13",
          "(Debian `libtorch-dev`, oneDNN convolutions) and OpenBLAS with its AVX-512 kernels.", ""]
    if a.machine:
        md += [f"Machine: {a.machine}", ""]
    md += ["**Peak** is the float32 FMA throughput that `bench/fma_probe` measured in the same run (independent",
           "vector FMA chains on every thread): " +
           ", ".join(f"{peak[t]:.0f} GFLOP/s on {t} thread{'s' if t > 1 else ''}" for t in sorted(peak)) + ".", ""]

    # Training epochs.
    md += ["## Training: one epoch, batch 32", "",
           "The examples (`Model::fit`) against the same models, data and optimiser written in LibTorch",
           "(`bench/train_torch.cpp`); fastest of the repeats, the two alternating. MNIST epochs are 60,000",
           "images, CIFAR-10 epochs the first 10,000 training images. Share of peak counts the model's",
           "training FLOPs (`scripts/bench_report.py` lists them) against the FMA peak at the same thread count.",
           "",
           "| model | threads | xgrad s | LibTorch s | xgrad img/s | LibTorch img/s | xgrad / LibTorch time "
           "| xgrad share of peak | xgrad MiB | LibTorch MiB |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    by_model = {}
    for r in training:
        m, t = r["model"], int(r["threads"])
        xs, ts = float(r["xgrad_seconds"]), float(r["torch_seconds"])
        xr = float(r["xgrad_images_per_second"])
        share = FLOPS_PER_IMAGE[m] * xr / (peak.get(t, 0) * 1e9) if peak.get(t) else 0
        by_model.setdefault(m, {})[t] = (xs, ts)
        md.append(f"| {MODEL_TITLES[m]} | {t} | {xs:.3f} | {ts:.3f} | {xr:,.0f} | "
                  f"{float(r['torch_images_per_second']):,.0f} | {xs / ts:.2f}× | {share:.0%} | "
                  f"{r['xgrad_mib']} | {r['torch_mib']} |")
    md += [""]
    speedups = []
    for m, d in by_model.items():
        if 1 in d and 2 in d:
            speedups.append(f"{MODEL_TITLES[m]} {d[1][0] / d[2][0]:.2f}× (LibTorch {d[1][1] / d[2][1]:.2f}×)")
    if speedups:
        md += ["Two threads over one: " + "; ".join(speedups) + ".", ""]
    panels = []
    for m, d in by_model.items():
        bars = []
        for t in sorted(d):
            bars.append((f"xgrad {t}t", COLORS["xgrad"] if t == 1 else LIGHT["xgrad"], d[t][0]))
        for t in sorted(d):
            bars.append((f"LibTorch {t}t", COLORS["LibTorch"] if t == 1 else LIGHT["LibTorch"], d[t][1]))
        panels.append((MODEL_TITLES[m], bars))
    if panels:
        bar_panels(out / "perf_epochs.svg", "Epoch time against thread count", panels)
        md += ["![Epoch time against thread count](perf_epochs.svg)", ""]

    # GEMM.
    md += ["## GEMM", "",
           "Square float32 `C = A·B` (`bench/bench_gemm`), median of the repetitions, GFLOP/s.", "",
           "| n | threads | xgrad | OpenBLAS | LibTorch | xgrad / OpenBLAS | xgrad share of peak |",
           "|---|---|---|---|---|---|---|"]
    series = {}
    ns = set()
    for name, r in gemm.items():
        lib = ("xgrad" if "xgrad_sgemm" in name else "OpenBLAS" if "openblas" in name
               else "LibTorch" if "torch_mm" in name else None)
        if lib is None:
            continue
        g = args_of(name)
        series.setdefault((lib, g["threads"]), {})[g["n"]] = r["gflops"]
        ns.add(g["n"])
    for t in sorted({t for _, t in series}):
        for n in sorted(ns):
            x = series.get(("xgrad", t), {}).get(n)
            o = series.get(("OpenBLAS", t), {}).get(n)
            p = series.get(("LibTorch", t), {}).get(n)
            fmt = lambda v: f"{v:.0f}" if v else "–"
            ratio = f"{x / o:.2f}×" if x and o else "–"
            share = f"{x / peak[t]:.0%}" if x and peak.get(t) else "–"
            md.append(f"| {n} | {t} | {fmt(x)} | {fmt(o)} | {fmt(p)} | {ratio} | {share} |")
    md += [""]
    if ns:
        lines = [(f"{lib} {t}t", COLORS[lib], t > 1, pts) for (lib, t), pts in sorted(series.items())]
        hl = [(f"peak {t}t", COLORS["peak"], peak[t]) for t in sorted(peak)]
        line_chart(out / "perf_gemm.svg", "float32 GEMM throughput", "n (square matrices)", "GFLOP/s", lines,
                   sorted(ns), log_x=True, hlines=hl)
        md += ["![GEMM GFLOP/s against n](perf_gemm.svg)", ""]

    # Convolution.
    md += ["## Convolution", "",
           "`bench/bench_conv`: the CIFAR-10 example's layers, 3×3, padding 1. Layer 1: 3→32 channels, 32×32",
           "(the image takes no gradient). Layer 2: 32→64, 16×16, the input takes a gradient. Median ms per",
           "call; forward + backward is one forward and the full backward.", "",
           "| layer | pass | batch | threads | xgrad ms | LibTorch ms | xgrad / LibTorch time | xgrad GFLOP/s |",
           "|---|---|---|---|---|---|---|---|"]
    conv_series = {}
    batches = set()
    for name, r in conv.items():
        if "xgrad" not in name:
            continue
        g = args_of(name)
        peer = conv.get(name.replace("xgrad", "torch"))
        pt = peer["time_ms"] if peer else None
        if g["batch"] == 32:
            md.append(f"| {g['layer']} | {'fwd+bwd' if g['backward'] else 'fwd'} | 32 | {g['threads']} | "
                      f"{r['time_ms']:.2f} | {pt:.2f} | {r['time_ms'] / pt:.2f}× | {r['gflops']:.0f} |"
                      if pt else
                      f"| {g['layer']} | {'fwd+bwd' if g['backward'] else 'fwd'} | 32 | {g['threads']} | "
                      f"{r['time_ms']:.2f} | – | – | {r['gflops']:.0f} |")
        if g["layer"] == 2 and g["backward"]:
            batches.add(g["batch"])
            conv_series.setdefault(("xgrad", g["threads"]), {})[g["batch"]] = r["time_ms"] / g["batch"]
            if pt:
                conv_series.setdefault(("LibTorch", g["threads"]), {})[g["batch"]] = pt / g["batch"]
    md += [""]
    if batches:
        lines = [(f"{lib} {t}t", COLORS[lib], t > 1, pts) for (lib, t), pts in sorted(conv_series.items())]
        line_chart(out / "perf_conv.svg", "conv2d 32→64, 16×16, forward + backward", "batch size", "ms per image",
                   lines, sorted(batches), log_x=True)
        md += ["![conv2d time against batch size](perf_conv.svg)", ""]
    md += ["Where the time goes in each workload, and what the machine allows at best: "
           "[performance_profile.md](performance_profile.md) (written by hand from profiles, dated).", ""]
    md += ["## Reproduce", "", "```sh", "bash scripts/bench_report.sh          # about 10 minutes; rewrites this page",
           "```", "", "On a quiet machine: two cores are easily disturbed by a build or a browser.", ""]
    (out / "performance.md").write_text("\n".join(md))


if __name__ == "__main__":
    main()
