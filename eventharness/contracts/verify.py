"""Provider verification: does what the provider sends satisfy each consumer's pact?

    results = await verify_function(pacts, "shop.contracts:message_for")   # function mode
    results = await verify_on_harness(pacts, harness, config)             # broker mode
    results.ok; print(results.render())

Function mode (what Pact does) asks the provider's code for the message of an interaction: a
Python callable ``fn(description, params)`` returning the body (or ``(body, metadata)``, or an
``eh.Message``), or an HTTP endpoint answering Pact's message-proxy request (``POST {"description",
"providerStates"}`` → the body, metadata in the base64 JSON header ``Pact-Message-Metadata``).
Broker mode (:mod:`~eventharness.contracts.broker`) collects the message on the real channel.

Either way each message is compared with :func:`compare_message` — body under the pact's rules,
then the metadata keys that are not ours — and every mismatch names the interaction, the JSON
path, the rule and the actual value. :func:`check_inputs` refuses, before anything runs, what
cannot be verified: a pact for no provider asked for, an interaction with no channel, a provider
state with no handler (:class:`ContractError`, the pact file and JSON path named).
"""

from __future__ import annotations

import base64
import importlib
import inspect
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from eventharness.contracts.compare import Mismatch, compare_body, compare_metadata
from eventharness.contracts.model import SYNC, Interaction, Message, Pact
from eventharness.contracts.providers import ProviderConfig
from eventharness.model.errors import ContractError
from eventharness.model.events import Message as OutMessage

__all__ = [
    "OURS",
    "InteractionResult",
    "LoadedPact",
    "Verification",
    "channel_of",
    "check_inputs",
    "compare_message",
    "expected_message",
    "load_function",
    "message_from_function",
    "message_from_url",
    "request_channel",
    "verify_function",
]

# Metadata keys that say where and how a message travels, not what it carries: not compared
# with the collected message's headers.
OURS = frozenset(
    {"channel", "topic", "contentType", "content-type", "Content-Type", "correlation", "schema"}
)
Status = Literal["verified", "failed"]


@dataclass(frozen=True)
class LoadedPact:
    """A pact and where it came from (``source`` names it in every message)."""

    pact: Pact
    source: str


@dataclass(frozen=True)
class InteractionResult:
    """The verdict on one interaction. ``problem`` says why nothing could be compared (no message
    arrived, the trigger failed); ``timeline`` is the scenario's (broker mode)."""

    source: str
    consumer: str
    provider: str
    description: str
    status: Status
    mismatches: tuple[Mismatch, ...] = ()
    problem: str | None = None
    notes: tuple[str, ...] = ()
    timeline: str = ""
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "verified"

    @property
    def title(self) -> str:
        return f"{self.consumer} ← {self.provider}: {self.description!r}"

    def render(self) -> str:
        mark = "✓" if self.ok else "✗"
        lines = [f"{mark} {self.title} ({self.duration_s:.2f}s) [{self.source}]"]
        if self.problem:
            lines.append(f"    {self.problem}")
        for m in self.mismatches:
            lines.append(
                f"    {m.path}: expected {m.rule} (example {_show(m.expected)}), "
                f"got {_show(m.actual)} — {m.message}"
            )
        lines.extend(f"    {note}" for note in self.notes)
        if not self.ok and self.timeline:
            lines.append("    timeline (t from scenario start, → sent, ← received):")
            lines.extend("  " + row for row in self.timeline.splitlines())
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "consumer": self.consumer,
            "provider": self.provider,
            "description": self.description,
            "status": self.status,
            "problem": self.problem,
            "mismatches": [
                {"path": m.path, "rule": m.rule, "expected": m.expected, "actual": m.actual}
                for m in self.mismatches
            ],
        }


