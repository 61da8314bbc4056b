"""JUnit XML (``--junit FILE``), as CI systems read it: one ``<testcase>`` per scenario.

A failed scenario has ``<failure type="KIND" message="...">`` whose text is the failure
timeline; an errored one ``<error>``; an expected failure (``xfail``) is ``<skipped>``. Failed
teardown actions go to ``<system-err>`` (they do not change the verdict).
``classname`` is the scenario file's path with dots (``scenarios.shop.happy_path``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from eventharness.files.outcome import Outcome

__all__ = ["junit_xml", "write_junit"]

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("?", text)


def _classname(path: str) -> str:
    parts = PurePosixPath(path.replace("\\", "/")).with_suffix("").parts
    return ".".join(p for p in parts if p not in ("", ".", "..", "/")) or "scenarios"


def junit_xml(outcomes: Sequence[Outcome], duration_s: float, suite: str = "eventharness") -> str:
    statuses = [o.status for o in outcomes]
    skipped = sum(1 for o in outcomes if o.xfail_outcome == "xfailed")
    suites = ET.Element(
        "testsuites",
        {
            "name": suite,
            "tests": str(len(outcomes)),
            "failures": str(statuses.count("failed")),
            "errors": str(statuses.count("error")),
            "skipped": str(skipped),
            "time": f"{duration_s:.3f}",
        },
    )
    element = ET.SubElement(
        suites,
        "testsuite",
        {
            "name": suite,
            "tests": str(len(outcomes)),
            "failures": str(statuses.count("failed")),
            "errors": str(statuses.count("error")),
            "skipped": str(skipped),
            "time": f"{duration_s:.3f}",
        },
    )
    for outcome in outcomes:
        case = ET.SubElement(
            element,
            "testcase",
            {
                "name": outcome.file.name,
                "classname": _classname(outcome.file.path),
                "file": outcome.file.path,
                "time": f"{outcome.result.duration_s:.3f}",
            },
        )
        failures = outcome.failures
        first = failures[0] if failures else None
        message = _clean(f"[{first.kind}] {first.step}: {first.message}") if first else ""
        if outcome.xfail_outcome == "xfailed":
            ET.SubElement(case, "skipped", {"message": f"xfail: {message}"})
        elif outcome.status == "failed":
            node = ET.SubElement(
                case,
                "failure",
                {
                    "type": first.kind if first else "failed",
                    "message": message,
                },
            )
            node.text = _clean(outcome.explain())
        elif outcome.status == "error":
            node = ET.SubElement(
                case,
                "error",
                {
                    "type": first.kind if first else "error",
                    "message": message,
                },
            )
            node.text = _clean(outcome.explain())
        out = ET.SubElement(case, "system-out")
        out.text = _clean(
            f"correlation id {outcome.result.correlation_id}\n" + outcome.result.timeline()
        )
        if outcome.result.teardown:  # beside the verdict, which it does not change
            err = ET.SubElement(case, "system-err")
            err.text = _clean(
                "\n".join(f"teardown failed: {f.render()}" for f in outcome.result.teardown)
            )
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode")


def write_junit(path: str | Path, outcomes: Sequence[Outcome], duration_s: float) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(junit_xml(outcomes, duration_s) + "\n", encoding="utf-8")
