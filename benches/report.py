#!/usr/bin/env python3
"""Turns criterion's saved baselines into the markdown tables of docs/performance.md.

    python3 benches/report.py [--dir target/criterion] BASELINE [BASELINE ...]

For every benchmark it takes criterion's median time per iteration in each baseline (one
baseline per run, saved with `-- --save-baseline NAME`) and reports the median across runs,
as throughput, next to the ratios against the peers. A ratio is the median over runs of the
ratio within each run (wsproto and its peer measured minutes apart in the same process), so that
drift between runs cancels. Standard library only.
"""

import argparse
import json
import os
import statistics


def load(root, baselines):
    """{(group, function, param): {"tp": (kind, n), "runs": {baseline: median_ns}}}"""
    out = {}
    for dirpath, _, files in os.walk(root):
        if "estimates.json" not in files:
            continue
        rel = os.path.relpath(dirpath, root).split(os.sep)
        if len(rel) != 4 or rel[3] not in baselines:
            continue
        group, func, param, base = rel
        with open(os.path.join(dirpath, "estimates.json")) as f:
            median = json.load(f)["median"]["point_estimate"]
        tp = None
        bench = os.path.join(dirpath, "benchmark.json")
        if os.path.exists(bench):
            with open(bench) as f:
                t = json.load(f).get("throughput")
            if t:
                (kind, n), = t.items()
                tp = (kind, n)
        entry = out.setdefault((group, func, param), {"tp": tp, "runs": {}})
        entry["runs"][base] = median
        entry["tp"] = entry["tp"] or tp
    return out


def rate(entry):
    """Median across runs of the per-run rate: (value, unit, spread) or None."""
    if not entry or not entry["runs"]:
        return None
    kind, n = entry["tp"] or ("", 1)
    rates = [n / (ns * 1e-9) for ns in entry["runs"].values()]
    med = statistics.median(rates)
    spread = (max(rates) - min(rates)) / med if len(rates) > 1 else 0.0
    if kind == "Elements":
        return med / 1e6, "M frames/s", spread, entry
    return med / 1e9, "GB/s", spread, entry


def fmt(r):
    if r is None:
        return "–"
    v, _, spread, _ = r
    s = f"{v:.3g}" if v < 10 else f"{v:.1f}"
    return s + (f" (±{spread * 50:.0f}%)" if spread >= 0.1 else "")


def ratio(a, b):
    """The median over runs of the same-run ratio of two rates, so that drift between runs cancels.

    `a` and `b` are (rate, unit, spread, entry) tuples from `rate`."""
    if a is None or b is None:
        return "–"
    ea, eb = a[3], b[3]
    common = sorted(set(ea["runs"]) & set(eb["runs"]))
    if not common:
        return "–"
    na, nb = ea["tp"][1] if ea["tp"] else 1, eb["tp"][1] if eb["tp"] else 1
    ratios = [(na / ea["runs"][r]) / (nb / eb["runs"][r]) for r in common]
    return f"{statistics.median(ratios):.2f}×"


