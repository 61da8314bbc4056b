"""Reports of a run: the terminal report, the JSON report (DESIGN §7), JUnit XML and HTML.

Each takes the outcomes of :func:`eventharness.files.runner.run_files` and the run's wall time.
"""

from eventharness.reports.html import html_report, write_html
from eventharness.reports.json import json_report, write_json
from eventharness.reports.junit import junit_xml, write_junit
from eventharness.reports.terminal import TerminalReport

__all__ = [
    "TerminalReport",
    "html_report",
    "json_report",
    "junit_xml",
    "write_html",
    "write_json",
    "write_junit",
]
