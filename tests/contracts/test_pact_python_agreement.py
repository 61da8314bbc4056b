"""Randomized agreement with the reference implementation: for many generated message bodies,
eventharness's matching and pact-python's verifier (its Rust core) name the same mismatched
JSON paths.

One pact holds one interaction per generated body, all with the same example and the same
matching rules (a rule of every kind a message body uses: type with min/max, integer, decimal,
number, regex, include, boolean, null, date/time/datetime with formats, equality, notEmpty,
semver, values, eachKey, eachValue, combine OR). Each body is the example with one to three
fields replaced by values drawn from a pool of conforming and non-conforming values (and now and
then a field left out); pact-python verifies the whole pact in one run, serving each body from a
message handler, and its per-interaction body mismatches are compared with ours, path by path.
The draws are seeded, so a disagreement replays.
"""

from __future__ import annotations

import contextlib
import json
import random
from pathlib import Path
from typing import Any

import pytest

from eventharness.contracts import (
    Contents,
    Interaction,
    Message,
    Pact,
    compare_body,
    parse_matching_rules,
    write_pact,
)
from tests.conftest import IN_CI

try:
    from pact import Verifier
except ImportError as exc:  # the oracle is part of [dev]: under CI its absence is a failure
    message = f"pact-python is not installed ({exc}): pip install -e '.[dev]'"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=True)

RULES: dict[str, Any] = {
    "$.i": [{"match": "integer"}],
    "$.d": [{"match": "decimal"}],
    "$.n": [{"match": "number"}],
    "$.t": [{"match": "type"}],
    "$.r": [{"match": "regex", "regex": "[A-Z]{2}-\\d+"}],
    "$.inc": [{"match": "include", "value": "rush"}],
    "$.b": [{"match": "boolean"}],
    "$.nul": [{"match": "null"}],
    "$.dt": [{"match": "date", "format": "yyyy-MM-dd"}],
    "$.tm": [{"match": "time", "format": "HH:mm:ss"}],
    "$.ts": [{"match": "datetime", "format": "yyyy-MM-dd'T'HH:mm:ss"}],
    "$.arr": [{"match": "type", "min": 1, "max": 3}],
    "$.arr[*].q": [{"match": "integer"}],
    "$.mn": [{"match": "type", "min": 2}],
    "$.obj": [{"match": "type"}],
    "$.eq": [{"match": "equality"}],
    "$.ne": [{"match": "notEmpty"}],
    "$.sv": [{"match": "semver"}],
    "$.vals": [{"match": "values"}],
    "$.ek": [{"match": "eachKey", "rules": [{"match": "regex", "regex": "[a-z]+"}], "value": ""}],
    "$.ev": [{"match": "eachValue", "rules": [{"match": "integer"}], "value": ""}],
    "$.or": {
        "combine": "OR",
        "matchers": [{"match": "integer"}, {"match": "regex", "regex": "x+"}],
    },
}
EXAMPLE: dict[str, Any] = {
    "i": 1,
    "d": 1.5,
    "n": 2,
    "t": "a",
    "r": "AB-1",
    "inc": "a rush order",
    "b": True,
    "nul": None,
    "dt": "2024-01-02",
    "tm": "10:11:12",
    "ts": "2024-01-02T10:11:12",
    "arr": [{"q": 1}],
    "mn": [1, 2],
    "obj": {"k": "v"},
    "eq": "same",
    "ne": "x",
    "sv": "1.2.3",
    "vals": {"a": 1},
    "ek": {"ab": 1},
    "ev": {"a": 1},
    "or": 1,
}
POOL: list[Any] = [
    *(0, 7, -3, 1.5, 2.0, 1e3),
    *("", "a", "7", "AB-12", "ab-1", "rush", "a rush order", "same", "xxx"),
    *(True, False, None),
    *("2024-02-30", "2024-12-31", "31/12/2024", "25:00:00", "23:59:59"),
    *("2024-01-02T10:11:12", "2024-01-02 10:11:12", "1.2", "1.2.3-rc.1"),
    *([], [1], [1, 2, 3], [[]], [{"q": 1}], [{"q": "1"}], [{"q": n} for n in range(4)]),
    *({}, {"k": "v"}, {"k": 1}, {"A": 1}, {"a": "1"}, {"a": 1, "b": 2}),
]
CASES = 300


@pytest.fixture(autouse=True)
def _no_usage_tracking(monkeypatch: pytest.MonkeyPatch) -> None:
    """pact's core reports usage over the network unless told not to; this machine has none."""
    monkeypatch.setenv("PACT_DO_NOT_TRACK", "true")


def _bodies(seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    bodies = []
    for _ in range(CASES):
        body = dict(EXAMPLE)
        for key in rng.sample(sorted(EXAMPLE), rng.randint(1, 3)):
            body[key] = rng.choice(POOL)
        if rng.random() < 0.1:
            body.pop(rng.choice(sorted(EXAMPLE)))
        bodies.append(body)
    return bodies


def _theirs(pact_path: Path, bodies: list[dict[str, Any]]) -> dict[int, list[str]]:
    def produce(name: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "contents": json.dumps(bodies[int(name.split()[1])]).encode(),
            "metadata": {},
            "content_type": "application/json",
        }

    verifier = Verifier("provider").message_handler(produce).add_source(pact_path)
    with contextlib.suppress(RuntimeError):  # most bodies fail; the verdicts are in the results
        verifier.verify()
    found: dict[int, list[str]] = {}
    for result in verifier.results["interactionResults"]:
        mismatches = (result.get("mismatch") or {}).get("mismatches", [])
        paths = {m["path"] for m in mismatches if m.get("type") == "BodyMismatch"}
        found[int(result["description"].split()[1])] = sorted(paths)
    return found


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matching_names_the_same_paths_as_pact_python(tmp_path: Path, seed: int) -> None:
    rules = parse_matching_rules(
        {"body": {p: r if isinstance(r, dict) else {"matchers": r} for p, r in RULES.items()}},
        "agreement",
    )
    bodies = _bodies(seed)
    interactions = tuple(
        Interaction(f"case {n:03}", Message(Contents(EXAMPLE, "application/json"), {}, rules))
        for n in range(len(bodies))
    )
    path = write_pact(Pact("consumer", "provider", interactions), tmp_path / "agreement.json")
    theirs = _theirs(path, bodies)
    assert len(theirs) == CASES  # every interaction was verified by pact-python
    disagreements = []
    failing = 0
    for n, body in enumerate(bodies):
        ours = sorted({m.path for m in compare_body(EXAMPLE, body, rules.category("body"))})
        failing += bool(ours)
        if ours != theirs[n]:
            disagreements.append(f"case {n:03}: ours {ours}, pact-python {theirs[n]}: {body}")
    assert disagreements == []
    # the draws exercise both verdicts
    assert 0.5 * CASES < failing < CASES
