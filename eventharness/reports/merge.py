"""Reports of shards merged into one (``eventharness report merge``).

    merge_json([report, ...])      JSON reports of ``run --report-json``: the scenarios of all,
                                   the summary counted again from them
    merge_junit([xml_text, ...])   JUnit XML of ``run --junit``: every ``<testcase>`` in one
                                   ``<testsuite>``, totals counted again from the cases

Shards run side by side, so a merged ``duration_s`` (and JUnit ``time``) is the longest
shard's wall time, while each scenario keeps its own duration. Counts are never copied from
the inputs' summaries: they are recounted from what is there, so a merged report is as
consistent as a report of one run.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

from eventharness.model.errors import ConfigError

__all__ = ["merge_json", "merge_junit", "recount"]

_COUNTED = {"passed": "passed", "failed": "failed", "error": "errors"}


def recount(scenarios: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """The JSON report's summary counts of these scenario entries (as ``count_outcomes``)."""
    counts = {"passed": 0, "xfailed": 0, "failed": 0, "errors": 0}
    for entry in scenarios:
        xfail = entry.get("xfail")
        if isinstance(xfail, Mapping) and xfail.get("outcome") == "xfailed":
            counts["xfailed"] += 1
            continue
        key = _COUNTED.get(str(entry.get("status")))
        if key is not None:
            counts[key] += 1
    return counts


def merge_json(reports: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """One JSON report of ``(source, report)`` pairs; scenarios ordered by file, then name."""
    scenarios: list[Mapping[str, Any]] = []
    duration = 0.0
    for source, report in reports:
        found = report.get("scenarios")
        summary = report.get("summary")
        if not isinstance(found, list) or not isinstance(summary, Mapping):
            raise ConfigError(
                f"{source}: not a JSON report of eventharness run (no summary and scenarios); "
                "give the files --report-json wrote"
            )
        scenarios.extend(found)
        duration = max(duration, float(summary.get("duration_s", 0.0)))
    scenarios.sort(key=lambda s: (str(s.get("file", "")), str(s.get("name", ""))))
    return {
        "summary": {**recount(scenarios), "duration_s": round(duration, 3)},
        "scenarios": scenarios,
    }


def _cases(source: str, text: str) -> tuple[list[ET.Element], float]:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ConfigError(f"{source}: not XML ({exc}); give the files --junit wrote") from exc
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    if root.tag not in ("testsuite", "testsuites"):
        raise ConfigError(
            f"{source}: not JUnit XML (root <{root.tag}>); give the files --junit wrote"
        )
    cases = [case for suite in suites for case in suite.findall("testcase")]
    times = [float(s.get("time", "0") or 0) for s in suites]
    return cases, max(times, default=0.0)


def merge_junit(reports: Sequence[tuple[str, str]], suite: str = "eventharness") -> str:
    """One JUnit XML document of ``(source, xml_text)`` pairs."""
    cases: list[ET.Element] = []
    duration = 0.0
    for source, text in reports:
        found, took = _cases(source, text)
        cases.extend(found)
        duration = max(duration, took)
    totals = {
        "tests": len(cases),
        "failures": sum(1 for c in cases if c.find("failure") is not None),
        "errors": sum(1 for c in cases if c.find("error") is not None),
        "skipped": sum(1 for c in cases if c.find("skipped") is not None),
    }
    attributes = {"name": suite, **{k: str(v) for k, v in totals.items()}}
    attributes["time"] = f"{duration:.3f}"
    suites = ET.Element("testsuites", attributes)
    element = ET.SubElement(suites, "testsuite", dict(attributes))
    element.extend(cases)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode")
