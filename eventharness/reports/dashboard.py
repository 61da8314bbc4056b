"""The history dashboard (``eventharness report history DIR -o dashboard.html``): one
self-contained page of a :class:`~eventharness.reports.history.History`.

Sections: flaky scenarios (mixed outcomes on one commit), the pass rate of each scenario with
its outcome in each run as a strip of cells, the slowest hops (p50/p95 per channel pair, the
p50 of each run as a sparkline, the trend), and failure kinds per run as stacked bars. All
drawn as inline SVG and HTML; the styles are the HTML report's.
"""

from __future__ import annotations

from html import escape

from eventharness.reports.history import History, HopStats, ScenarioHistory
from eventharness.reports.html import page

__all__ = ["dashboard_html"]

_CSS = """
table{border-collapse:collapse;background:#fff;margin:6px 0 16px}td,th{border:1px solid #dde;
padding:3px 8px;text-align:left;font-size:13px}th{background:#eef0f5}h2{font-size:16px;
margin:18px 0 4px}.cells{display:flex;gap:1px}.cell{width:9px;height:16px;display:inline-block}
.cell.passed{background:#27ae60}.cell.failed{background:#c0392b}.cell.error{background:#e67e22}
.cell.none{background:#e5e7eb}.flag{background:#fde2dd;color:#8e2415;border-radius:3px;
padding:0 6px;font-weight:700;font-size:12px}.num{text-align:right;font-variant-numeric:
tabular-nums}svg.spark polyline{fill:none;stroke:#2e6da4;stroke-width:1.5}
.legend span{margin-right:10px}.up{color:#c0392b}.down{color:#1e8449}
"""

_KIND_COLOURS = {
    "timeout": "#c0392b",
    "schema": "#8e44ad",
    "ordering": "#2980b9",
    "unexpected": "#d35400",
    "duplicate": "#16a085",
    "consistency": "#7f8c8d",
    "error": "#e67e22",
}


def dashboard_html(history: History, title: str = "eventharness history") -> str:
    runs = history.runs
    commits = {run.commit for run in runs if run.commit}
    span = f"{runs[0].started_at} … {runs[-1].started_at}" if runs else ""
    head = (
        f"<h1>{escape(title)}</h1><div class='counts'>"
        f"<span>{len(runs)} runs</span><span>{len(history.scenarios)} scenarios</span>"
        f"<span class='failed'>{len(history.flaky)} flaky</span></div>"
        f"<div class='meta'>{escape(span)} · {len(commits)} commits</div>"
    )
    body = "".join(
        [
            _flaky(history.flaky),
            _scenarios(history.scenarios, len(runs)),
            _hops(history.hops),
            _kinds(history),
        ]
    )
    return page(title, head, body, css=_CSS)


def _flaky(flaky: list[ScenarioHistory]) -> str:
    if not flaky:
        return (
            '<h2>Flaky scenarios</h2><p id="flaky">None: no scenario had mixed outcomes '
            "on one commit.</p>"
        )
    rows = "".join(
        f'<tr class="flaky-row" data-name="{escape(s.name, quote=True)}">'
        f"<td>{escape(s.name)}</td><td>{escape(s.file or '-')}</td>"
        f"<td>{escape(', '.join(c[:12] for c in s.flaky_commits))}</td>"
        f"<td class='num'>{s.pass_rate:.0%}</td></tr>"
        for s in flaky
    )
    return (
        "<h2>Flaky scenarios</h2><p>Passed and failed on the same commit.</p>"
        f'<table id="flaky"><tr><th>scenario</th><th>file</th><th>commits</th>'
        f"<th>pass rate</th></tr>{rows}</table>"
    )


