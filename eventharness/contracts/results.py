"""Verification against the contract store: which pacts a provider verifies, and where the
results go.

    chosen = pacts_to_verify(store, "payments", consumer_branch="main")
    ...verify chosen...
    written = publish_results(store, verification, chosen, provider_version="2.0.0")

Which pacts (Pact's consumer version selectors, the two most used): for each consumer with a
pact with the provider, its **latest** version (on ``consumer_branch`` when given) and every
version **deployed** in an environment. Consumer versions that published the same content are
verified once (a pact's identity is its content hash) and the result is recorded for each of
them. Pact files given on the command line are matched to the store by their content hash:
one that no consumer version published cannot have a result recorded, and says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from eventharness.contracts.pactfile import content_hash
from eventharness.contracts.store import ContractStore, PublishedPact
from eventharness.contracts.store import InteractionResult as StoredResult
from eventharness.contracts.verify import InteractionResult, LoadedPact, Verification
from eventharness.model.errors import ContractError

__all__ = ["ToVerify", "from_files", "pacts_to_verify", "publish_results"]


@dataclass(frozen=True)
class ToVerify:
    """One pact's content, and the consumer versions that published it (why it is verified)."""

    loaded: LoadedPact
    consumer_versions: tuple[str, ...]
    why: tuple[str, ...] = ()


def pacts_to_verify(
    store: ContractStore, provider: str, *, consumer_branch: str | None = None
) -> list[ToVerify]:
    """The pacts ``provider`` must verify: each consumer's latest (on ``consumer_branch``)
    and deployed versions, one entry per distinct content."""
    published = store.pacts(provider=provider)
    if not published:
        raise ContractError(
            f"{store.source.where('pacts')}: no consumer has published a pact with {provider!r} "
            "(contracts publish PACT --version V)"
        )
    wanted: dict[tuple[str, str], list[str]] = {}
    for consumer in sorted({p.consumer for p in published}):
        latest = store.latest(consumer, consumer_branch)
        if latest is not None:
            on = f" on {consumer_branch}" if consumer_branch else ""
            wanted.setdefault((consumer, latest), []).append(f"latest{on}")
    for environment in store.environments():
        for consumer, version in store.deployed(environment).items():
            wanted.setdefault((consumer, version), []).append(f"deployed in {environment}")
    by_content: dict[str, tuple[PublishedPact, list[str], list[str]]] = {}
    for pact in published:
        why = wanted.get((pact.consumer, pact.version))
        if why is None:
            continue
        entry = by_content.setdefault(pact.hash, (pact, [], []))
        entry[1].append(pact.version)
        entry[2].extend(f"{pact.consumer} {pact.version}: {reason}" for reason in why)
    if not by_content:
        chosen = f" on branch {consumer_branch!r}" if consumer_branch else ""
        raise ContractError(
            f"{store.source.where('pacts')}: no latest{chosen} or deployed consumer version has "
            f"a pact with {provider!r}"
        )
    return [
        ToVerify(LoadedPact(pact.pact, pact.where), tuple(versions), tuple(why))
        for pact, versions, why in sorted(
            by_content.values(), key=lambda e: (e[0].consumer, e[0].version)
        )
    ]


def from_files(store: ContractStore, loaded: Iterable[LoadedPact]) -> list[ToVerify]:
    """Pact files matched to the consumer versions of the store that published the same
    content; a file no version published is an error (its result could not be recorded)."""
    out = []
    for pact in loaded:
        digest = content_hash(pact.pact)
        versions = tuple(
            p.version
            for p in store.pacts(pact.pact.consumer, pact.pact.provider)
            if p.hash == digest
        )
        if not versions:
            raise ContractError(
                f"{pact.source}: no version of {pact.pact.consumer} in "
                f"{store.source.where('pacts')} published this pact, so its verification "
                "cannot be recorded; publish it first (contracts publish PACT --version V)"
            )
        out.append(ToVerify(pact, versions))
    return out


def _reasons(result: InteractionResult) -> tuple[str, ...]:
    found = [result.problem] if result.problem else []
    found += [f"{m.path}: expected {m.rule}, got {m.actual!r}" for m in result.mismatches]
    return tuple(found)


def publish_results(
    store: ContractStore,
    verification: Verification,
    verified: Sequence[ToVerify],
    *,
    provider_version: str,
    branch: str | None = None,
) -> list[Path]:
    """Record each verified pact's per-interaction results for every consumer version that
    published it, as ``provider_version`` (on ``branch``) of its provider."""
    written: list[Path] = []
    for entry in verified:
        rows = [r for r in verification.results if r.source == entry.loaded.source]
        results = [StoredResult(r.description, r.ok, _reasons(r)) for r in rows]
        for version in entry.consumer_versions:
            written.append(
                store.record_verification(
                    provider_version, entry.loaded.pact, version, results, branch
                )
            )
    return sorted(set(written))