@dataclass
class Verification:
    results: list[InteractionResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failed(self) -> list[InteractionResult]:
        return [r for r in self.results if not r.ok]

    def render(self) -> str:
        body = "\n".join(r.render() for r in self.results)
        failed = len(self.failed)
        summary = f"{len(self.results)} interaction(s): {len(self.results) - failed} verified"
        return body + "\n" + summary + (f", {failed} failed" if failed else "")


def _show(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)[:120]
    except TypeError:
        return repr(value)[:120]


# -- comparing --------------------------------------------------------------------------------


def compare_message(
    interaction: Interaction, body: Any, metadata: Mapping[str, Any] | None = None
) -> list[Mismatch]:
    """Every mismatch of an actual message with the interaction's expected one."""
    message = expected_message(interaction)
    found = compare_body(
        message.contents.value,
        body,
        message.matching_rules.category("body"),
        content_type=message.content_type,
    )
    expected_meta = {k: v for k, v in message.metadata.items() if k not in OURS}
    if expected_meta:
        found += compare_metadata(
            expected_meta, dict(metadata or {}), message.matching_rules.category("metadata")
        )
    return found


# -- checking the inputs ----------------------------------------------------------------------


def _where(loaded: LoadedPact, index: int) -> str:
    key = "interactions" if loaded.pact.spec.startswith("4") else "messages"
    return f"{loaded.source}: $.{key}[{index}]"


def expected_message(interaction: Interaction) -> Message:
    """The message the provider must send: a synchronous interaction's (first) response, else
    the interaction's message."""
    if interaction.kind == SYNC and interaction.responses:
        return interaction.responses[0]
    return interaction.message


def _channel(message: Message) -> str | None:
    if message.channel:
        return message.channel
    if message.topic:
        return f"kafka:{message.topic}"
    return None


def channel_of(interaction: Interaction, config: ProviderConfig | None) -> str | None:
    """Where the provider's message is collected: the provider config's channel for it, else
    the pact's ``channel`` metadata, else ``kafka:<topic>`` from a ``topic`` (of the response,
    for a synchronous interaction)."""
    setup = config.interactions.get(interaction.description) if config else None
    if setup is not None and setup.channel:
        return setup.channel
    return _channel(expected_message(interaction))


def request_channel(interaction: Interaction) -> str | None:
    """Where a synchronous interaction's request is published (its metadata), else None."""
    return _channel(interaction.message) if interaction.kind == SYNC else None


def check_inputs(
    pacts: Sequence[LoadedPact],
    providers: Iterable[str] | None,
    config_for: Callable[[str], ProviderConfig | None] | None,
) -> list[LoadedPact]:
    """The pacts to verify (those of ``providers``, all when None), after refusing what cannot
    be verified. ``config_for`` is given in broker mode: then every interaction needs a channel,
    a trigger and a handler for each of its provider states."""
    wanted = set(providers or ())
    chosen = [p for p in pacts if not wanted or p.pact.provider in wanted]
    if not chosen:
        found = sorted({p.pact.provider for p in pacts}) or ["none"]
        raise ContractError(
            f"no pact is for provider {', '.join(sorted(wanted))}; the pacts given are for "
            f"{', '.join(found)}"
        )
    for loaded in chosen:
        for i, interaction in enumerate(loaded.pact.interactions):
            where = _where(loaded, i)
            if interaction.kind == SYNC:
                _check_sync(interaction, where, broker_mode=config_for is not None)
            if config_for is None:
                continue
            config = config_for(loaded.pact.provider)
            if config is None:
                raise ContractError(
                    f"{where}: no provider config for {loaded.pact.provider!r} (write "
                    f"contracts/providers/{loaded.pact.provider}.yaml, or use --function)"
                )
            if channel_of(interaction, config) is None:
                raise ContractError(
                    f"{where}.metadata: interaction {interaction.description!r} has no channel "
                    f"(metadata 'channel' or 'topic', or 'channel:' in {config.source})"
                )
            setup = config.interactions.get(interaction.description)
            if (setup is None or setup.trigger is None) and not request_channel(interaction):
                raise ContractError(
                    f"{where}: interaction {interaction.description!r} has no trigger in "
                    f"{config.source} (interactions: {interaction.description!r}: trigger: ...)"
                )
            for j, state in enumerate(interaction.provider_states):
                if config.state_handler(state.name) is None:
                    raise ContractError(
                        f"{where}.providerStates[{j}]: provider state {state.name!r} has no "
                        f"handler in {config.source} (states:) and no state_setup_url"
                    )
    return chosen


def _check_sync(interaction: Interaction, where: str, *, broker_mode: bool) -> None:
    if not broker_mode:
        raise ContractError(
            f"{where}.type: {SYNC} interactions are verified in broker mode (the request is "
            "published, the response collected on its channel), not with --function"
        )
    if not interaction.responses:
        raise ContractError(
            f"{where}.response: interaction {interaction.description!r} has no response to verify"
        )


# -- function mode ----------------------------------------------------------------------------

MessageFunction = Callable[[str, Mapping[str, Any]], Any]


def load_function(spec: str) -> Callable[..., Any]:
    """The callable ``module:function`` names; :class:`ContractError` when it cannot be had."""
    module_name, sep, name = spec.partition(":")
    if not sep or not module_name or not name:
        raise ContractError(f"{spec!r}: give a Python callable as module:function")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ContractError(f"{spec!r}: cannot import {module_name}: {exc}") from None
    found = getattr(module, name, None)
    if not callable(found):
        raise ContractError(f"{spec!r}: {module_name} has no callable {name!r}")
    return found  # type: ignore[no-any-return]


def _split(answer: Any) -> tuple[Any, dict[str, Any]]:
    if isinstance(answer, OutMessage):
        return answer.value, {k: v for k, v in answer.headers.items()}
    if isinstance(answer, tuple) and len(answer) == 2 and isinstance(answer[1], Mapping):
        return answer[0], dict(answer[1])
    return answer, {}


async def message_from_function(
    fn: Callable[..., Any], interaction: Interaction
) -> tuple[Any, dict[str, Any]]:
    params: dict[str, Any] = {}
    for state in interaction.provider_states:
        params.update(state.params)
    answer = fn(interaction.description, params)
    if inspect.isawaitable(answer):
        answer = await answer
    return _split(answer)


async def message_from_url(
    client: Any, url: str, interaction: Interaction
) -> tuple[Any, dict[str, Any]]:
    """Pact's message-proxy protocol: POST the description and states, read body + metadata."""
    request = {
        "description": interaction.description,
        "providerStates": [s.to_json() for s in interaction.provider_states],
    }
    response = await client.post(url, json=request)
    if response.status_code >= 300:
        raise ContractError(
            f"{url} answered {response.status_code} for {interaction.description!r}"
        )
    metadata: dict[str, Any] = {}
    header = response.headers.get("pact-message-metadata")
    if header:
        metadata = json.loads(base64.b64decode(header))
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    return body, metadata


async def verify_function(
    pacts: Sequence[LoadedPact],
    function: str | Callable[..., Any] | None = None,
    *,
    url: str | None = None,
) -> Verification:
    """Function mode: the message of each interaction comes from ``function`` (a callable or
    ``module:function``) or from the HTTP endpoint ``url``."""
    fn = load_function(function) if isinstance(function, str) else function
    if fn is None and url is None:
        raise ContractError("function mode needs a function (module:function) or a URL")
    verification = Verification()
    client = None
    if url is not None:
        import httpx

        client = httpx.AsyncClient(timeout=10.0)
    try:
        for loaded in pacts:
            for interaction in loaded.pact.interactions:
                began = time.monotonic()
                problem = None
                mismatches: list[Mismatch] = []
                try:
                    if fn is not None:
                        body, metadata = await message_from_function(fn, interaction)
                    else:
                        body, metadata = await message_from_url(client, str(url), interaction)
                    mismatches = compare_message(interaction, body, metadata)
                except ContractError:
                    raise
                except Exception as exc:  # the provider's code failed: a failed verification
                    problem = f"the provider gave no message: {type(exc).__name__}: {exc}"
                verification.results.append(
                    InteractionResult(
                        loaded.source,
                        loaded.pact.consumer,
                        loaded.pact.provider,
                        interaction.description,
                        "failed" if problem or mismatches else "verified",
                        tuple(mismatches),
                        problem,
                        duration_s=time.monotonic() - began,
                    )
                )
    finally:
        if client is not None:
            await client.aclose()
    return verification
