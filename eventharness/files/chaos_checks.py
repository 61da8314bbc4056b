"""The checks of the chaos steps: a ``network`` step names a proxied service and a known
broker, ``lift`` and ``recover`` name an earlier network step that ends; and
:func:`default_fault`, the fault a ``recover`` step judges when it names none.
"""

from __future__ import annotations

from eventharness.files.chaos_steps import Lift, NetworkStep, Recover
from eventharness.files.check_base import CheckBase
from eventharness.files.model import ScenarioFile
from eventharness.files.schema import closest

__all__ = [
    "ChaosChecks",
    "default_fault",
]


class ChaosChecks(CheckBase):
    """The checks of ``network``, ``lift`` and ``recover`` steps."""

    def network_step(self, step: NetworkStep) -> None:
        if not step.toxic:
            self.add(
                step.line,
                "network: name one fault: latency, bandwidth, cut, reset_peer, timeout or "
                "slow_close, e.g. {service: payments, cut: true, for: 5s}",
            )
        services = self.context.services
        profile = f"profile {self.context.profile!r}" if self.context.profile else "the profile"
        if services is not None and step.service not in services:
            self.add(
                step.at("service"),
                f"network: no service {step.service!r} in {profile}"
                f"{closest(step.service, services)} (services: "
                f"{', '.join(services) or 'none'}); faults go between a service the "
                "environment starts and its broker",
            )
        elif services is not None and not services[step.service]:
            self.add(
                step.at("service"),
                f"network: service {step.service!r} has no proxy: set proxy = true on it in "
                f"{profile} (its ${{brokers.NAME.bootstrap}} is then the proxy's address)",
            )
        if step.after is not None:
            self.earlier(
                step.after,
                step.at("after"),
                "network: after: {ref} is not an earlier expect step{why}",
            )
        known = self.context.brokers
        if step.broker is not None and known is not None and step.broker not in known:
            self.add(
                step.at("broker"),
                f"network: no broker {step.broker!r}{closest(step.broker, known)} "
                f"(brokers: {', '.join(sorted(known))})",
            )
        if step.label in self.network:
            self.add(
                step.at("as"),
                f"network step name {step.label!r} is already used by the step on line "
                f"{self.network[step.label].line}; names must be unique",
            )
        self.network[step.label] = step

    def no_fault(self, what: str, name: str) -> str:
        names = ", ".join(repr(n) for n in self.network if "#" not in n) or "none"
        return (
            f"{what}: {name!r} is not an earlier network step{closest(name, self.network)} "
            f"(named network steps above: {names}); name the step with as:"
        )

    def recover(self, step: Recover) -> None:
        self.channel(step.channel, step.at("channel"), "recover")
        for key, spec in (("match", step.match), ("fields", step.fields)):
            if spec is not None:
                self.refs(spec, step.at(key), steps=False)
                self.spec(spec, key, step.at(key), "recover")
        for channel in step.of or ():
            self.channel(channel, step.at("of"), "recover: of")
        if step.fault is not None and step.fault not in self.network:
            self.add(step.at("fault"), self.no_fault("recover: fault", step.fault))
            return
        fault = self.network.get(step.fault) if step.fault else default_fault(self.file, step)
        if fault is None:
            self.add(
                step.line,
                "recover: the scenario has no network step; a recovery is judged after a "
                "fault: add one (e.g. {service: payments, cut: true, for: 5s})",
            )
            return
        lifted = any(
            isinstance(s, Lift) and s.fault == fault.label and s.index > fault.index
            for s in self.file.steps
        )
        if fault.duration is None and not lifted:
            self.add(
                step.line,
                f"recover: the network step on line {fault.line} is never lifted, so there is "
                "no recovery to judge; give it for: (e.g. for: 5s) or add a lift step after it",
            )


def default_fault(file: ScenarioFile, step: Recover) -> NetworkStep | None:
    """The fault of a ``recover`` step that names none: the network step above it, else
    (a recovery declared first) the first one below it."""
    faults = [s for s in file.steps if isinstance(s, NetworkStep)]
    above = [s for s in faults if s.index < step.index]
    return above[-1] if above else faults[0] if faults else None
