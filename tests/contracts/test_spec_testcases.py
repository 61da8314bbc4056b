"""The Pact specification's own test cases (pact-foundation/pact-specification, branches
``version-3`` and ``version-4``): ``message/body`` and the JSON cases of ``request/body`` and
``response/body``. Each case gives an expected and an actual part and whether they must match;
every one must agree with that verdict.

The cases are the specification's files, MIT licensed (see LICENSE beside them), and are not
vendored into this repository. They are looked for, in order, in
``$EVENTHARNESS_PACT_SPEC_TESTCASES``, ``tests/contracts/spec_testcases`` and
``../shared/pact-specification-testcases`` (a folder beside the clone); the folder holds
``version-3/`` and ``version-4/`` as the ``testcases/`` folder of each branch.

Where they are absent this module makes no test at all — nothing is skipped and nothing counts
as passed. Where they are present, every case runs and a guard fails if any folder comes up
empty.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from eventharness.contracts import compare_body, parse_matching_rules
from eventharness.contracts.pactfile import parse_contents
from eventharness.model.events import MISSING

_HERE = Path(__file__).resolve().parent
_CANDIDATES = [
    os.environ.get("EVENTHARNESS_PACT_SPEC_TESTCASES", ""),
    str(_HERE / "spec_testcases"),
    str(_HERE.parents[2] / "shared" / "pact-specification-testcases"),
]
ROOT = next((Path(c) for c in _CANDIDATES if c and (Path(c) / "version-4").is_dir()), None)
FOLDERS = ("message/body", "request/body", "response/body")

# Cases whose verdict we do not reproduce, with the reason. Keep this short.
KNOWN_DISAGREEMENTS: dict[str, str] = {}


def _cases() -> list[Any]:
    if ROOT is None:
        return []
    found = []
    for version in ("version-3", "version-4"):
        for folder in FOLDERS:
            for path in sorted((ROOT / version / folder).glob("*.json")):
                if "xml" in path.stem:
                    continue  # XML bodies are out of scope: the JSON cases only
                case_id = f"{version}/{folder}/{path.stem}"
                marks = []
                if case_id in KNOWN_DISAGREEMENTS:
                    marks.append(
                        pytest.mark.xfail(reason=KNOWN_DISAGREEMENTS[case_id], strict=True)
                    )
                found.append(pytest.param(path, id=case_id, marks=marks))
    return found


CASES = _cases()


def _part(part: dict[str, Any], v4: bool, message: bool) -> tuple[Any, str | None]:
    """The body and content type of one side of a case."""
    key = "contents" if message else "body"
    headers = {k.lower(): v for k, v in (part.get("headers") or {}).items()}
    meta = part.get("metaData") or part.get("metadata") or {}
    content_type = headers.get("content-type") or meta.get("contentType")
    if key not in part:
        return MISSING, content_type
    if not v4 or not (part[key] is None or isinstance(part[key], dict)):
        # V3 bodies are the value itself; so is the actual body of one V4 case written V3-style
        # ("objects in array with type mismatching"), which is read as what it plainly is.
        return part[key], content_type
    contents = parse_contents(part[key], key)
    return contents.value, contents.content_type or content_type


if ROOT is not None:  # absent (see the module docstring): no test at all, not a skipped one

    @pytest.mark.parametrize("path", CASES)
    def test_specification_case(path: Path) -> None:
        case = json.loads(path.read_text(encoding="utf-8"))
        v4 = "version-4" in path.parts
        folder = path.parent.parent.name
        message = folder == "message"
        expected, content_type = _part(case["expected"], v4, message)
        actual, _ = _part(case["actual"], v4, message)
        rules = parse_matching_rules(case["expected"].get("matchingRules"), str(path)).category(
            "body"
        )
        mismatches = compare_body(
            expected,
            actual,
            rules,
            content_type=content_type,
            allow_unexpected_keys=folder != "request",
        )
        verdict = not mismatches
        assert verdict is case["match"], (
            f"{case.get('comment')}: expected match={case['match']}, got mismatches "
            f"{[str(m) for m in mismatches]}"
        )

    def test_every_folder_has_cases() -> None:
        """Guards against a silently empty run: both versions, all three folders."""
        ids = {p.id.rsplit("/", 1)[0] for p in CASES}
        assert ids == {f"{v}/{f}" for v in ("version-3", "version-4") for f in FOLDERS}
