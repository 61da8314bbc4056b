"""Building the typed model (:mod:`eventharness.files.model`) from a scenario file's
well-shaped YAML data: :func:`prune` takes out what breaks the schema, :class:`Builder` makes
the file, its steps, stubs, faults, probes and actions, with durations in seconds and the
numbers of ``network`` steps (:func:`latency_of`, :func:`bandwidth_of`). The loader
(:mod:`eventharness.files.loader`) runs it between the schema and the meaning checks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from eventharness.data.actions import HTTP_METHODS
from eventharness.engine.templates import parse_duration
from eventharness.files.chaos_steps import TOXICS, Lift, NetworkStep, Recover
from eventharness.files.fault_specs import FAULTS, FaultSpec
from eventharness.files.lifecycle_actions import (
    HttpAction,
    LifecycleAction,
    PublishAction,
    SqlAction,
)
from eventharness.files.lines import Mapped, line_of
from eventharness.files.model import STEPS, ScenarioFile, Step, XFail
from eventharness.files.probe_specs import PROBES
from eventharness.files.schema import shape_problems
from eventharness.files.steps import Correlate, Order, Publish, Wait
from eventharness.files.stub_specs import ResponseSpec, StubSpec

__all__ = ["Builder", "bandwidth_of", "expectation_names", "latency_of", "prune"]


def expectation_names(data: Mapped) -> set[str]:
    steps = data.get("steps")
    return (
        {
            body["as"]
            for item in steps
            if isinstance(item, dict)
            for kind, body in item.items()
            if kind in ("expect", "expect_none")
            and isinstance(body, dict)
            and isinstance(body.get("as"), str)
        }
        if isinstance(steps, list)
        else set()
    )


def prune(data: Mapped, paths: list[tuple[Any, ...]]) -> set[tuple[Any, ...]]:
    """Take what breaks the schema out of ``data``, so that the rest can be built and checked
    (its meaning too: every problem is reported at once). A key with a bad value goes, and so
    does a mapping that misses a key it needs, up to the list item that holds it (a step, a
    stub, a response, a fault): the paths of those items come back, to be left out."""
    dropped: set[tuple[Any, ...]] = set()
    seen: set[tuple[Any, ...]] = set()
    while paths:
        for path in paths:
            seen.add(path)
            if not path:
                continue  # the top: what is missing there has its default
            try:
                parent = data
                for part in path[:-1]:
                    parent = parent[part]
            except (KeyError, IndexError, TypeError):
                continue  # inside something taken out already
            if isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                dropped.add(path)
        paths = [
            p.path
            for p in shape_problems(data)
            if p.path not in seen and not any(p.path[: len(d)] == d for d in dropped)
        ]
    return dropped


def _seconds(value: Any) -> float:
    """A duration the schema accepted (so it parses); zero only where the schema allows it."""
    return parse_duration(value, allow_zero=True)


#: Keys the model names otherwise, and keys that are durations (seconds in the model).
_RENAMED = {"as": "name", "get": "url", "field": "target"}
_SECONDS = frozenset(
    {
        "within",
        "during",
        "interval",
        "timeout",
        "delay",
        "seconds",
        "jitter",
        "release_after",
        "min_duration",
        "max_duration",
    }
)


class Builder:
    """Builds the typed model from a file's well-shaped data. The schema has checked every
    key and value, so each mapping becomes its class's fields as they are, but for the keys
    the model renames, durations (seconds), lists (tuples) and the specs inside (probes,
    responses, faults). ``dropped``: list items to leave out (see :func:`prune`)."""

    def __init__(self, path: str, dropped: set[tuple[Any, ...]]) -> None:
        self.path = path
        self.dropped = dropped

    def make(
        self,
        cls: type[Any],
        data: Mapping[Any, Any],
        line: int,
        path: tuple[Any, ...],
        **fields: Any,
    ) -> Any:
        options: dict[str, Any] = {}
        renamed: Mapping[str, str] = getattr(cls, "renamed", _RENAMED)
        for key, value in data.items():
            if key in _SECONDS:
                value = _seconds(value)
            elif key == "faults":
                value = self.faults(value, (*path, key))
            elif key == "respond":
                value = tuple(
                    self.make(ResponseSpec, item, line_of(value, j), (*path, key, j))
                    for j, item in enumerate(value or ())
                    if (*path, key, j) not in self.dropped
                )
            elif key in PROBES:
                fields["probe"] = self.make(PROBES[key], value, line_of(data, key), (*path, key))
                continue
            elif key in ("nth", "equal", "run") and not isinstance(value, str):
                value = tuple(value) if isinstance(value, list) else (value,)
            elif key == "contains":
                value = str(value)
            options[renamed.get(key, key)] = value
        lines = {str(k): n for k, n in data.lines.items()} if isinstance(data, Mapped) else {}
        return cls(file=self.path, line=line, lines=lines, **{**options, **fields})

    def scenario(self, data: Mapped, profile: str | None) -> ScenarioFile:
        def value(key: str, default: Any = None) -> Any:
            return default if data.get(key) is None else data[key]

        tags, correlate, within = value("tags", ()), value("correlate", []), value("within")
        variables, correlation = value("vars", {}), value("correlation", {})
        lines = {str(k): v for k, v in data.lines.items()}
        lines.update({f"vars.{k}": line_of(variables, k) for k in variables})
        lines.update({f"correlation.{k}": line_of(correlation, k) for k in correlation})
        generated = value("generate", {})
        lines.update({f"generate.{k}": line_of(generated, k) for k in generated})
        xfail = value("xfail")
        if isinstance(xfail, str):
            xfail = {"kind": xfail}
        stubs = value("stubs", [])
        return ScenarioFile(
            path=self.path,
            name=value("name", self.path),
            line=line_of(data, "name") or 1,
            lines=lines,
            description=value("description", ""),
            profile=profile,
            tags=(tags,) if isinstance(tags, str) else tuple(tags),
            vars=dict(variables),
            within=None if within is None else _seconds(within),
            settle=_seconds(value("settle", 0)),
            allow_duplicates=value("allow_duplicates", False),
            trace=value("trace"),
            correlation={str(k): v for k, v in correlation.items()},
            correlate=tuple(correlate if isinstance(correlate, list) else [correlate]),
            xfail=None if xfail is None else XFail(xfail["kind"], xfail.get("reason") or ""),
            data=value("data"),
            examples=value("examples", 0),
            generate=dict(value("generate", {})),
            max_shrinks=value("max_shrinks", 100),
            shrink_time=_seconds(value("shrink_time", 120)),
            stubs=tuple(
                self.make(
                    StubSpec,
                    entry,
                    line_of(stubs, i),
                    ("stubs", i),
                    name=str(entry.get("name", entry["consume"])),
                )
                for i, entry in enumerate(stubs)
                if ("stubs", i) not in self.dropped
            ),
            steps=self.steps(value("steps", [])),
            setup=self.actions(value("setup", []), "setup"),
            teardown=self.actions(value("teardown", []), "teardown"),
        )

    def actions(self, raw: list[Any], phase: str) -> tuple[LifecycleAction, ...]:
        """``setup:``/``teardown:`` items; an ``http`` item's method key becomes its fields."""
        out: list[LifecycleAction] = []
        for index, item in enumerate(raw):
            if (phase, index) in self.dropped:
                continue
            ((kind, body),) = item.items()
            line, path = line_of(item, kind), (phase, index, kind)
            if kind == "sql":
                run = body["run"]
                at = {"run": (run,) if isinstance(run, str) else tuple(run)}
                out.append(self.make(SqlAction, body, line, path, **at))
            elif kind == "http":
                methods = [m for m in HTTP_METHODS if m.lower() in body]
                method = methods[0] if methods else ""
                rest = {k: v for k, v in body.items() if k.upper() not in HTTP_METHODS}
                url = body.get(method.lower(), "")
                built = self.make(HttpAction, rest, line, path, method=method, url=url)
                out.append(replace(built, lines={**built.lines, "method": line}))
            else:
                out.append(self.make(PublishAction, body, line, path))
        return tuple(out)

    def steps(self, raw: list[Any]) -> tuple[Step, ...]:
        out: list[Step] = []
        for index, item in enumerate(raw):
            if ("steps", index) in self.dropped:
                continue
            ((kind, body),) = item.items()
            line = line_of(item, kind)
            at: Any = {"file": self.path, "line": line, "index": index}
            if kind == "wait":
                out.append(Wait(**at, seconds=_seconds(body)))
            elif kind == "order":
                lines = {str(n): line_of(body, i) for i, n in enumerate(body)}
                out.append(Order(**at, lines=lines, steps=tuple(map(str, body))))
            elif kind == "correlate":
                out.append(Correlate(**at, value=body))
            elif kind == "lift":
                out.append(Lift(**at, fault=body))
            elif kind == "network":
                out.append(_network(body, at))
            elif kind == "recover":
                out.append(_recover(body, at))
            elif kind == "publish" and "every" in body:
                every = _seconds(body["every"])
                rest = {k: v for k, v in body.items() if k != "every"}
                made = self.make(Publish, rest, line, ("steps", index, kind), index=index)
                out.append(replace(made, every=every, lines=_lines(body)))
            else:
                out.append(self.make(STEPS[kind], body, line, ("steps", index, kind), index=index))
        return tuple(out)

    def faults(self, raw: Any, path: tuple[Any, ...]) -> tuple[FaultSpec, ...]:
        out: list[FaultSpec] = []
        for i, entry in enumerate(raw or ()):
            if (*path, i) in self.dropped:
                continue
            kind, options = (entry, None) if isinstance(entry, str) else next(iter(entry.items()))
            if not isinstance(options, dict):  # the short forms: {delay: 200ms}, {corrupt: bytes}
                options = (
                    {}
                    if options in (None, "bytes")
                    else {"field": options}
                    if kind == "corrupt"
                    else {"seconds": options}
                )
            out.append(self.make(FAULTS[kind], options, line_of(raw, i), (*path, i, kind)))
        return tuple(out)


