"""Breaking changes across teams: what ``contracts check`` reports before a merge.

**(a) A provider's schema change that breaks a consumer's pact** — :func:`schema_breaks`. Each
message the provider sends in the pact (an asynchronous message, a synchronous response) is
matched to a subject of the provider's schema folder: the message metadata's ``schema``
(``shop.ShipmentScheduled`` or ``subject@2``), else a subject named after its topic or channel
address (``orders``, ``orders-value``). Its example body, with the pact's generators applied,
must still be accepted by the subject's latest schema, and every field the example holds must
still be declared there (Avro record fields; JSON Schema ``properties``). A field the previous
version required that the new one makes optional is a break too: the provider may now leave
out what the consumer reads. When the previous version is known, what ``schemas check``'s
compatibility code (:func:`~eventharness.schemas.compat.check_compatibility`, FORWARD: can the
old readers read the new data) says about the same field is attached.

**(b) A new pact that asks for more than the provider verified** — :func:`pending_changes`
compares it with the last pact of the same consumer and provider that the provider verified
successfully (:func:`last_verified`): new interactions (by description and provider states),
newly required fields, tighter rules (an ``equality`` where a ``type`` matcher was, a changed
regex), new or changed metadata. Such a pact is *pending*: the provider has to verify it
before the consumer can deploy.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eventharness.contracts.generators import generate
from eventharness.contracts.model import ASYNC, Interaction, Message, Pact
from eventharness.contracts.paths import PathStep
from eventharness.contracts.rules import BODY, RuleList
from eventharness.contracts.store import ContractStore, PublishedPact
from eventharness.model.errors import EventHarnessError
from eventharness.model.events import is_missing
from eventharness.schemas.avro_compat import normalize
from eventharness.schemas.compat import check_compatibility
from eventharness.schemas.store import LocalSchemaStore, StoredSchema, split_ref
from eventharness.schemas.validators import json_path

__all__ = [
    "Finding",
    "declared",
    "last_verified",
    "pending_changes",
    "schema_breaks",
    "subject_for",
]

OldVersions = Callable[[str], list[StoredSchema]]
_NOW = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # generators run on a fixed clock and seed


@dataclass(frozen=True)
class Finding:
    """One break (a) or one pending demand (b): who, which interaction, which field, why.
    ``detail`` is what the schema compatibility check says about the same field."""

    kind: str  # "break" | "pending"
    consumer: str
    provider: str
    version: str  # the consumer version, or the pact file
    interaction: str
    field: str  # a JSON path ("$.eta"), or "" for the whole interaction
    reason: str
    detail: str = ""

    def __str__(self) -> str:
        head = "BREAK" if self.kind == "break" else "PENDING"
        at = f" {self.field}" if self.field else ""
        text = f"{head} {self.consumer} {self.version} -> {self.provider}: "
        text += f"{self.interaction!r}{at}: {self.reason}"
        return text + (f" [schemas check: {self.detail}]" if self.detail else "")


# -- the example body and its fields ------------------------------------------------------------


def _leaves(
    value: Any, path: tuple[PathStep, ...] = ()
) -> Iterator[tuple[tuple[PathStep, ...], Any]]:
    """Every scalar (and empty container) in ``value`` with its path."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list) and value:
        for i, item in enumerate(value):
            yield from _leaves(item, (*path, i))
    elif path:
        yield path, value


def _shape(path: str) -> str:
    """``$.lines[0].qty`` → ``$.lines[].qty``: one path per field, as the compat code writes."""
    return re.sub(r"\[\d+\]", "[]", path)


def _example(message: Message, interaction: Interaction) -> Any:
    state: dict[str, Any] = {}
    for s in interaction.provider_states:
        state.update(s.params)
    body = message.contents.value
    try:
        return generate(body, message.generators.category(BODY), seed=0, now=_NOW, state=state)
    except (EventHarnessError, ValueError, KeyError):
        return body  # a generator that cannot run here: check the example as written


# -- (a) schema changes -------------------------------------------------------------------------


