"""``eventharness schemas ...``: the schema gate for CI.

    eventharness schemas check --against origin/main     # breaking changes vs a git ref
    eventharness schemas check --registry URL            # ... vs what the registry holds
    eventharness schemas validate shop.OrderPlaced examples/order.json
    eventharness schemas register --registry URL

Exit codes: 0 all good · 1 a breaking change / a non-conforming example / a refused
registration · 2 a usage problem (bad ref, missing folder, unreachable registry), with a
one-line cause.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from eventharness.cli.errors import fail, message_of
from eventharness.env.git import git
from eventharness.model.errors import EventHarnessError, UsageError
from eventharness.schemas.compat import Incompatibility, check_compatibility, check_mode
from eventharness.schemas.registry import (
    RegistryClient,
    RegistryError,
    RegistryUnavailable,
    SchemaNotFound,
)
from eventharness.schemas.store import (
    LocalSchemaStore,
    SchemaStore,
    StoredSchema,
    as_validator,
    kind_of,
    layout,
    parse_text,
)

__all__ = ["app", "check", "compare", "register", "validate"]

app = typer.Typer(
    name="schemas",
    help="Check schema compatibility, validate example events, register schemas.",
    no_args_is_help=True,
    add_completion=False,
)

DirOption = Annotated[
    Path, typer.Option("--dir", help="The schema folder (subject.avsc|.json, subject/N.avsc).")
]
RegistryOption = Annotated[
    str | None, typer.Option("--registry", help="Schema registry URL (Confluent REST API).")
]


@dataclass
class SubjectResult:
    subject: str
    kind: str
    new_version: int
    old_versions: list[int] = field(default_factory=list)
    mode: str = ""
    status: str = "ok"  # ok | new | unchanged | BREAKING
    problems: list[Incompatibility] = field(default_factory=list)


# -- where old versions come from ---------------------------------------------------------


def git_versions(root: Path, ref: str) -> Callable[[str], list[StoredSchema]]:
    """Old versions of each subject as they are in ``ref``."""
    git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root)
    listed = git(["ls-tree", "-r", "--name-only", ref, "--", "."], root).splitlines()
    subjects = layout(listed)

    def versions(subject: str) -> list[StoredSchema]:
        found = []
        for version, rel in sorted(subjects.get(subject, {}).items()):
            text = git(["show", f"{ref}:./{rel}"], root)
            schema = parse_text(text, f"{ref}:{rel}")
            found.append(StoredSchema(subject, version, kind_of(rel), schema, f"{ref}:{rel}"))
        return found

    return versions


def registry_versions(registry: RegistryClient) -> Callable[[str], list[StoredSchema]]:
    def versions(subject: str) -> list[StoredSchema]:
        try:
            numbers = registry.versions(subject)
        except SchemaNotFound:
            return []
        return [registry.get(subject, n) for n in numbers]

    return versions


def tree_versions(store: LocalSchemaStore) -> Callable[[str], list[StoredSchema]]:
    """Without a reference: a subject's earlier versions in the folder itself."""

    def versions(subject: str) -> list[StoredSchema]:
        numbers = sorted(store.subjects()[subject])[:-1]
        return [store.get(f"{subject}@{n}") for n in numbers]

    return versions


# -- check ------------------------------------------------------------------------------------


def compare(
    store: LocalSchemaStore,
    old_versions: Callable[[str], list[StoredSchema]],
    mode_for: Callable[[str], str],
) -> Iterator[SubjectResult]:
    for subject in sorted(store.subjects()):
        new = store.get(subject)
        olds = old_versions(subject)
        result = SubjectResult(subject, new.kind, new.version, [o.version for o in olds])
        if not olds:
            result.status = "new"
        elif olds[-1].schema == new.schema:
            result.status = "unchanged"
        else:
            result.mode = mode_for(subject)
            foreign = [o for o in olds if o.kind != new.kind]
            if foreign:
                result.problems = [
                    Incompatibility(
                        "$", "backward", "kind", f"was {foreign[-1].kind}, is now {new.kind}"
                    )
                ]
            else:
                result.problems = check_compatibility(
                    new.schema, [o.schema for o in olds], result.mode, new.kind
                )
            result.status = "BREAKING" if result.problems else "ok"
        yield result


def _print_results(results: list[SubjectResult], reference: str) -> None:
    console = Console(soft_wrap=True)
    table = Table(title=f"schema compatibility vs {reference}")
    for column in ("subject", "kind", "versions", "mode", "result"):
        table.add_column(column)
    styles = {"ok": "green", "new": "cyan", "unchanged": "dim", "BREAKING": "bold red"}
    for r in results:
        olds = ",".join(str(v) for v in r.old_versions) or "-"
        table.add_row(
            r.subject,
            r.kind,
            f"{olds} → new",
            r.mode or "-",
            f"[{styles[r.status]}]{r.status}[/]",
        )
    console.print(table)
    for r in results:
        for problem in r.problems:
            version = r.old_versions[problem.against] if r.old_versions else "?"
            typer.echo(f"{r.subject} (vs version {version}): {problem}")
    breaking = sum(1 for r in results if r.status == "BREAKING")
    summary = f"{breaking} breaking change(s)" if breaking else "no breaking changes"
    typer.echo(f"{len(results)} subject(s) checked: {summary}")