def _lines(data: Any) -> dict[str, int]:
    return {str(k): n for k, n in data.lines.items()} if isinstance(data, Mapped) else {}


def _network(body: Mapping[str, Any], at: dict[str, Any]) -> NetworkStep:
    """A ``network`` step: which toxic, and its numbers in seconds and bytes per second."""
    named = [k for k in TOXICS if k in body]
    toxic = named[0] if len(named) == 1 else ""
    delay = jitter = rate = 0.0
    value = body.get(toxic)
    if toxic == "latency":
        delay, jitter = latency_of(value)
    elif toxic == "bandwidth":
        rate = bandwidth_of(value)
    elif toxic == "slow_close":
        delay = 1.0 if value is True else _seconds(value)
    return NetworkStep(
        **at,
        lines=_lines(body),
        name=body.get("as"),
        service=str(body["service"]),
        toxic=toxic,
        broker=body.get("broker"),
        direction=body.get("direction", "both"),
        delay=delay,
        jitter=jitter,
        rate=rate,
        duration=_seconds(body["for"]) if "for" in body else None,
        after=body.get("after"),
    )


def latency_of(value: Any) -> tuple[float, float]:
    """``200ms``, ``200ms ± 50ms`` (or ``+-``), a number, or ``{delay:, jitter:}``: seconds."""
    if isinstance(value, Mapping):
        return _seconds(value["delay"]), _seconds(value.get("jitter", 0))
    if isinstance(value, str):
        delay, _, jitter = re.sub(r"\+/?-", "±", value).partition("±")
        return _seconds(delay.strip()), _seconds(jitter.strip()) if jitter else 0.0
    return _seconds(value), 0.0


_RATE_UNITS = {"B": 1, "kB": 1000, "KB": 1000, "KiB": 1024, "MB": 10**6, "MiB": 2**20}


def bandwidth_of(value: Any) -> float:
    """``10kB/s`` (or a number of bytes per second) in bytes per second."""
    if isinstance(value, str):
        found = re.fullmatch(r"([\d.]+)\s*([A-Za-z]+)/s", value.strip())
        if found:
            return float(found.group(1)) * _RATE_UNITS[found.group(2)]
    return float(value)


def _recover(body: Mapping[str, Any], at: dict[str, Any]) -> Recover:
    of = body.get("of")
    return Recover(
        **at,
        lines=_lines(body),
        name=body.get("as"),
        channel=str(body["channel"]),
        type=body.get("type"),
        match=body.get("match"),
        fields=body.get("fields"),
        fault=body.get("fault"),
        by=body.get("by", "key"),
        of=None if of is None else tuple(of) if isinstance(of, list) else (str(of),),
        within=_seconds(body["within"]) if "within" in body else None,
        allow_duplicates=body.get("duplicates") == "allowed",
    )