def _scenarios(scenarios: list[ScenarioHistory], runs: int) -> str:
    rows = []
    for s in scenarios:
        cells = "".join(
            f'<span class="cell {o or "none"}" title="run {i + 1}: {o or "not run"}"></span>'
            for i, o in enumerate(s.outcomes)
        )
        flag = ' <span class="flag">flaky</span>' if s.flaky else ""
        rows.append(
            f'<tr class="scenario" data-flaky="{str(s.flaky).lower()}"><td>{escape(s.name)}'
            f"{flag}</td><td class='num'>{s.pass_rate:.0%}</td><td class='num'>{s.runs}</td>"
            f'<td><div class="cells">{cells}</div></td></tr>'
        )
    return (
        f"<h2>Pass rate per scenario</h2><p>Each cell is one of the {runs} runs, oldest "
        "first: green passed, red failed, orange error, grey not in that run.</p>"
        '<table id="scenarios"><tr><th>scenario</th><th>pass rate</th><th>runs</th>'
        f"<th>over time</th></tr>{''.join(rows)}</table>"
    )


def _spark(values: list[float | None], width: int = 160, height: int = 28) -> str:
    seen = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(seen) < 2:
        return ""
    top = max(v for _, v in seen) or 1.0
    step = width / max(1, len(values) - 1)
    points = " ".join(
        f"{i * step:.1f},{height - 2 - (v / top) * (height - 4):.1f}" for i, v in seen
    )
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f'<polyline points="{points}"/></svg>'
    )


def _trend(stats: HopStats) -> str:
    trend = stats.trend
    if trend is None:
        return "-"
    css = "up" if trend > 1.2 else "down" if trend < 0.8 else ""
    return f'<span class="{css}">{trend:.2f}x</span>'


def _hops(hops: list[HopStats]) -> str:
    if not hops:
        return "<h2>Slowest hops</h2><p>No hops in these reports.</p>"
    rows = "".join(
        f"<tr class='hop'><td>{escape(h.source)} → {escape(h.target)}</td>"
        f"<td class='num'>{len(h.latencies)}</td><td class='num'>{h.p50 * 1000:.1f} ms</td>"
        f"<td class='num'>{h.p95 * 1000:.1f} ms</td><td>{_spark(h.per_run)}</td>"
        f"<td class='num'>{_trend(h)}</td></tr>"
        for h in hops[:50]
    )
    return (
        "<h2>Slowest hops</h2><p>Latency from an event on one channel to the event it caused "
        "on the next, over all runs; the sparkline is each run's p50; the trend the latest "
        "third of the runs over the first.</p>"
        '<table id="hops"><tr><th>hop</th><th>n</th><th>p50</th><th>p95</th>'
        f"<th>p50 per run</th><th>trend</th></tr>{rows}</table>"
    )


def _kinds(history: History) -> str:
    kinds = sorted({k for counted in history.kinds for k in counted})
    if not kinds:
        return "<h2>Failure kinds over time</h2><p>No failures in these runs.</p>"
    top = max(sum(c.values()) for c in history.kinds) or 1
    width, height, bar = max(200, 14 * len(history.kinds)), 120, 10
    parts = [
        f'<svg id="kinds" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'role="img" aria-label="failure kinds per run">'
    ]
    for i, counted in enumerate(history.kinds):
        y = float(height)
        for kind in kinds:
            h = counted.get(kind, 0) / top * (height - 10)
            if h:
                y -= h
                parts.append(
                    f'<rect x="{i * 14}" y="{y:.1f}" width="{bar}" height="{h:.1f}" '
                    f'fill="{_KIND_COLOURS.get(kind, "#555")}"><title>run {i + 1}: '
                    f"{counted[kind]} {escape(kind)}</title></rect>"
                )
    parts.append("</svg>")
    legend = "".join(
        f'<span style="color:{_KIND_COLOURS.get(k, "#555")}">■ {escape(k)} '
        f"({sum(c.get(k, 0) for c in history.kinds)})</span>"
        for k in kinds
    )
    return (
        "<h2>Failure kinds over time</h2><p>Failures of each kind in each run, oldest first."
        f'</p>{"".join(parts)}<div class="legend">{legend}</div>'
    )
