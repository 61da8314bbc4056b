"""The checks of a ``stubs:`` entry: its channels, match specs and the names its
answers' templates may use (:data:`STUB_NAMES`).
"""

from __future__ import annotations

from eventharness.data.fake import HEAD as FAKE
from eventharness.engine.templates import references
from eventharness.files.check_base import BUILTIN_VARIABLES, CheckBase
from eventharness.files.located import UNSET
from eventharness.files.stub_specs import StubSpec

__all__ = [
    "STUB_NAMES",
    "StubChecks",
]


#: What a stub's templates may name besides the scenario's variables (see docs/stubs.md).
STUB_NAMES = ("in", "count", "uuid", "stub", "now")


class StubChecks(CheckBase):
    """The checks of ``stubs:`` entries."""

    def stub(self, stub: StubSpec) -> None:
        here = f"stub {stub.name!r}"
        self.channel(stub.consume, stub.at("consume"), here)
        if stub.group is not None:
            self.refs(stub.group, stub.at("group"), steps=False)
        for key, spec in (("match", stub.match), ("fields", stub.fields)):
            if spec is not None:
                self.spec(spec, key, stub.at(key), here)
        known = self.variables | set(BUILTIN_VARIABLES)
        for j, response in enumerate(stub.respond):
            where = f"{here}: respond[{j}]"
            templates = [response.value, response.headers]
            if response.key is not UNSET:
                templates.append(response.key)
            for ref in references(templates):
                if ref.problem:
                    self.add(response.line, f"{where}: {ref.problem}")
                elif ref.head == FAKE:
                    problem = self.unknown(ref, steps=False)
                    if problem:
                        self.add(response.line, f"{where}: {problem}")
                elif ref.head not in {*STUB_NAMES, *known} and ref.default is None:
                    self.add(
                        response.line,
                        f"{where}: ${{{ref.text}}} is not something a stub "
                        "knows; use ${in.value.<path>}, ${in.key}, ${in.headers.<name>}, "
                        "${in.type}, ${count}, ${uuid} or ${stub}",
                    )
            self.channel(response.channel, response.at("channel"), where)
            if response.when is not None:
                self.spec(response.when, "when", response.at("when"), where)
