"""Reports of a run: the terminal report, the JSON report (DESIGN §7) and JUnit XML.

Each takes the outcomes of :func:`eventharness.files.runner.run_files` and the run's wall time.
"""

from eventharness.reports.json import json_report, write_json
from eventharness.reports.junit import junit_xml, write_junit
from eventharness.reports.terminal import TerminalReport

__all__ = ["TerminalReport", "json_report", "junit_xml", "write_json", "write_junit"]