def frames(data, runs):
    peers = ["tungstenite", "fastwebsockets", "tokio-websockets"]
    for group, title in [("decode_ascii", "Decode, ASCII text"), ("decode_utf8", "Decode, multi-byte UTF-8 text")]:
        params = sorted({p for (g, _, p) in data if g == group}, key=size_key)
        if not params:
            continue
        print(f"\n#### {title} (median of {runs} runs)\n")
        print("| size | unit | wsproto | wsproto-64k-reads | tungstenite | fastwebsockets | tokio-websockets "
              "| wsproto / best peer | wsproto / tokio-websockets | wsproto / tungstenite |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for p in params:
            r = {f: rate(data.get((group, f, p))) for f in ["wsproto", "wsproto-64k-reads"] + peers}
            best = max((r[f] for f in peers if r[f]), key=lambda x: x[0], default=None)
            unit = r["wsproto"][1] if r["wsproto"] else ""
            print(f"| {p} | {unit} | {fmt(r['wsproto'])} | {fmt(r['wsproto-64k-reads'])} | "
                  + " | ".join(fmt(r[f]) for f in peers)
                  + f" | {ratio(r['wsproto'], best)} | {ratio(r['wsproto'], r['tokio-websockets'])} | {ratio(r['wsproto'], r['tungstenite'])} |")
    params = sorted({p for (g, _, p) in data if g == "encode"}, key=size_key)
    if params:
        libs = ["wsproto", "wsproto-send-bytes"] + peers
        print(f"\n#### Encode, unmasked server text frames (median of {runs} runs)\n")
        print("| size | unit | " + " | ".join(libs) + " | send_text / best copying peer | send(Bytes) / tokio-websockets |")
        print("|---|---|" + "---|" * len(libs) + "---|---|")
        for p in params:
            r = {f: rate(data.get(("encode", f, p))) for f in libs}
            # tungstenite and fastwebsockets copy the payload into a buffer, as send_text does;
            # tokio-websockets queues the Bytes and writes vectored, as send(Message) does.
            best_copy = max((r[f] for f in ["tungstenite", "fastwebsockets"] if r[f]), key=lambda x: x[0], default=None)
            unit = r["wsproto"][1] if r["wsproto"] else ""
            print(f"| {p} | {unit} | " + " | ".join(fmt(r[f]) for f in libs)
                  + f" | {ratio(r['wsproto'], best_copy)} | {ratio(r['wsproto-send-bytes'], r['tokio-websockets'])} |")


def mask(data, runs):
    params = sorted({p for (g, _, p) in data if g == "mask"}, key=size_key)
    if not params:
        return
    libs = ["wsproto", "avx2-intrinsics", "u32-words", "naive", "memcpy"]
    print(f"\n#### Unmask, GB/s (median of {runs} runs)\n")
    print("| size | " + " | ".join(libs) + " | wsproto / AVX2 | wsproto / memcpy |")
    print("|---|" + "---|" * len(libs) + "---|---|")
    for p in params:
        r = {f: rate(data.get(("mask", f, p))) for f in libs}
        print(f"| {p} | " + " | ".join(fmt(r[f]) for f in libs) + f" | {ratio(r['wsproto'], r['avx2-intrinsics'])} | {ratio(r['wsproto'], r['memcpy'])} |")


def deflate(data, runs):
    for group in ["compress", "inflate"]:
        params = sorted({p for (g, _, p) in data if g == group}, key=lambda p: (size_key(p.split("-")[0]), p))
        if not params:
            continue
        print(f"\n#### {group.capitalize()}, MB/s of uncompressed JSON (median of {runs} runs)\n")
        print("| case | backend | raw | wsproto extension | connection | µs/msg raw | µs/msg ext | ext / raw time (median of per-run ratios) | ≤ 10%? |")
        print("|---|---|---|---|---|---|---|---|---|")
        for p in params:
            for b in ["miniz", "zlib-rs"]:
                raw, ext, conn = (data.get((group, f"{b}-{m}", p)) for m in ["raw", "ext", "conn"])
                rr, re_, rc = rate(raw), rate(ext), rate(conn)
                if not (raw and ext):
                    continue
                t_raw = statistics.median(raw["runs"].values()) / 1e3
                t_ext = statistics.median(ext["runs"].values()) / 1e3
                common = sorted(set(raw["runs"]) & set(ext["runs"]))
                over = statistics.median(ext["runs"][r] / raw["runs"][r] for r in common)
                mb = lambda x: "–" if x is None else f"{x[0] * 1e3:.0f}"
                print(f"| {p} | {b} | {mb(rr)} | {mb(re_)} | {mb(rc)} | {t_raw:.2f} | {t_ext:.2f} | {over:.3f} | {'yes' if over <= 1.10 else 'no'} |")


def adapters(data, runs):
    """The goal table of the adapters bench: each target against the peer it names."""
    rows = [
        # (group, ours, peers compared, {size: target ratio})
        ("encode_feed", "wsproto-tokio", ["fastwebsockets", "tokio-websockets", "tokio-tungstenite"],
         {"16B": 1.5, "128B": 1.5, "1KiB": 1.5, "64KiB": 1.0, "1MiB": 1.0}),
        ("encode_send", "wsproto-tokio", ["fastwebsockets", "tokio-websockets", "tokio-tungstenite"],
         {"16B": 1.5, "128B": 1.5, "1KiB": 1.5, "64KiB": 1.0, "1MiB": 1.0}),
        ("decode", "wsproto-tokio", ["tungstenite"], {"16B": 2.0, "128B": 2.0}),
        ("decode", "wsproto-tokio", ["tokio-websockets"], {"1KiB": 1.5, "64KiB": 1.2, "1MiB": 1.2}),
        ("blocking_send", "wsproto-blocking", ["tungstenite"], {k: 1.5 for k in ["16B", "128B", "1KiB", "64KiB", "1MiB"]}),
        ("blocking_read", "wsproto-blocking", ["tungstenite"], {k: 1.5 for k in ["16B", "128B", "1KiB", "64KiB", "1MiB"]}),
    ]
    if not any(g == "encode_feed" for (g, _, _) in data):
        return
    print(f"\n#### Through each library's public API (median of {runs} runs)\n")
    print("| workload | size | wsproto | best of | peer | ratio | target | met? |")
    print("|---|---|---|---|---|---|---|---|")
    for group, ours, peers, targets in rows:
        for size, target in targets.items():
            r = rate(data.get((group, ours, size)))
            peer_rates = {f: rate(data.get((group, f, size))) for f in peers}
            peer_rates = {f: x for f, x in peer_rates.items() if x}
            if r is None or not peer_rates:
                continue
            best = max(peer_rates, key=lambda f: peer_rates[f][0])
            q = ratio(r, peer_rates[best])
            try:
                met = "yes" if float(q.split()[0].rstrip("×")) >= target else "**no**"
            except ValueError:
                met = "–"
            print(f"| {group} | {size} | {fmt(r)} | {', '.join(peers)} | {best} {fmt(peer_rates[best])} | {q} | {target}× | {met} |")


def size_key(p):
    p = p.split("-")[0]
    for suffix, mult in [("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1)]:
        if p.endswith(suffix):
            try:
                return int(p[: -len(suffix)]) * mult
            except ValueError:
                return 0
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="target/criterion")
    ap.add_argument("baselines", nargs="+")
    a = ap.parse_args()
    data = load(a.dir, set(a.baselines))
    runs = len(a.baselines)
    frames(data, runs)
    mask(data, runs)
    deflate(data, runs)
    adapters(data, runs)


if __name__ == "__main__":
    main()