def subject_for(message: Message, subjects: Collection[str]) -> tuple[str | None, str | None]:
    """(the subject this message is checked against or None, the subject it names)."""
    named = message.metadata.get("schema")
    if isinstance(named, str) and named:
        subject = split_ref(named)[0]
        return (subject if subject in subjects else None), named
    names = [message.topic] if message.topic else []
    if message.channel and ":" in message.channel:
        address = message.channel.partition(":")[2]
        names += [address, address.partition("/")[0], address.rpartition("/")[2]]
    for name in names:
        for subject in (name, f"{name}-value"):
            if name and subject in subjects:
                return subject, None
    return None, None


_RANK = {"ok": 0, "optional": 1, "open": 2, "missing": 3}


def _best(found: Sequence[str]) -> str:
    return min(found, key=_RANK.__getitem__) if found else "missing"


def declared(schema: Any, kind: str, path: Sequence[PathStep]) -> str:
    """Does ``schema`` promise a value at ``path``? ``ok`` (required), ``optional`` (may be
    left out or null), ``open`` (the schema does not constrain that place), ``missing``."""
    if kind == "avro":
        node, names = normalize(schema)
        return _avro(node, names, tuple(path), False)
    return _json(schema, schema, tuple(path), False, 0)


def _avro(node: Any, names: Mapping[str, Any], path: tuple[PathStep, ...], optional: bool) -> str:
    if isinstance(node, str) and node in names:
        node = names[node]
    if isinstance(node, list):  # a union: null makes the place optional
        nullable = "null" in node
        return _best([_avro(b, names, path, optional or nullable) for b in node if b != "null"])
    if not path:
        return "optional" if optional else "ok"
    if not isinstance(node, dict):
        return "missing"
    kind, step = node.get("type"), path[0]
    if kind in ("record", "error") and isinstance(step, str):
        for f in node.get("fields", []):
            if f.get("name") == step:
                return _avro(f.get("type"), names, path[1:], optional)
        return "missing"
    if kind == "array" and isinstance(step, int):
        return _avro(node.get("items"), names, path[1:], optional)
    if kind == "map" and isinstance(step, str):
        return _avro(node.get("values"), names, path[1:], True)
    if isinstance(kind, dict | list) or (isinstance(kind, str) and kind in names):
        return _avro(kind, names, path, optional)
    return "missing"


def _resolve(node: Any, root: Any) -> Any:
    for _ in range(32):
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
            return node
        ref = node["$ref"]
        if not ref.startswith("#"):
            return True  # an external reference: not followed, treated as open
        target = root
        try:
            for part in ref[1:].split("/")[1:]:
                part = part.replace("~1", "/").replace("~0", "~")
                target = target[int(part)] if isinstance(target, list) else target[part]
        except (KeyError, IndexError, ValueError, TypeError):
            return True
        node = target
    return node


def _search(pattern: str, text: str) -> bool:
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return True


def _json(node: Any, root: Any, path: tuple[PathStep, ...], optional: bool, depth: int) -> str:
    node = _resolve(node, root)
    if node is False:
        return "missing"
    if node is True or not isinstance(node, dict) or depth > 64:
        return "open" if path else ("optional" if optional else "ok")
    rest = {k: v for k, v in node.items() if k not in ("anyOf", "oneOf", "allOf")}
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(node.get(key), list):
            parts = [{**rest, **b} if isinstance(b, dict) else b for b in node[key]]
            return _best([_json(b, root, path, optional, depth + 1) for b in parts])
    types = node.get("type")
    nullable = types == "null" or (isinstance(types, list) and "null" in types)
    if not path:
        return "optional" if optional or nullable else "ok"
    step = path[0]
    if isinstance(step, str):
        props = node.get("properties") or {}
        if step in props:
            required = step in (node.get("required") or [])
            below = optional or nullable or not required
            return _json(props[step], root, path[1:], below, depth + 1)
        extra = node.get("additionalProperties", node.get("unevaluatedProperties"))
        if extra is False:
            return "missing"
        if isinstance(extra, dict) and extra:
            return _json(extra, root, path[1:], True, depth + 1)
        if any(_search(pattern, step) for pattern in node.get("patternProperties") or {}):
            return "open"
        return "missing" if props else "open"
    prefix = node.get("prefixItems")
    if isinstance(prefix, list) and step < len(prefix):
        return _json(prefix[step], root, path[1:], optional, depth + 1)
    items = node.get("items")
    if isinstance(items, list):
        return (
            _json(items[step], root, path[1:], optional, depth + 1) if step < len(items) else "open"
        )
    if items is not None:
        return _json(items, root, path[1:], optional, depth + 1)
    return "open"