@app.command()
def check(
    against: Annotated[
        str | None, typer.Option("--against", help="Git ref holding the old schemas.")
    ] = None,
    registry: RegistryOption = None,
    mode: Annotated[
        str | None,
        typer.Option(
            "--mode",
            help="BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, "
            "FULL_TRANSITIVE or NONE (default: the registry's setting, else BACKWARD).",
        ),
    ] = None,
    schema_dir: DirOption = Path("schemas"),
) -> None:
    """Compare the working tree's schemas to a git ref, a registry, or their own history."""
    try:
        if against and registry:
            raise UsageError("give either --against GIT_REF or --registry URL, not both")
        fixed_mode = check_mode(mode) if mode else None
        store = LocalSchemaStore(schema_dir)
        store.subjects()
        if registry:
            with RegistryClient(registry) as client:

                def mode_for(subject: str) -> str:
                    return fixed_mode or client.compatibility(subject)

                results = list(compare(store, registry_versions(client), mode_for))
                reference = client.url
        else:
            source = git_versions(schema_dir, against) if against else tree_versions(store)
            results = list(compare(store, source, lambda _s: fixed_mode or "BACKWARD"))
            reference = against or "earlier versions in the folder"
    except EventHarnessError as exc:
        fail(message_of(exc))
    _print_results(results, reference)
    if any(r.status == "BREAKING" for r in results):
        raise typer.Exit(1)


# -- validate ---------------------------------------------------------------------------------


def _examples(path: Path) -> Iterator[tuple[str, Any]]:
    """(label, event) pairs: one per line for .jsonl/.ndjson, else the file's one document."""
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".jsonl", ".ndjson"):
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                yield f"{path}:{number}", _json(line, f"{path}:{number}")
    else:
        yield str(path), _json(text, str(path))


def _json(text: str, where: str) -> Any:
    """The JSON in ``text``; a UsageError naming ``where`` when it is not JSON or nests so deep
    that parsing it would exhaust the stack."""
    try:
        return json.loads(text)
    except RecursionError:
        raise UsageError(f"{where}: nested too deep to read; flatten the example") from None
    except ValueError as exc:
        raise UsageError(f"{where}: not JSON ({exc})") from exc


@app.command()
def validate(
    subject: Annotated[str, typer.Argument(help="Subject (or subject@version, or a file).")],
    files: Annotated[list[Path], typer.Argument(help="Example events: .json or .jsonl files.")],
    schema_dir: DirOption = Path("schemas"),
    registry: RegistryOption = None,
) -> None:
    """Check that example events conform to a subject's schema."""
    client = RegistryClient(registry) if registry else None
    try:
        store: SchemaStore = client if client is not None else LocalSchemaStore(schema_dir)
        validator = as_validator(subject, store)
        failed = 0
        for path in files:
            if not path.is_file():
                raise UsageError(f"example file {path} does not exist")
            try:
                examples = list(_examples(path))
            except ValueError as exc:
                typer.echo(f"FAIL {path}: not valid JSON ({exc})")
                failed += 1
                continue
            for label, event in examples:
                violations = validator.validate(event)
                if violations:
                    failed += 1
                    typer.echo(f"FAIL {label}")
                    for violation in violations:
                        typer.echo(f"  {violation}")
                else:
                    typer.echo(f"ok   {label}")
    except EventHarnessError as exc:
        fail(message_of(exc))
    finally:
        if client is not None:
            client.close()
    if failed:
        typer.echo(f"{failed} example(s) do not conform to {validator.name}")
        raise typer.Exit(1)


# -- register ---------------------------------------------------------------------------------


@app.command()
def register(
    registry: Annotated[str, typer.Option("--registry", help="Schema registry URL.")],
    schema_dir: DirOption = Path("schemas"),
    subject: Annotated[
        list[str] | None, typer.Option("--subject", help="Only these subjects (repeatable).")
    ] = None,
) -> None:
    """Register every version of every subject in the folder, oldest first."""
    refused = 0
    try:
        store = LocalSchemaStore(schema_dir)
        chosen = subject or sorted(store.subjects())
        with RegistryClient(registry) as client:
            for name in chosen:
                store.get(name)  # an unknown subject: a usage error naming what exists
                for version in sorted(store.subjects()[name]):
                    stored = store.get(f"{name}@{version}")
                    try:
                        sid = client.register(name, stored.schema, stored.kind)
                    except RegistryError as exc:
                        if isinstance(exc, (SchemaNotFound, RegistryUnavailable)):
                            raise
                        refused += 1
                        typer.echo(f"REFUSED {name} v{stored.version}: {exc}")
                        continue
                    typer.echo(f"registered {name} v{stored.version} as id {sid}")
    except EventHarnessError as exc:
        fail(message_of(exc))
    if refused:
        raise typer.Exit(1)
