"""The HTML report (``--report-html FILE``): one self-contained page, no network.

It renders the JSON report (:func:`eventharness.reports.json.json_report`), so a report can be
re-rendered from a saved JSON file: the run summary; per scenario its verdict, its failures
(expected vs the nearest misses, with the field diffs marked) and a sequence diagram
(:mod:`eventharness.reports.diagram`); buttons that filter by status and a search box. Styles
and the small script are inline; nothing is fetched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from eventharness.files.runner import Outcome
from eventharness.reports.diagram import MARKERS, Entry, entries_of, sequence_svg
from eventharness.reports.json import json_report

__all__ = ["PAGE_CSS", "html_report", "page", "write_html"]

PAGE_CSS = """
*{box-sizing:border-box}body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#223;
background:#f5f6f8}header{background:#1f2a44;color:#fff;padding:14px 20px}
h1{font-size:18px;margin:0 0 6px}main{padding:12px 20px}.meta{color:#b8c2d8;font-size:12px}
.counts span{margin-right:14px;font-weight:600}.passed{color:#1e8449}.failed{color:#c0392b}
.error{color:#b9770e}header .passed{color:#7ee2a8}header .failed{color:#ff9a8c}
header .error{color:#ffd27a}.bar{display:flex;gap:8px;align-items:center;margin:10px 0}
.bar button{border:1px solid #99a;background:#fff;border-radius:4px;padding:3px 10px;
cursor:pointer}.bar button.on{background:#1f2a44;color:#fff}.bar input{flex:1;max-width:360px;
padding:4px 8px;border:1px solid #99a;border-radius:4px}section.sc{background:#fff;
border:1px solid #dde;border-left:5px solid #1e8449;border-radius:4px;margin:8px 0}
section.sc[data-status=failed]{border-left-color:#c0392b}section.sc[data-status=error]
{border-left-color:#b9770e}summary{padding:8px 12px;cursor:pointer}summary .d{color:#778;
margin-left:8px}.body{padding:0 12px 12px}.fail{border:1px solid #f1c4bd;background:#fff7f6;
border-radius:4px;padding:6px 10px;margin:6px 0}.fail .k{font-weight:700;color:#c0392b}
pre{margin:4px 0;white-space:pre-wrap;font:12px/1.35 ui-monospace,monospace}
pre .miss{color:#445;font-weight:600}pre .diff{background:#fde2dd;color:#8e2415}
pre .hint{color:#2e6da4}.diagram{overflow-x:auto;border:1px solid #eef;margin-top:8px}
svg.seq{font:11px ui-monospace,monospace;background:#fcfcfe}svg.seq .lane{stroke:#ccd;
stroke-dasharray:4 3}svg.seq .lane-name{text-anchor:middle;font-weight:700;fill:#334}
svg.seq line,svg.seq path{stroke:#445;fill:none}svg.seq .p line{stroke:#2e6da4}
svg.seq .f line,svg.seq .f path{stroke:#c0392b;stroke-dasharray:5 2}svg.seq .f text{fill:#c0392b}
svg.seq text.t{fill:#889}svg.seq rect{fill:#9bc}small{color:#778}#none{display:none;
color:#778;padding:12px}
"""

_SCRIPT = """
(function(){
  var status='all', box=document.getElementById('q');
  function apply(){
    var q=box.value.trim().toLowerCase(), shown=0;
    document.querySelectorAll('section.sc').forEach(function(s){
      var ok=(status==='all'||s.dataset.status===status)&&
        (!q||s.dataset.search.indexOf(q)>=0);
      s.hidden=!ok; if(ok){shown++;}
    });
    document.getElementById('shown').textContent=shown;
    document.getElementById('none').style.display=shown?'none':'block';
  }
  document.querySelectorAll('.bar button').forEach(function(b){
    b.addEventListener('click',function(){
      document.querySelectorAll('.bar button').forEach(function(o){o.classList.remove('on');});
      b.classList.add('on'); status=b.dataset.status; apply();
    });
  });
  box.addEventListener('input',apply); apply();
})();
"""

_MARK = {"passed": "✓", "failed": "✗", "error": "!"}


def page(title: str, head: str, body: str, script: str = "", css: str = "") -> str:
    """A whole self-contained page: the shared styles, a header, the body, an inline script."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{PAGE_CSS}{css}</style></head><body>"
        f"<header>{head}</header><main>{body}</main>"
        + (f"<script>{script}</script>" if script else "")
        + "</body></html>\n"
    )


def html_report(report: Mapping[str, Any], title: str = "eventharness report") -> str:
    """The page of a JSON report (the dict of :func:`json_report`, or one read back)."""
    summary = report.get("summary", {})
    run = report.get("run") or {}
    scenarios = list(report.get("scenarios", []))
    counts = "".join(
        f'<span class="{css}">{summary.get(key, 0)} {key}</span>'
        for key, css in (
            ("passed", "passed"),
            ("xfailed", "passed"),
            ("failed", "failed"),
            ("errors", "error"),
        )
    )
    facts = [f"{len(scenarios)} scenarios", f"{float(summary.get('duration_s', 0)):.2f}s"]
    if run.get("started_at"):
        facts.append(f"started {run['started_at']}")
    if run.get("commit"):
        facts.append(f"commit {str(run['commit'])[:12]}")
    head = (
        f"<h1>{escape(title)}</h1><div class='counts'>{counts}</div>"
        f"<div class='meta'>{escape(' · '.join(facts))}</div>"
    )
    buttons = "".join(
        f'<button type="button" data-status="{s}"{" class=on" if s == "all" else ""}>{s}</button>'
        for s in ("all", "passed", "failed", "error")
    )
    bar = (
        f'<div class="bar">{buttons}<input id="q" type="search" '
        'placeholder="search scenarios, files, failures, channels" aria-label="search">'
        '<small><span id="shown"></span> shown</small></div>'
    )
    sections = "".join(_scenario(s) for s in _worst_first(scenarios))
    body = f'{MARKERS}{bar}{sections}<p id="none">No scenario matches.</p>'
    return page(title, head, body, _SCRIPT)


def _worst_first(scenarios: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    rank = {"error": 0, "failed": 1}
    return sorted(scenarios, key=lambda s: rank.get(str(s.get("status")), 2))


def _scenario(scenario: Mapping[str, Any]) -> str:
    status = str(scenario.get("status", "error"))
    name = str(scenario.get("name", ""))
    failures = list(scenario.get("failures", []))
    events = list(scenario.get("events", []))
    kinds = sorted({str(f.get("kind")) for f in failures})
    words = [name, str(scenario.get("file") or ""), status, *kinds]
    words += [str(f.get("message", "")) for f in failures]
    words += sorted({str(e.get("channel")) for e in events})
    search = escape(" ".join(words).lower(), quote=True)
    xfail = scenario.get("xfail")
    note = f" xfail ({xfail.get('outcome')})" if isinstance(xfail, Mapping) else ""
    summary = (
        f'<summary><b class="{status}">{_MARK.get(status, "?")} {status}</b> '
        f"<b>{escape(name)}</b><span class='d'>{float(scenario.get('duration_s', 0)):.2f}s"
        f"{' · ' + escape(', '.join(kinds)) if kinds else ''}{escape(note)}</span></summary>"
    )
    facts = [f"file {scenario.get('file') or '-'}"]
    facts.append(f"correlation id {scenario.get('correlation_id') or '-'}")
    if scenario.get("started_at"):
        facts.append(f"started {scenario['started_at']}")
    facts.append(f"{len(events)} events")
    parts = [f"<small>{escape(' · '.join(facts))}</small>"]
    parts.extend(_failure(f) for f in failures)
    entries = entries_of(events)
    for note in scenario.get("notes", []):  # network faults applied and lifted
        text = str(note["text"]).removeprefix("network fault ")  # its lane says so
        entries.append(Entry(float(note["t"]), "network", "network", text, "note"))
    entries.sort(key=lambda entry: entry.t)
    diagram = sequence_svg(entries, name) if entries else "<small>no events</small>"
    parts.append(f'<div class="diagram">{diagram}</div>')
    opened = " open" if status != "passed" else ""
    return (
        f'<section class="sc" data-status="{escape(status, quote=True)}" '
        f'data-search="{search}"><details{opened}>{summary}'
        f'<div class="body">{"".join(parts)}</div></details></section>'
    )


def _failure(failure: Mapping[str, Any]) -> str:
    lines = [_detail(str(line)) for line in failure.get("details", [])]
    details = f"<pre>{chr(10).join(lines)}</pre>" if lines else ""
    return (
        f'<div class="fail"><span class="k">[{escape(str(failure.get("kind")))}]</span> '
        f"<b>{escape(str(failure.get('step', '')))}</b>: "
        f"{escape(str(failure.get('message', '')))}{details}</div>"
    )


def _detail(line: str) -> str:
    """A detail line, marked: the nearest misses, the field diffs, the hints."""
    text = escape(line)
    bare = line.strip()
    if bare.startswith(("nearest misses", "t=")):
        return f'<span class="miss">{text}</span>'
    if ": expected" in bare or ("expected " in bare and ", got" in bare):
        return f'<span class="diff">{text}</span>'
    if bare.startswith(("widen", "hint", "try", "add ")) or "within" in bare:
        return f'<span class="hint">{text}</span>'
    return text


def write_html(path: str | Path, outcomes: Sequence[Outcome], duration_s: float) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html_report(json_report(outcomes, duration_s)), encoding="utf-8")
