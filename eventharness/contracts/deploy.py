"""The compatibility matrix and can-i-deploy, read from the contract store (no server).

A matrix row is one consumer version's pact with a provider and one provider version's
verification of it (matched by the pact's content hash), or the pact alone when no provider
version has verified it. The rule :func:`can_i_deploy` applies:

    X@V may be deployed to E when, for every pacticipant deployed in E that X has a pact with,
    * X as consumer: the provider version deployed in E verified X@V's pact successfully;
    * X as provider: X@V verified successfully the pact of the consumer version deployed in E.

A version the store has never heard of cannot be deployed; an environment with no recorded
deployments is not an error only when its file exists (``deployments/ENV.json``), so a typo in
the environment's name cannot pass the gate. The text is the Pact Broker's::

    Computer says no ¯\\_(ツ)_/¯

    CONSUMER    | C.VERSION | PROVIDER | P.VERSION | SUCCESS? | RESULT#
    ------------|-----------|----------|-----------|----------|--------
    orders-view | 1.1.0     | shipping | 2.0.0     |          |

    There is no verified pact between version 1.1.0 of orders-view and the version of shipping
    currently in prod (2.0.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eventharness.contracts.store import ContractStore, PublishedPact, Verification
from eventharness.model.errors import ContractError

__all__ = [
    "Decision",
    "MatrixRow",
    "can_i_deploy",
    "format_decision",
    "format_matrix",
    "matrix",
]


@dataclass(frozen=True)
class MatrixRow:
    """A consumer version's pact with a provider, and a provider version's verdict on it:
    ``success`` is None when that provider version has not verified the pact."""

    consumer: str
    consumer_version: str
    provider: str
    provider_version: str | None
    pact_hash: str
    verifications: tuple[Verification, ...] = ()

    @property
    def success(self) -> bool | None:
        if not self.verifications:
            return None
        return all(v.success for v in self.verifications)


@dataclass(frozen=True)
class Decision:
    """can-i-deploy's answer: the rows it looked at and why the answer is what it is."""

    pacticipant: str
    version: str
    environment: str
    deployable: bool
    rows: tuple[MatrixRow, ...]
    reasons: tuple[str, ...]
    notes: tuple[str, ...] = ()


class _Index:
    """The store's pacts and verifications, loaded once and indexed."""

    def __init__(self, store: ContractStore) -> None:
        self.pacts = store.pacts()
        self.by_hash: dict[tuple[str, str], list[Verification]] = {}
        for v in store.verifications():
            self.by_hash.setdefault((v.provider, v.pact_hash), []).append(v)

    def rows_for(self, pact: PublishedPact, provider_version: str | None = None) -> list[MatrixRow]:
        """One row per provider version that verified ``pact`` (only ``provider_version`` when
        given); a row without a verdict when there is none."""
        found: dict[str, list[Verification]] = {}
        for v in self.by_hash.get((pact.provider, pact.hash), []):
            if v.consumer == pact.consumer and provider_version in (None, v.provider_version):
                found.setdefault(v.provider_version, []).append(v)
        if not found:
            return [self._row(pact, provider_version, [])]
        return [self._row(pact, pv, found[pv]) for pv in sorted(found)]

    @staticmethod
    def _row(pact: PublishedPact, pv: str | None, found: Sequence[Verification]) -> MatrixRow:
        return MatrixRow(pact.consumer, pact.version, pact.provider, pv, pact.hash, tuple(found))


def matrix(store: ContractStore, pacticipant: str | None = None) -> list[MatrixRow]:
    """Every row of the matrix (involving ``pacticipant``, as consumer or provider)."""
    index = _Index(store)
    rows: list[MatrixRow] = []
    for pact in index.pacts:
        if pacticipant in (None, pact.consumer, pact.provider):
            rows += index.rows_for(pact)
    return rows


