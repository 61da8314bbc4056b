"""``python -m bench [--quick] [--json FILE] [--only NAME,...]``: run, print the table."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import Context, Row

BENCHMARKS: dict[str, str] = {
    "kafka": "bench.kafka_throughput",
    "amqp": "bench.amqp_throughput",
    "inmemory": "bench.inmemory_flow",
    "routing": "bench.routing",
    "conformance": "bench.conformance",
    "latency": "bench.latency",
    "memory": "bench.memory",
    "contracts": "bench.contracts_verify",
    "startup": "bench.startup",
    "proxy": "bench.proxy",
    "scale": "bench.scale",
    "asyncapi": "bench.asyncapi",
    "generation": "bench.generation",
}
NEEDS_KAFKA = {"kafka", "latency", "proxy", "scale"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="every benchmark, small sizes")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON to FILE")
    parser.add_argument("--only", metavar="NAME,...", help=f"a subset of: {', '.join(BENCHMARKS)}")
    args = parser.parse_args(argv)
    names = list(BENCHMARKS)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in BENCHMARKS]
        if unknown:
            parser.error(
                f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}"
            )
    report = run(names, quick=args.quick)
    print(format_table(report["rows"]))
    if report["errors"]:
        for name, error in report["errors"].items():
            print(f"\n{name}: FAILED TO RUN: {error}", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))
    return 1 if report["errors"] else 0


def run(names: list[str], *, quick: bool) -> dict[str, Any]:
    """Run the named benchmarks (embedded Kafka started and stopped here when one needs it)."""
    ctx = Context(quick=quick)
    broker = None
    if NEEDS_KAFKA & set(names):
        from eventharness.env.embedded import EmbeddedKafka

        broker = EmbeddedKafka()
        ctx.kafka_url = broker.start()
    rows: list[Row] = []
    errors: dict[str, str] = {}
    started = time.perf_counter()
    try:
        for name in names:
            module = importlib.import_module(BENCHMARKS[name])
            print(f"… {name}", file=sys.stderr, flush=True)
            try:
                rows.extend(asyncio.run(module.run(ctx)))
            except Exception as exc:  # one broken benchmark must not hide the others
                errors[name] = f"{type(exc).__name__}: {exc}"
    finally:
        if broker is not None:
            broker.stop()  # SIGTERM to its pid, then SIGKILL
    return {
        "machine": machine(),
        "quick": quick,
        "duration_s": round(time.perf_counter() - started, 1),
        "rows": [row.as_dict() for row in rows],
        "errors": errors,
    }


def machine() -> dict[str, Any]:
    import os

    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version()}


def _fmt(value: float | None, unit: str | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}" if unit else text


def _target(row: dict[str, Any]) -> str:
    unit = row["target_unit"]
    return f"{row['sense']} {row['target']:g}" + ("x" if unit == "x" else f" {unit}")


def format_table(rows: list[dict[str, Any]]) -> str:
    header = ("benchmark", "harness", "baseline", "ratio", "target", "met?")
    lines = [header]
    for r in rows:
        lines.append(
            (
                r["name"],
                _fmt(r["harness"], r["unit"]),
                _fmt(r["baseline"], r["baseline_unit"]),
                f"{r['ratio']:.3g}x" if r["ratio"] is not None else "-",
                _target(r),
                "yes" if r["met"] else "NO",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for k, line in enumerate(lines):
        out.append("| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)) + " |")
        if k == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