def schema_breaks(
    pact: Pact,
    version: str,
    schemas: LocalSchemaStore,
    old_versions: OldVersions | None = None,
) -> tuple[list[Finding], list[str]]:
    """(a): the breaks, and notes on messages that could not be checked (no schema)."""
    findings: list[Finding] = []
    notes: list[str] = []
    subjects = schemas.subjects()
    for interaction in pact.interactions:
        messages = [interaction.message] if interaction.kind == ASYNC else interaction.responses
        for message in messages:
            subject, named = subject_for(message, subjects)
            label = f"{pact.consumer} {version} -> {pact.provider}: {interaction.description!r}"
            if subject is None:
                notes.append(
                    f"{label}: names schema {named!r}, which {schemas.root}/ does not have; "
                    "not checked"
                    if named
                    else f"{label}: no schema (metadata 'schema', or a subject named after "
                    "its topic); not checked"
                )
                continue
            body = _example(message, interaction)
            if is_missing(body) or isinstance(body, bytes | str):
                continue
            new = schemas.get(subject)
            olds = [
                o for o in (old_versions(subject) if old_versions else []) if o.kind == new.kind
            ]
            old = olds[-1] if olds and olds[-1].schema != new.schema else None
            found = _message_breaks(body, new, old)
            for field in sorted(found):
                reason, detail = found[field]
                findings.append(
                    Finding(
                        "break",
                        pact.consumer,
                        pact.provider,
                        version,
                        interaction.description,
                        field,
                        reason,
                        detail,
                    )
                )
    return findings, notes


# JSON Schema rules whose words read as "the new schema added": in FORWARD mode they mean a
# removal, which the reason above already says more plainly.
_WORDED_FOR_NEW_READERS = frozenset({"property:added-to-open", "required:added"})


def _message_breaks(
    body: Any, new: StoredSchema, old: StoredSchema | None
) -> dict[str, tuple[str, str]]:
    """Field (shape path) → (why the new schema breaks it, what the compat check says)."""
    name = f"{new.subject} version {new.version}"
    was = "" if old is None else f"version {old.version}"
    if old is not None and old.version == new.version:
        was = old.source  # from a git ref: "main:shop.ShipmentScheduled.json"
    reasons: dict[str, str] = {}
    for violation in new.validator().validate(body):
        reasons.setdefault(
            _shape(violation.path),
            f"{name} rejects the pact's example: {violation.message} ({violation.rule})",
        )
    for steps, value in _leaves(body):
        field = _shape(json_path(steps))
        now = declared(new.schema, new.kind, steps)
        before = declared(old.schema, old.kind, steps) if old else None
        if now == "missing":
            reasons.setdefault(
                field,
                f"{name} no longer declares it ({was} did); the pact relies on it"
                if old and before in ("ok", "optional")
                else f"{name} does not declare it; the pact relies on it",
            )
        elif now == "optional" and before == "ok" and value is not None and old:
            reasons.setdefault(
                field,
                f"{name} makes it optional ({was} required it): the provider "
                "may leave out a field the pact relies on",
            )
    if not reasons or old is None:
        return {f: (r, "") for f, r in reasons.items()}
    compat: dict[str, str] = {}
    for problem in check_compatibility(new.schema, [old.schema], "FORWARD", new.kind):
        if problem.rule not in _WORDED_FOR_NEW_READERS:
            compat.setdefault(problem.path, f"{problem.message} ({problem.rule})")
    return {f: (r, compat.get(f, "")) for f, r in reasons.items()}


