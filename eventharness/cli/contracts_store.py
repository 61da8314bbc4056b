"""``eventharness contracts ...``: the contract store, can-i-deploy, and the contract gate.

    eventharness contracts publish pacts/*.json --version 1.2.0 --branch main
    eventharness contracts record-deployment --pacticipant orders-view --version 1.2.0 --env prod
    eventharness contracts can-i-deploy --pacticipant shipping --version 2.0 --to-environment prod
    eventharness contracts can-i-deploy --pacticipant shipping --branch main --to-environment prod
    eventharness contracts matrix [--pacticipant orders-view]
    eventharness contracts check [PACT...] [--schemas schemas] [--against origin/main]

The store is the folder ``--store`` (default ``contracts``); ``--against REF`` reads it as of a
git ref, as ``schemas check --against`` reads schemas. Exit codes: 0 yes / no break · 1 the
computer says no / a break or a pending pact · 2 bad input, with a one-line cause naming the
file and JSON path. :func:`register` adds these commands to a typer app (the ``contracts``
group).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from eventharness.cli.errors import friendly
from eventharness.cli.schemas import git_versions, tree_versions
from eventharness.contracts.check import (
    Finding,
    OldVersions,
    last_verified,
    pending_changes,
    schema_breaks,
)
from eventharness.contracts.deploy import can_i_deploy, format_decision, format_matrix, matrix
from eventharness.contracts.model import Pact
from eventharness.contracts.pactfile import load_pact
from eventharness.contracts.store import ContractStore, PublishedPact
from eventharness.model.errors import UsageError
from eventharness.schemas.store import LocalSchemaStore

__all__ = [
    "can_i_deploy_command",
    "check_command",
    "matrix_command",
    "publish",
    "record_deployment",
    "register",
]

StoreOption = Annotated[
    Path, typer.Option("--store", help="The contract store folder (pacts/, verifications/, ...).")
]
AgainstOption = Annotated[
    str | None, typer.Option("--against", help="Read the store as of this git ref.")
]
VersionOption = Annotated[str, typer.Option("--version", help="The pacticipant's version.")]
PacticipantOption = Annotated[str, typer.Option("--pacticipant", help="The application's name.")]


def register(app: typer.Typer) -> None:
    """Add ``publish``, ``record-deployment``, ``can-i-deploy``, ``matrix`` and ``check``."""
    app.command("publish")(publish)
    app.command("record-deployment")(record_deployment)
    app.command("can-i-deploy")(can_i_deploy_command)
    app.command("matrix")(matrix_command)
    app.command("check")(check_command)


def publish(
    pacts: Annotated[list[Path], typer.Argument(help="Pact files (V3 message or V4).")],
    version: Annotated[str, typer.Option("--version", help="The consumer's version.")],
    branch: Annotated[
        str | None, typer.Option("--branch", help="The branch this version is on.")
    ] = None,
    store_dir: StoreOption = Path("contracts"),
) -> None:
    """Publish pact files as a consumer version into the contract store."""
    with friendly():
        loaded = [load_pact(path) for path in pacts]  # every file is read before any is stored
        store = ContractStore(store_dir)
        for pact in loaded:
            published = store.publish_pact(pact, version, branch)
            stored = store.pact(pact.consumer, pact.provider, version)
            digest = stored.hash if stored else ""
            typer.echo(
                f"published {pact.consumer} {version} -> {pact.provider}: {published} ({digest})"
            )


def record_deployment(
    pacticipant: PacticipantOption,
    version: VersionOption,
    env: Annotated[str, typer.Option("--env", "--environment", help="The environment.")],
    store_dir: StoreOption = Path("contracts"),
) -> None:
    """Record that a version of a pacticipant now runs in an environment."""
    with friendly():
        path = ContractStore(store_dir).record_deployment(pacticipant, version, env)
    typer.echo(f"recorded: {pacticipant} {version} runs in {env} ({path})")


def can_i_deploy_command(
    pacticipant: PacticipantOption,
    to_environment: Annotated[
        str, typer.Option("--to-environment", help="The environment to deploy to.")
    ],
    version: Annotated[
        str | None, typer.Option("--version", help="The pacticipant's version.")
    ] = None,
    latest: Annotated[
        bool, typer.Option("--latest", help="Ask for its latest version (instead of --version).")
    ] = False,
    branch: Annotated[
        str | None, typer.Option("--branch", help="Ask for its latest version on this branch.")
    ] = None,
    store_dir: StoreOption = Path("contracts"),
    against: AgainstOption = None,
) -> None:
    """Exit 0 when the version may be deployed to the environment, 1 when it may not."""
    with friendly():
        store = ContractStore(store_dir, against)
        chosen = _version_asked(store, pacticipant, version, latest, branch)
        decision = can_i_deploy(store, pacticipant, chosen, to_environment)
    typer.echo(format_decision(decision))
    if not decision.deployable:
        raise typer.Exit(1)


def _version_asked(
    store: ContractStore, pacticipant: str, version: str | None, latest: bool, branch: str | None
) -> str:
    """``--version V``, or the latest version (on ``--branch``) the store has recorded."""
    if version is not None:
        if latest or branch:
            raise UsageError("give --version, or --latest / --branch, not both")
        return version
    if not latest and not branch:
        raise UsageError("say which version: --version V, --latest, or --branch B")
    found = store.latest(pacticipant, branch)
    if found is None:
        on = f" on branch {branch!r}" if branch else ""
        raise UsageError(
            f"the store has no version of {pacticipant}{on} (publish a pact or record a "
            "verification first)"
        )
    return found


def matrix_command(
    pacticipant: Annotated[
        str | None, typer.Option("--pacticipant", help="Only rows involving this one.")
    ] = None,
    store_dir: StoreOption = Path("contracts"),
    against: AgainstOption = None,
) -> None:
    """Every pact and every verification of it, and who is deployed where."""
    with friendly():
        store = ContractStore(store_dir, against)
        rows = matrix(store, pacticipant)
        deployments = {env: store.deployed(env) for env in store.environments()}
    typer.echo("\n".join(format_matrix(rows)) if rows else "no pacts in the store")
    if deployments:
        typer.echo("\nDEPLOYMENTS\n-----------")
    for env, deployed in deployments.items():
        running = ", ".join(f"{name} {v}" for name, v in deployed.items()) or "nothing"
        typer.echo(f"{env}: {running}")


# -- check --------------------------------------------------------------------------------------


def _stored_pacts(
    store: ContractStore, provider: str | None
) -> Iterator[tuple[PublishedPact, bool]]:
    """(pact, is the latest of its consumer and provider): the latest pact of each pair and
    every pact of a consumer version deployed somewhere, each content once."""
    deployed = {(n, v) for env in store.environments() for n, v in store.deployed(env).items()}
    pairs: dict[tuple[str, str], list[PublishedPact]] = {}
    for published in store.pacts(provider=provider):
        pairs.setdefault((published.consumer, published.provider), []).append(published)
    for (consumer, _), found in sorted(pairs.items()):
        order = {info.version: i for i, info in enumerate(store.versions(consumer))}
        found.sort(key=lambda p: order.get(p.version, -1))
        seen = set()
        for published in reversed(found):
            latest = published is found[-1]
            if (latest or (consumer, published.version) in deployed) and published.hash not in seen:
                seen.add(published.hash)
                yield published, latest


def check_command(
    pacts: Annotated[
        list[Path] | None,
        typer.Argument(help="New pact files (default: the store's latest and deployed pacts)."),
    ] = None,
    store_dir: StoreOption = Path("contracts"),
    schemas_dir: Annotated[
        Path | None,
        typer.Option("--schemas", help="The providers' schema folder (default: schemas/, if any)."),
    ] = None,
    against: Annotated[
        str | None,
        typer.Option("--against", help="Git ref of the store and schemas to compare with."),
    ] = None,
    provider: Annotated[
        str | None, typer.Option("--provider", help="Only pacts with this provider.")
    ] = None,
    allow_pending: Annotated[
        bool, typer.Option("--allow-pending", help="Report pending pacts, exit 0 for them.")
    ] = False,
) -> None:
    """Schema changes that break a consumer's pact, and pacts that ask for more than the
    provider verified. Exit 1 on either (pending only without --allow-pending)."""
    with friendly():
        store = ContractStore(store_dir)
        verified_store = ContractStore(store_dir, against) if against else store
        checked: list[tuple[Pact, str, bool]] = []
        if pacts:
            loaded = [(load_pact(path), str(path)) for path in pacts]
            checked = [(p, label, True) for p, label in loaded if provider in (None, p.provider)]
        else:
            for published, latest in _stored_pacts(store, provider):
                checked.append((published.pact, published.version, latest))
        schemas, old_versions = _schemas(schemas_dir, against)
        findings: list[Finding] = []
        notes: list[str] = []
        for pact, label, is_new in checked:
            if schemas is not None:
                found, unchecked = schema_breaks(pact, label, schemas, old_versions)
                findings += found
                notes += unchecked
            if is_new:
                verified = last_verified(verified_store, pact.consumer, pact.provider)
                findings += pending_changes(pact, label, verified)
    head = f"{len(checked)} pact(s) checked"
    head += (
        f" against schemas in {schemas.root}/" if schemas else " (no schema folder: (a) skipped)"
    )
    typer.echo(head + (f"; old versions from {against}" if against else ""))
    for finding in findings:
        typer.echo(str(finding))
    for note in notes:
        typer.echo(f"note: {note}")
    breaks = sum(1 for f in findings if f.kind == "break")
    pending = len(findings) - breaks
    typer.echo(f"{breaks} break(s), {pending} pending")
    if breaks or (pending and not allow_pending):
        raise typer.Exit(1)


def _schemas(
    schemas_dir: Path | None, against: str | None
) -> tuple[LocalSchemaStore | None, OldVersions | None]:
    folder = schemas_dir or Path("schemas")
    if not folder.is_dir():
        if schemas_dir is not None:
            raise UsageError(f"schema folder {str(folder)!r} does not exist (--schemas)")
        return None, None
    store = LocalSchemaStore(folder)
    store.subjects()
    return store, git_versions(folder, against) if against else tree_versions(store)
