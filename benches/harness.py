"""``python benches/run.py``: giosocket beside the stdlib, a native reference and PyGObject.

Every scenario runs on loopback. The contenders of a scenario run one after the other in
rounds (the order rotates each round) and the table quotes each one's median. Two ratio
columns compare a contender with the stdlib and with the native reference: pure-Rust loops in
the extension (``_giosocket._bench_*``, cargo feature ``bench``) that make the same syscalls with
no Python in the loop, i.e. the machine's limit for that path. Ratios are speeds: above 1 is
faster. A giosocket built without the feature (a release wheel) shows the native rows, and the
scenarios fed by a native peer, as n/a.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from dataclasses import dataclass
from typing import Any, TextIO

import giosocket
from cases import (
    Scenario,
    Unavailable,
    native_loop,
    tcp_bulk_scenario,
    tcp_pingpong_scenario,
    udp_recv_scenario,
    udp_send_scenario,
)


@dataclass
class Profile:
    """How long each contender runs and how many rounds are taken."""

    name: str
    seconds: float
    rounds: int
    tcp_bytes: int
    warmup: int = 1


PROFILES = {
    "full": Profile("full", seconds=0.4, rounds=15, tcp_bytes=1 << 30),
    "quick": Profile("quick", seconds=0.2, rounds=7, tcp_bytes=256 << 20),
    "smoke": Profile("smoke", seconds=0.05, rounds=1, tcp_bytes=4 << 20, warmup=0),
}


# --------------------------------------------------------------------------------------
# Running, reporting

# (scenario, contender, reference, minimum speed ratio, what the target says)
TARGETS = [
    (
        "udp_send",
        "gio_send_to",
        "stdlib_sendto",
        1 / 1.1,
        "send_to speed >= 0.91x stdlib (cost <= 1.1x)",
    ),
    (
        "udp_recv",
        "gio_receive_into",
        "stdlib_recv_into",
        1 / 1.1,
        "receive_into speed >= 0.91x stdlib (cost <= 1.1x)",
    ),
    ("udp_send", "gio_send_messages", "native_sendmmsg", 0.9, "send_messages >= 0.9x sendmmsg"),
    (
        "udp_recv",
        "gio_receive_messages",
        "native_recvmmsg",
        0.8,
        "receive_messages >= 0.8x recvmmsg",
    ),
    ("udp_send", "gio_gso", "native_gso", 0.9, "GSO >= 0.9x native GSO"),
    ("udp_send", "gio_gso", "stdlib_sendto", 5.0, "GSO >= 5x stdlib sendto"),
    ("tcp_bulk", "gio_receive_into", "stdlib_recv_into", 0.95, "TCP receive_into >= 0.95x stdlib"),
]


def run_scenario(sc: Scenario, profile: Profile, log: TextIO) -> None:
    """Take ``profile.rounds`` samples of every contender, rotating the order each round,
    after ``profile.warmup`` rounds whose samples are dropped (first connections, page faults).

    The run order puts each contender next to the references it is compared with, so that
    the two run close together in time and the per-round ratio sees the same machine load.
    """
    log.write(f"{sc.title} ")
    log.flush()
    order = sc.run_order()
    for r in range(profile.warmup + profile.rounds):
        k = r % len(order)
        for c in order[k:] + order[:k]:
            if c.missing is not None or c.error is not None:
                continue
            try:
                sample = c.run(profile.seconds)
                if r >= profile.warmup:
                    c.samples.append(sample)
            except Unavailable as exc:
                c.missing = str(exc)
            except Exception as exc:  # noqa: BLE001 (shown in the table; exit status 1)
                c.error = f"{type(exc).__name__}: {exc}"
        log.write(".")
        log.flush()
    log.write("\n")


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "giosocket": giosocket.__version__,
        "build": build_profile(),
    }


def build_profile() -> str:
    """The build profile, "release" or "debug"; "unknown" without the bench feature."""
    try:
        return str(native_loop("_bench_build_profile")())
    except Unavailable:
        return "unknown (no bench feature)"


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "pps":
        return f"{value / 1e6:.2f} M" if value >= 1e6 else f"{value / 1e3:.0f} k"
    if unit == "MB/s":
        return f"{value:,.0f}"
    return f"{value:.1f}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


UNIT_NAMES = {"pps": "packets/s", "MB/s": "MB/s", "us": "us per round trip, lower is better"}
CLOCK_NAMES = {
    "cpu": "per CPU-second of the calling thread",
    "wall": "wall clock",
}


def report(scenarios: list[Scenario], profile: Profile, info: dict[str, Any], out: TextIO) -> None:
    """The human-readable table."""
    out.write(
        f"giosocket bench ({profile.name}): medians of {profile.rounds} rounds "
        f"(after {profile.warmup} warm-up), {profile.seconds:g} s per contender\n"
        f"machine: {info['nproc']} CPUs, {info['cpu']}, Linux {info['kernel']}, "
        f"Python {info['python']}, {info['build']} build\n"
        "x stdlib / x native = speed relative to the stdlib / the native reference "
        "(above 1 = faster)\n"
        "Throughputs divide by the calling thread's CPU time (the per-call cost, robust to other\n"
        "load); the wall column divides by elapsed time.\n"
    )
    for sc in scenarios:
        other = "wall" if sc.clock == "cpu" else "cpu"
        out.write(f"\n{sc.title}\n  [{UNIT_NAMES[sc.unit]}, {CLOCK_NAMES[sc.clock]}]\n")
        out.write(
            f"  {'contender':<34} {'median':>9} {'x stdlib':>9} {'x native':>9} {other:>9}"
            "  native reference\n"
        )
        for c in sc.contenders:
            if c.missing is not None or c.error is not None:
                why = f"n/a ({c.missing})" if c.missing is not None else f"ERROR {c.error}"
                out.write(f"  {c.label:<34} {why}\n")
                continue
            ref = sc.get(c.native) if c.native else None
            out.write(
                f"  {c.label:<34} {_fmt(sc.median(c.key), sc.unit):>9} "
                f"{_ratio(sc.ratio(c.key, sc.baseline(c))):>9} "
                f"{_ratio(sc.ratio(c.key, c.native)):>9} "
                f"{_fmt(sc.median(c.key, other), sc.unit):>9}  {ref.label if ref else ''}\n"
            )
    out.write("\nTargets\n")
    for t in evaluate_targets(scenarios):
        state = {True: "met", False: "MISSED", None: "n/a"}[t["met"]]
        out.write(f"  {t['target']:<50} {_ratio(t['ratio']):>6}  {state}\n")


def evaluate_targets(scenarios: list[Scenario]) -> list[dict[str, Any]]:
    """Each target with its measured ratio and whether it is met (None = not measured)."""
    by_key = {sc.key: sc for sc in scenarios}
    rows = []
    for sc_key, key, ref, minimum, text in TARGETS:
        sc = by_key.get(sc_key)
        ratio = sc.ratio(key, ref) if sc else None
        rows.append(
            {
                "target": text,
                "scenario": sc_key,
                "contender": key,
                "reference": ref,
                "minimum": round(minimum, 4),
                "ratio": ratio,
                "met": None if ratio is None else ratio >= minimum,
            }
        )
    return rows


def to_json(
    scenarios: list[Scenario], profile: Profile, info: dict[str, Any], only: list[str] | None = None
) -> dict[str, Any]:
    """Machine-readable results."""
    return {
        "command": " ".join(
            ["python benches/run.py"]
            + ([] if profile.name == "full" else [f"--{profile.name}"])
            + [f"--only {key}" for key in only or []]
        ),
        "profile": {
            "name": profile.name,
            "seconds": profile.seconds,
            "rounds": profile.rounds,
            "warmup": profile.warmup,
        },
        "machine": info,
        "scenarios": [
            {
                "key": sc.key,
                "title": sc.title,
                "unit": sc.unit,
                "clock": sc.clock,
                "higher_is_better": sc.higher_is_better,
                "results": [
                    {
                        "key": c.key,
                        "label": c.label,
                        "status": "n/a" if c.missing else "error" if c.error else "ok",
                        "reason": c.missing or c.error,
                        "median": sc.median(c.key),
                        "median_cpu": sc.median(c.key, "cpu"),
                        "median_wall": sc.median(c.key, "wall"),
                        "samples": [
                            {"units": x.units, "wall": x.wall, "cpu": x.cpu} for x in c.samples
                        ],
                        "stdlib_reference": sc.baseline(c),
                        "vs_stdlib": sc.ratio(c.key, sc.baseline(c)),
                        "native_reference": c.native,
                        "vs_native": sc.ratio(c.key, c.native),
                    }
                    for c in sc.contenders
                ],
            }
            for sc in scenarios
        ],
        "targets": evaluate_targets(scenarios),
    }


def _md_value(value: float | None, unit: str) -> str:
    return _fmt(value, unit).replace(" k", "k").replace(" M", "M")


def markdown(results: dict[str, Any]) -> str:
    """The results (``to_json`` output) as Markdown tables, for READMEs."""
    m = results["machine"]
    lines = [
        (
            f"`{results['command']}` on {m['nproc']} CPUs ({m['cpu']}), Linux {m['kernel']}, "
            f"Python {m['python']}, {m['build']} build; medians of "
            f"{results['profile']['rounds']} rounds of {results['profile']['seconds']:g} s "
            f"(after {results['profile'].get('warmup', 0)} warm-up)."
        ),
    ]
    for sc in results["scenarios"]:
        other = "wall" if sc["clock"] == "cpu" else "cpu"
        lines += [
            "",
            f"**{sc['title']}** ({UNIT_NAMES[sc['unit']]}, {CLOCK_NAMES[sc['clock']]})",
            "",
            f"| contender | median | x stdlib | x native | {other} | native reference |",
            "|---|---:|---:|---:|---:|---|",
        ]
        labels = {r["key"]: r["label"] for r in sc["results"]}
        for r in sc["results"]:
            if r["status"] != "ok":
                lines.append(f"| {r['label']} | {r['status']} ({r['reason']}) | | | | |")
                continue
            lines.append(
                f"| {r['label']} | {_md_value(r['median'], sc['unit'])} | "
                f"{_ratio(r['vs_stdlib'])} | {_ratio(r['vs_native'])} | "
                f"{_md_value(r['median_' + other], sc['unit'])} | "
                f"{labels.get(r['native_reference'] or '', '')} |"
            )
    lines += ["", "| target | measured | |", "|---|---:|---|"]
    for t in results["targets"]:
        state = {True: "met", False: "**missed**", None: "n/a"}[t["met"]]
        lines.append(f"| {t['target']} | {_ratio(t['ratio'])} | {state} |")
    return "\n".join(lines) + "\n"


def plot(results: dict[str, Any], path: str) -> None:
    """Bar chart (one panel per scenario) of the medians, from ``to_json`` output."""
    try:
        import matplotlib  # type: ignore[import-not-found, unused-ignore]

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # type: ignore[import-not-found, unused-ignore]
    except ImportError as exc:
        raise SystemExit(f"--plot needs matplotlib: pip install '.[plot]' ({exc})") from exc
    scenarios = results["scenarios"]
    fig, axes = plt.subplots(len(scenarios), 1, figsize=(9, 2.6 * len(scenarios)))
    colors = {"stdlib": "#888888", "gio": "#3070b0", "native": "#d08020", "pygobject": "#60a060"}
    for ax, sc in zip(axes if len(scenarios) > 1 else [axes], scenarios):
        rows = [r for r in sc["results"] if r["median"] is not None]
        labels = [r["label"] for r in rows]
        values = [r["median"] / (1e6 if sc["unit"] == "pps" else 1) for r in rows]
        ax.barh(labels, values, color=[colors.get(r["key"].split("_")[0], "#888") for r in rows])
        ax.invert_yaxis()
        if values and min(values) > 0 and max(values) / min(values) > 20:
            ax.set_xscale("log")
        for y, v in enumerate(values):
            ax.annotate(f" {v:,.0f}" if v >= 100 else f" {v:.3g}", (v, y), va="center", fontsize=7)
        ax.margins(x=0.1)
        unit = {"pps": "M packets/s", "MB/s": "MB/s", "us": "us per round trip, lower is better"}
        ax.set_title(sc["title"], fontsize=9, loc="left")
        ax.set_xlabel(f"{unit[sc['unit']]} ({CLOCK_NAMES[sc['clock']]})", fontsize=8)
        ax.tick_params(labelsize=8)
    m = results["machine"]
    fig.suptitle(
        f"{results['command']} - {m['nproc']} CPUs {m['cpu']}, Linux {m['kernel']}", fontsize=9
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python benches/run.py``."""
    parser = argparse.ArgumentParser(
        prog="python benches/run.py",
        description="giosocket beside the stdlib, a native reference and PyGObject (loopback).",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="shorter runs (under a minute)")
    mode.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="FILE",
        help="write machine-readable results to FILE (default: stdout instead of the table)",
    )
    parser.add_argument("--plot", metavar="PNG", help="draw a chart of the medians (matplotlib)")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument(
        "--from-json",
        metavar="FILE",
        help="do not run: render FILE (from --json) with --markdown and/or --plot",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=["udp_send", "udp_recv", "tcp_bulk", "tcp_pingpong"],
        help="run only this scenario (repeatable)",
    )
    args = parser.parse_args(argv)
    if args.from_json:
        with open(args.from_json, encoding="utf-8") as f:
            loaded: dict[str, Any] = json.load(f)
        if args.markdown or not args.plot:
            sys.stdout.write(markdown(loaded))
        if args.plot:
            plot(loaded, args.plot)
        return 0
    profile = PROFILES["smoke" if args.smoke else "quick" if args.quick else "full"]
    json_stdout = args.json == "-"
    out = sys.stderr if json_stdout else sys.stdout
    info = machine()
    if info["build"] == "debug":
        out.write("warning: giosocket is a debug build; figures are not representative\n")
    elif info["build"] != "release":
        out.write(
            "note: giosocket was built without the cargo feature bench (a release wheel?): "
            "the native references and the scenarios they feed are n/a\n"
        )
    makers = {
        "udp_send": udp_send_scenario,
        "udp_recv": udp_recv_scenario,
        "tcp_bulk": lambda: tcp_bulk_scenario(profile.tcp_bytes),
        "tcp_pingpong": tcp_pingpong_scenario,
    }
    scenarios = [make() for key, make in makers.items() if not args.only or key in args.only]
    for sc in scenarios:
        run_scenario(sc, profile, sys.stderr)
    results = to_json(scenarios, profile, info, args.only or [])
    if args.markdown:
        out.write(markdown(results))
    else:
        report(scenarios, profile, info, out)
    if json_stdout:
        json.dump(results, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
    if args.plot:
        plot(results, args.plot)
    failed = [c.label for sc in scenarios for c in sc.contenders if c.error is not None]
    return 1 if failed else 0