# -- (b) pending: more than the provider verified ---------------------------------------------


def last_verified(store: ContractStore, consumer: str, provider: str) -> PublishedPact | None:
    """The latest consumer version's pact with ``provider`` that ``provider`` verified."""
    passed = {
        v.pact_hash for v in store.verifications(provider) if v.consumer == consumer and v.success
    }
    order = {info.version: i for i, info in enumerate(store.versions(consumer))}
    pacts = sorted(store.pacts(consumer, provider), key=lambda p: order.get(p.version, -1))
    for published in reversed(pacts):
        if published.hash in passed:
            return published
    return None


def _rule_text(rule: RuleList | None) -> str:
    if rule is None:
        return "equality"
    return f" {rule.combine} ".join(m.describe() for m in rule.matchers)


def _looser(rule: RuleList) -> bool:
    """A plain ``type`` matcher asks for nothing but the shape."""
    return all(m.kind == "type" and not m.params for m in rule.matchers)


def _asks_more(new: Message, old: Message) -> Iterator[tuple[str, str]]:
    """(field, why) for every demand of ``new`` that ``old`` did not make."""
    olds = {_shape(json_path(s)): (s, v) for s, v in _leaves(old.contents.value)}
    news = {_shape(json_path(s)): (s, v) for s, v in _leaves(new.contents.value)}
    for field, (steps, value) in sorted(news.items()):
        if field not in olds:
            yield field, "newly required: the last verified pact does not ask for it"
            continue
        old_steps, old_value = olds[field]
        rule = new.matching_rules.best(BODY, steps)
        old_rule = old.matching_rules.best(BODY, old_steps)
        if rule is None and old_rule is None and value != old_value:
            yield field, f"now expects {json.dumps(value)} (verified: {json.dumps(old_value)})"
        elif rule is None and old_rule is not None:
            yield (
                field,
                f"now expects exactly {json.dumps(value)} (verified: {_rule_text(old_rule)})",
            )
        elif (
            rule is not None
            and old_rule is not None
            and not _looser(rule)
            and _rule_text(rule) != _rule_text(old_rule)
        ):
            yield field, f"rule now {_rule_text(rule)} (verified: {_rule_text(old_rule)})"
    for key, value in sorted(new.metadata.items()):
        if key not in old.metadata:
            yield (
                f"metadata.{key}",
                "newly required metadata: the last verified pact does not ask for it",
            )
        elif old.metadata[key] != value and not new.matching_rules.category("metadata").get(key):
            yield (
                f"metadata.{key}",
                f"now expects {json.dumps(value)} (verified: {json.dumps(old.metadata[key])})",
            )


def pending_changes(new: Pact, version: str, verified: PublishedPact | None) -> list[Finding]:
    """(b): what ``new`` asks for that the provider has not verified."""

    def finding(interaction: str, field: str, reason: str) -> Finding:
        return Finding("pending", new.consumer, new.provider, version, interaction, field, reason)

    if verified is None:
        return [finding("*", "", f"{new.provider} has not verified any pact of {new.consumer} yet")]
    if verified.pact.interactions == new.interactions:
        return []
    olds = {i.sort_key(): i for i in verified.pact.interactions}
    out = []
    for interaction in sorted(new.interactions, key=Interaction.sort_key):
        old = olds.get(interaction.sort_key())
        if old is None:
            out.append(
                finding(
                    interaction.description,
                    "",
                    "a new interaction: "
                    f"{new.provider} has not verified it (last verified pact: "
                    f"{new.consumer} {verified.version})",
                )
            )
            continue
        pairs = [
            (interaction.message, old.message),
            *zip(interaction.responses, old.responses, strict=False),
        ]
        for new_message, old_message in pairs:
            for field, reason in _asks_more(new_message, old_message):
                why = f"{reason}; last verified: {new.consumer} {verified.version}"
                out.append(finding(interaction.description, field, why))
        if len(interaction.responses) > len(old.responses):
            out.append(
                finding(interaction.description, "", "asks for more responses than verified")
            )
    return out