def can_i_deploy(
    store: ContractStore, pacticipant: str, version: str, environment: str
) -> Decision:
    """May ``version`` of ``pacticipant`` be deployed to ``environment``? (The module's rule.)"""
    if not store.has_environment(environment):
        known = ", ".join(store.environments()) or "none yet"
        raise ContractError(
            f"{store.source.where(f'deployments/{environment}.json')}: unknown environment "
            f"{environment!r} (environments: {known}); record a deployment to it first "
            "(contracts record-deployment) or create the file with an empty 'deployed' object"
        )
    index = _Index(store)
    deployed = {k: v for k, v in store.deployed(environment).items() if k != pacticipant}
    rows: list[MatrixRow] = []
    reasons: list[str] = []
    notes: list[str] = []
    seen = any(v.version == version for v in store.versions(pacticipant))
    seen = seen or any(p.consumer == pacticipant and p.version == version for p in index.pacts)
    if not seen:
        reasons.append(
            f"No pacts or verifications have been published for version {version} of {pacticipant}"
        )
        return Decision(pacticipant, version, environment, False, (), tuple(reasons))
    # X as consumer: each provider deployed in E must have verified X@V's pact.
    for pact in index.pacts:
        if pact.consumer != pacticipant or pact.version != version:
            continue
        pv = deployed.get(pact.provider)
        if pv is None:
            notes.append(
                f"{pact.provider} is not deployed to {environment}: its pact with "
                f"{pacticipant} {version} is not required there"
            )
            continue
        row = index.rows_for(pact, pv)[0]
        rows.append(row)
        reasons += _reason(row, environment, pact.provider)
    # X as provider: X@V must have verified the pact of each consumer version deployed in E.
    for pact in index.pacts:
        if pact.provider != pacticipant or deployed.get(pact.consumer) != pact.version:
            continue
        row = index.rows_for(pact, version)[0]
        rows.append(row)
        reasons += _reason(row, environment, pact.consumer)
    ok = not reasons
    if ok:
        reasons.append(
            "All required verification results are published and successful"
            if rows
            else f"There are no missing dependencies: no pacticipant deployed to {environment} "
            f"has a pact with {pacticipant}"
        )
    return Decision(
        pacticipant, version, environment, ok, tuple(rows), tuple(reasons), tuple(notes)
    )


def _reason(row: MatrixRow, environment: str, other: str) -> list[str]:
    """Why ``row`` blocks the deployment ([] when it does not)."""
    between = (
        f"the pact between version {row.consumer_version} of {row.consumer} and version "
        f"{row.provider_version} of {row.provider}"
    )
    deployed = (
        f"{other} {row.provider_version if other == row.provider else row.consumer_version}"
        f" is currently in {environment}"
    )
    if row.success is None:
        return [
            f"There is no verified pact between version {row.consumer_version} of "
            f"{row.consumer} and version {row.provider_version} of {row.provider} "
            f"({deployed})"
        ]
    if row.success is False:
        failed = [f"{i.description!r}" for v in row.verifications for i in v.failures()]
        return [f"The verification of {between} failed ({deployed}): {', '.join(failed)}"]
    return []


# -- text as the Pact Broker prints it --------------------------------------------------------


def _verdict(row: MatrixRow) -> str:
    return {None: "", True: "true", False: "false"}[row.success]


def format_matrix(rows: Sequence[MatrixRow]) -> list[str]:
    """The matrix table and its numbered verification results, one line each."""
    header = ("CONSUMER", "C.VERSION", "PROVIDER", "P.VERSION", "SUCCESS?", "RESULT#")
    table: list[tuple[str, ...]] = []
    results: list[str] = []
    for row in rows:
        number = ""
        if row.verifications:
            results.append(_result_line(len(results) + 1, row))
            number = str(len(results))
        table.append(
            (
                row.consumer,
                row.consumer_version,
                row.provider,
                row.provider_version or "",
                _verdict(row),
                number,
            )
        )
    widths = [max(len(r[i]) for r in [header, *table]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(header), "-|-".join("-" * w for w in widths)]
    out += [line(r) for r in table]
    if results:
        out += ["", "VERIFICATION RESULTS", "--------------------", *results]
    return out


def _result_line(number: int, row: MatrixRow) -> str:
    where = ", ".join(sorted({v.where for v in row.verifications if v.where}))
    if row.success:
        return f"{number}. {where} (success)"
    failed = [
        f"{i.description!r}" + (f": {'; '.join(i.mismatches)}" if i.mismatches else "")
        for v in row.verifications
        for i in v.failures()
    ]
    return f"{number}. {where} (failure: {' | '.join(failed)})"


def format_decision(decision: Decision) -> str:
    """The whole can-i-deploy answer."""
    head = "Computer says yes \\o/" if decision.deployable else "Computer says no ¯\\_(ツ)_/¯"
    out = [head, ""]
    if decision.rows:
        out += [*format_matrix(decision.rows), ""]
    out += list(decision.reasons)
    if decision.notes:
        out += ["", *(f"note: {n}" for n in decision.notes)]
    return "\n".join(out)
