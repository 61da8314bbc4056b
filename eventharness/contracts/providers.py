"""Provider configuration (``contracts/providers/NAME.yaml``): how to verify a provider on the
real broker — its state handlers, and per interaction the trigger and the channel to watch.

    provider: shipping
    state_setup_url: http://127.0.0.1:9000/_pact/state   # optional: Pact's catch-all
    state_teardown: true                    # optional: after each interaction, tear states down
    states:
      a payment was authorized: {}          # nothing to set up: the trigger brings it about
      an order exists:
        url: http://127.0.0.1:9000/_state   # POST {"state", "params", "action": "setup"}
      a customer exists:
        command: "python -m tools.seed --customer ${params.customer_id}"
      a warehouse exists:
        function: tests.states:warehouse    # called as fn(name, params[, action]); may be async
    interactions:
      a shipment is scheduled:              # the interaction's description in the pact
        trigger:
          publish:                          # or http: {method: POST, url: ..., json: ...}
            channel: kafka:payments
            key: "${params.order_id}"
            value: {type: PaymentAuthorized, order_id: "${params.order_id}", amount: 42}
        channel: "rabbit:${shipping}/shipment.*"   # default: the pact's metadata channel
        type: ShipmentScheduled             # optional: only events of this type
        within: 10s
    within: 10s                             # default window of every interaction
    function: tests.provider:message_for    # function mode (the CLI's --function), optional
    messages_url: http://127.0.0.1:9000/_pact/message   # function mode over HTTP (--messages-url)

Strings may hold ``${params.NAME}`` (the interaction's provider-state parameters),
``${correlation_id}`` (the scenario's), ``${uuid}``, ``${env.NAME}`` and the profile's variables
(``${shipping}`` or ``${vars.shipping}``), resolved when the interaction is verified. Problems
raise :class:`ContractError` naming ``file:line``.

With ``state_teardown: true`` (Pact's ``--state-change-teardown``) every state is torn down
after its interaction, whatever the verdict, in reverse order: a URL gets ``"action":
"teardown"``, a command runs again with ``PACT_ACTION=teardown`` (``setup`` when setting up), a
function taking a third parameter is called with ``"teardown"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventharness.contracts.yamlfile import only, plain, read_mapping, read_text
from eventharness.engine.templates import DURATION_HINT, parse_duration
from eventharness.files.lines import Mapped, line_of
from eventharness.model.errors import ContractError

__all__ = [
    "InteractionSetup",
    "ProviderConfig",
    "StateHandler",
    "Trigger",
    "load_provider_config",
    "parse_provider_config",
]


@dataclass(frozen=True)
class StateHandler:
    """How to put the provider in one state: ``kind`` is ``url``, ``command``, ``function`` or
    ``none`` (the trigger brings it about); ``target`` the URL, command or ``module:function``."""

    name: str
    kind: str
    target: str = ""
    where: str = ""


@dataclass(frozen=True)
class Trigger:
    """What makes the provider send its message: ``publish`` (channel, value, key, headers) or
    ``http`` (method, url, json, headers)."""

    kind: str
    spec: Mapping[str, Any]
    where: str = ""


@dataclass(frozen=True)
class InteractionSetup:
    description: str
    trigger: Trigger | None = None
    channel: str | None = None
    type: str | None = None
    within: float | None = None
    where: str = ""


@dataclass(frozen=True)
class ProviderConfig:
    provider: str
    source: str = "<defaults>"
    states: Mapping[str, StateHandler] = field(default_factory=dict)
    state_setup_url: str | None = None
    state_teardown: bool = False
    interactions: Mapping[str, InteractionSetup] = field(default_factory=dict)
    within: float | None = None
    function: str | None = None
    messages_url: str | None = None

    def state_handler(self, name: str) -> StateHandler | None:
        found = self.states.get(name)
        if found is None and self.state_setup_url:
            return StateHandler(name, "url", self.state_setup_url, self.source)
        return found


_TOP = {
    "provider",
    "states",
    "state_setup_url",
    "state_teardown",
    "interactions",
    "within",
    "function",
    "messages_url",
}
_INTERACTION = {"trigger", "channel", "type", "within"}


def load_provider_config(path: str | Path) -> ProviderConfig:
    p = Path(path)
    text = read_text(p, "provider config")
    return parse_provider_config(text, str(p))


def parse_provider_config(text: str, source: str) -> ProviderConfig:
    data = read_mapping(text, source, "provider config", "provider, states, ...")
    only(data, _TOP, source)
    if not isinstance(data.get("provider"), str):
        raise ContractError(f"{source}:{data.line}: 'provider' (its name) is required")
    states = {}
    raw_states = data.get("states") or Mapped()
    if not isinstance(raw_states, Mapped):
        raise ContractError(f"{source}:{line_of(data, 'states')}: states must be a mapping")
    for name, spec in raw_states.items():
        states[str(name)] = _state(str(name), spec, f"{source}:{line_of(raw_states, name)}")
    interactions = {}
    raw = data.get("interactions") or Mapped()
    if not isinstance(raw, Mapped):
        raise ContractError(f"{source}:{line_of(data, 'interactions')}: must be a mapping")
    for description, spec in raw.items():
        at = f"{source}:{line_of(raw, description)}"
        interactions[str(description)] = _interaction(str(description), spec, at, source)
    return ProviderConfig(
        provider=data["provider"],
        source=source,
        states=states,
        state_setup_url=_optional_text(data, "state_setup_url", source),
        state_teardown=_flag(data, "state_teardown", source),
        interactions=interactions,
        within=_within(data, source),
        function=_optional_text(data, "function", source),
        messages_url=_optional_text(data, "messages_url", source),
    )


def _flag(data: Mapped, key: str, source: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise ContractError(f"{source}:{line_of(data, key)}: {key} must be true or false")
    return value


def _state(name: str, spec: Any, at: str) -> StateHandler:
    if spec is None or (isinstance(spec, Mapped) and not spec):
        return StateHandler(name, "none", "", at)
    if not isinstance(spec, Mapped):
        raise ContractError(f"{at}: a state handler is {{url|command|function: ...}} or {{}}")
    kinds = [k for k in ("url", "command", "function") if k in spec]
    extra = [k for k in spec if k not in ("url", "command", "function")]
    if len(kinds) != 1 or extra:
        raise ContractError(
            f"{at}: state {name!r}: give exactly one of url, command, function (or {{}} when "
            "the trigger brings the state about)"
        )
    target = spec[kinds[0]]
    if not isinstance(target, str) or not target:
        raise ContractError(f"{at}: state {name!r}: {kinds[0]} must be a non-empty string")
    if kinds[0] == "function" and ":" not in target:
        raise ContractError(f"{at}: state {name!r}: function is 'module:function', got {target!r}")
    return StateHandler(name, kinds[0], target, at)


def _interaction(description: str, spec: Any, at: str, source: str) -> InteractionSetup:
    if not isinstance(spec, Mapped):
        raise ContractError(f"{at}: an interaction's setup is a mapping (trigger, channel, ...)")
    only(spec, _INTERACTION, source)
    trigger = None
    if "trigger" in spec:
        trigger = _trigger(spec["trigger"], f"{source}:{line_of(spec, 'trigger')}")
    return InteractionSetup(
        description,
        trigger,
        _optional_text(spec, "channel", source),
        _optional_text(spec, "type", source),
        _within(spec, source),
        at,
    )


def _trigger(spec: Any, at: str) -> Trigger:
    if (
        not isinstance(spec, Mapped)
        or len(spec) != 1
        or next(iter(spec)) not in ("publish", "http")
    ):
        raise ContractError(
            f"{at}: a trigger is {{publish: {{channel, value, ...}}}} or {{http: ...}}"
        )
    kind = next(iter(spec))
    body = spec[kind]
    if not isinstance(body, Mapped):
        raise ContractError(f"{at}: {kind} must be a mapping")
    needed: tuple[str, ...] = ("channel", "value") if kind == "publish" else ("url",)
    allowed = (
        {"channel", "value", "key", "headers"}
        if kind == "publish"
        else {"method", "url", "json", "headers"}
    )
    for key in body:
        if key not in allowed:
            raise ContractError(
                f"{at.rsplit(':', 1)[0]}:{line_of(body, key)}: {kind} takes "
                f"{', '.join(sorted(allowed))}, not {key!r}"
            )
    for key in needed:
        if key not in body:
            raise ContractError(f"{at}: {kind} needs {key!r}")
    return Trigger(kind, plain(body), at)


def _within(node: Mapped, source: str) -> float | None:
    if "within" not in node:
        return None
    try:
        return parse_duration(node["within"])
    except (ValueError, TypeError):
        raise ContractError(
            f"{source}:{line_of(node, 'within')}: within {node['within']!r}: {DURATION_HINT}"
        ) from None


def _optional_text(node: Mapped, key: str, source: str) -> str | None:
    if key not in node:
        return None
    value = node[key]
    if not isinstance(value, str) or not value:
        raise ContractError(f"{source}:{line_of(node, key)}: {key} must be a non-empty string")
    return value
