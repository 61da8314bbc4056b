"""The contract store: a folder in git, no server (DESIGN §11)::

    contracts/
      pacts/CONSUMER/PROVIDER/VERSION.json   the pact a consumer version published (canonical text)
      verifications/PROVIDER/VERSION.json    what a provider version verified: per pact (consumer,
                                             consumer version, content hash), per interaction
      branches/PACTICIPANT.json              every version of a pacticipant in the order it was
                                             first recorded, with its branches
      deployments/ENV.json                   which version of each pacticipant runs in ENV

Every file is written deterministically (sorted keys, two-space indentation, a trailing newline;
lists in a stable order), so the same operations give byte-identical files and git diffs show
only what changed. Verification results are keyed by the pact's content hash
(:func:`~eventharness.contracts.pactfile.content_hash`): two consumer versions that publish the
same pact share its verifications, as the Pact Broker does.

The store is read from the working tree (:class:`FolderSource`) or as of a git ref
(:class:`GitSource`: ``git ls-tree`` and ``git show REF:path``, as ``schemas check --against``
reads schemas); a store read from a ref is read-only. Problems in the files raise
:class:`ContractError` naming the file and the JSON path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from eventharness.contracts.model import Pact
from eventharness.contracts.pactfile import content_hash, dump_pact, loads_pact
from eventharness.env.git import git
from eventharness.model.errors import ContractError, UsageError

__all__ = [
    "ContractStore",
    "FolderSource",
    "GitSource",
    "InteractionResult",
    "PublishedPact",
    "Source",
    "Verification",
    "VersionInfo",
    "dump_json",
]

_KINDS: dict[type, str] = {list: "list", dict: "object"}
_NAME = re.compile(r"^[A-Za-z0-9_@+~=,-][A-Za-z0-9_.@+~=,-]*$")


def dump_json(value: Any) -> str:
    """The canonical text of a store file."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _check_name(value: str, what: str) -> str:
    """Names become file names: no separators, no leading dot, no spaces."""
    if not isinstance(value, str) or not _NAME.match(value) or value.endswith(".json"):
        raise ContractError(
            f"{what} {value!r} cannot name a file in the contract store: use letters, digits "
            "and . _ - + @ ~ = , (not starting with '.', no '/' or spaces)"
        )
    return value


# -- where the files are read from ------------------------------------------------------------


class Source(Protocol):
    """Read access to the store's files by ``/``-separated path relative to its root."""

    def read(self, rel: str) -> str | None: ...

    def files(self, prefix: str) -> list[str]: ...

    def where(self, rel: str) -> str: ...


class FolderSource:
    """The store as it is in a folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, rel: str) -> str | None:
        path = self.root / rel
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ContractError(f"{path}: cannot read: {exc.strerror}") from None

    def files(self, prefix: str) -> list[str]:
        base = self.root / prefix
        if not base.is_dir():
            return []
        return sorted(p.relative_to(self.root).as_posix() for p in base.rglob("*") if p.is_file())

    def where(self, rel: str) -> str:
        return str(self.root / rel)


class GitSource:
    """The store as it is in git ref ``ref`` (a branch, tag or commit) of the repository that
    holds ``root``. The folder need not exist in the working tree."""

    def __init__(self, root: Path, ref: str) -> None:
        self.ref = ref
        base = root.absolute()
        while not base.is_dir():
            base = base.parent
        self.cwd = base
        prefix = root.absolute().relative_to(base).as_posix()
        self.prefix = "" if prefix == "." else prefix + "/"
        git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], base)
        self.shown = git(["rev-parse", "--show-prefix"], base).strip() + self.prefix
        listed = git(["ls-tree", "-r", "--name-only", ref, "--", self.prefix or "."], base)
        self._read: dict[str, str] = {}
        self._files = sorted(
            p[len(self.prefix) :] for p in listed.splitlines() if p.startswith(self.prefix)
        )

    def read(self, rel: str) -> str | None:
        if rel not in self._files:
            return None
        if rel not in self._read:
            self._read[rel] = git(["show", f"{self.ref}:./{self.prefix}{rel}"], self.cwd)
        return self._read[rel]

    def files(self, prefix: str) -> list[str]:
        return [p for p in self._files if p.startswith(prefix.rstrip("/") + "/")]

    def where(self, rel: str) -> str:
        return f"{self.ref}:{self.shown}{rel}"


# -- records ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionInfo:
    """One version of a pacticipant and the branches it was published or verified on."""

    version: str
    branches: tuple[str, ...] = ()


@dataclass(frozen=True)
class PublishedPact:
    """A pact as a consumer version published it: ``hash`` is its content hash."""

    consumer: str
    provider: str
    version: str
    pact: Pact
    hash: str
    where: str


@dataclass(frozen=True)
class InteractionResult:
    """Whether one interaction verified, and the mismatches when it did not."""

    description: str
    success: bool
    mismatches: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"description": self.description, "success": self.success}
        if self.mismatches:
            out["mismatches"] = list(self.mismatches)
        return out


@dataclass(frozen=True)
class Verification:
    """A provider version's verification of one pact (by content hash)."""

    provider: str
    provider_version: str
    consumer: str
    consumer_version: str
    pact_hash: str
    interactions: tuple[InteractionResult, ...]
    where: str = ""

    @property
    def success(self) -> bool:
        return all(i.success for i in self.interactions)

    def failures(self) -> list[InteractionResult]:
        return [i for i in self.interactions if not i.success]

    def to_json(self) -> dict[str, Any]:
        ordered = sorted(self.interactions, key=lambda i: (i.description, i.mismatches))
        return {
            "consumer": self.consumer,
            "consumerVersion": self.consumer_version,
            "pactHash": self.pact_hash,
            "success": self.success,
            "interactions": [i.to_json() for i in ordered],
        }


# -- the store --------------------------------------------------------------------------------


class ContractStore:
    """The store in folder ``path`` (``contracts/``), or as of git ref ``ref`` (read-only)."""

    def __init__(self, path: str | Path = "contracts", ref: str | None = None) -> None:
        self.root = Path(path)
        self.ref = ref
        self.source: Source = GitSource(self.root, ref) if ref else FolderSource(self.root)

    # -- writing ----------------------------------------------------------------------------

    def _write(self, rel: str, value: Any) -> Path:
        if self.ref:
            raise UsageError(f"the contract store as of {self.ref} is read-only")
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        text = value if isinstance(value, str) else dump_json(value)
        target.write_text(text, encoding="utf-8", newline="\n")
        return target

    def publish_pact(self, pact: Pact, version: str, branch: str | None = None) -> Path:
        """Store ``pact`` as consumer version ``version``. Publishing the same content again is
        a no-op; a different pact under a version that has one is refused."""
        consumer = _check_name(pact.consumer, "consumer")
        provider = _check_name(pact.provider, "provider")
        _check_name(version, "version")
        rel = f"pacts/{consumer}/{provider}/{version}.json"
        text = dump_pact(pact)
        old = self.source.read(rel)
        if old is not None and old != text:
            raise ContractError(
                f"{self.source.where(rel)}: version {version} of {consumer} already has a "
                f"different pact with {provider}; publish the new pact under a new version"
            )
        target = self._write(rel, text)
        self._add_version(consumer, version, branch)
        return target

    def record_verification(
        self,
        provider_version: str,
        pact: Pact,
        consumer_version: str,
        results: Iterable[InteractionResult],
        branch: str | None = None,
    ) -> Path:
        """Record that ``pact.provider`` at ``provider_version`` verified ``pact`` (published
        by ``consumer_version``) with these per-interaction results; replaces an earlier
        result of the same provider version for the same consumer version."""
        provider = _check_name(pact.provider, "provider")
        _check_name(provider_version, "provider version")
        _check_name(consumer_version, "consumer version")
        rel = f"verifications/{provider}/{provider_version}.json"
        found = {
            (v.consumer, v.consumer_version): v
            for v in self._read_verifications(rel, provider, provider_version)
        }
        found[(pact.consumer, consumer_version)] = Verification(
            provider,
            provider_version,
            pact.consumer,
            consumer_version,
            content_hash(pact),
            tuple(results),
        )
        body = {
            "provider": provider,
            "providerVersion": provider_version,
            "results": [found[k].to_json() for k in sorted(found)],
        }
        target = self._write(rel, body)
        self._add_version(provider, provider_version, branch)
        return target

    def record_deployment(self, pacticipant: str, version: str, environment: str) -> Path:
        """Record that ``version`` of ``pacticipant`` now runs in ``environment`` (replacing
        whichever version ran there). It does not add to the pacticipant's versions: a
        deployment says nothing about which version is the latest."""
        _check_name(pacticipant, "pacticipant")
        _check_name(version, "version")
        _check_name(environment, "environment")
        deployed = dict(self.deployed(environment))
        deployed[pacticipant] = version
        rel = f"deployments/{environment}.json"
        return self._write(rel, {"environment": environment, "deployed": deployed})

    def _add_version(self, pacticipant: str, version: str, branch: str | None) -> None:
        if branch is not None and (not branch.strip() or "\n" in branch):
            raise ContractError(f"branch {branch!r}: a branch name must be a non-empty line")
        infos = self.versions(pacticipant)
        for i, info in enumerate(infos):
            if info.version == version:
                if branch is None or branch in info.branches:
                    return
                infos[i] = VersionInfo(version, tuple(sorted({*info.branches, branch})))
                break
        else:
            infos.append(VersionInfo(version, (branch,) if branch else ()))
        rows = []
        for info in infos:
            row: dict[str, Any] = {"version": info.version}
            if info.branches:
                row["branches"] = list(info.branches)
            rows.append(row)
        self._write(f"branches/{pacticipant}.json", {"pacticipant": pacticipant, "versions": rows})

    # -- reading ----------------------------------------------------------------------------

    def _json(self, rel: str) -> Any:
        text = self.source.read(rel)
        if text is None:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ContractError(
                f"{self.source.where(rel)}: not valid JSON (line {exc.lineno}, "
                f"column {exc.colno}: {exc.msg})"
            ) from None

    def _object(self, rel: str, key: str, kind: type) -> Any:
        raw = self._json(rel)
        if raw is None:
            return None
        where = self.source.where(rel)
        if not isinstance(raw, dict):
            raise ContractError(f"{where}: $: must be a JSON object")
        value = raw.get(key)
        if not isinstance(value, kind):
            raise ContractError(f"{where}: $.{key}: must be a JSON {_KINDS[kind]}")
        return value

    def versions(self, pacticipant: str) -> list[VersionInfo]:
        """Every version of ``pacticipant``, oldest first (the order they were recorded)."""
        rel = f"branches/{pacticipant}.json"
        rows = self._object(rel, "versions", list) or []
        out = []
        for i, row in enumerate(rows):
            where = f"{self.source.where(rel)}: $.versions[{i}]"
            if not isinstance(row, dict) or not isinstance(row.get("version"), str):
                raise ContractError(f"{where}.version: each entry needs a version string")
            branches = row.get("branches", [])
            if not isinstance(branches, list) or not all(isinstance(b, str) for b in branches):
                raise ContractError(f"{where}.branches: must be a list of branch names")
            out.append(VersionInfo(row["version"], tuple(branches)))
        return out

    def latest(self, pacticipant: str, branch: str | None = None) -> str | None:
        """The last version recorded for ``pacticipant`` (on ``branch``), or None."""
        for info in reversed(self.versions(pacticipant)):
            if branch is None or branch in info.branches:
                return info.version
        return None

    def pacticipants(self) -> list[str]:
        names = {Path(rel).stem for rel in self.source.files("branches")}
        for rel in self.source.files("pacts"):
            names.update(rel.split("/")[1:3])
        for rel in self.source.files("verifications"):
            names.add(rel.split("/")[1])
        return sorted(names)

    def environments(self) -> list[str]:
        return sorted(Path(rel).stem for rel in self.source.files("deployments"))

    def has_environment(self, environment: str) -> bool:
        return self.source.read(f"deployments/{environment}.json") is not None

    def deployed(self, environment: str) -> dict[str, str]:
        """Pacticipant → version running in ``environment`` (empty when none is recorded)."""
        rel = f"deployments/{environment}.json"
        deployed = self._object(rel, "deployed", dict) or {}
        for name, version in deployed.items():
            if not isinstance(version, str):
                where = f"{self.source.where(rel)}: $.deployed[{name!r}]"
                raise ContractError(f"{where}: must be a version string")
        return dict(sorted(deployed.items()))

    def pacts(
        self, consumer: str | None = None, provider: str | None = None
    ) -> list[PublishedPact]:
        """Every published pact (of ``consumer``, with ``provider``), in path order."""
        out = []
        for rel in self.source.files("pacts"):
            parts = rel.split("/")
            if len(parts) != 4 or not parts[3].endswith(".json"):
                continue
            if (consumer and parts[1] != consumer) or (provider and parts[2] != provider):
                continue
            out.append(self._published(rel, parts[1], parts[2], parts[3][: -len(".json")]))
        return out

    def pact(self, consumer: str, provider: str, version: str) -> PublishedPact | None:
        rel = f"pacts/{consumer}/{provider}/{version}.json"
        if self.source.read(rel) is None:
            return None
        return self._published(rel, consumer, provider, version)

    def _published(self, rel: str, consumer: str, provider: str, version: str) -> PublishedPact:
        where = self.source.where(rel)
        pact = loads_pact(self.source.read(rel) or "", where)
        for role, name, expected in (
            ("consumer", pact.consumer, consumer),
            ("provider", pact.provider, provider),
        ):
            if name != expected:
                raise ContractError(
                    f"{where}: $.{role}.name: is {name!r} but the file is stored under "
                    f"pacts/{consumer}/{provider}/"
                )
        return PublishedPact(consumer, provider, version, pact, content_hash(pact), where)

    def verifications(self, provider: str | None = None) -> list[Verification]:
        """Every recorded verification (by ``provider``)."""
        out = []
        for rel in self.source.files("verifications"):
            parts = rel.split("/")
            if len(parts) != 3 or not parts[2].endswith(".json"):
                continue
            if provider and parts[1] != provider:
                continue
            out += self._read_verifications(rel, parts[1], parts[2][: -len(".json")])
        return out

    def _read_verifications(self, rel: str, provider: str, version: str) -> list[Verification]:
        rows = self._object(rel, "results", list) or []
        where = self.source.where(rel)
        return [
            _verification(row, provider, version, f"{where}: $.results[{i}]", where)
            for i, row in enumerate(rows)
        ]


def _text(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise ContractError(f"{where}.{key}: must be a non-empty string")
    return value


def _verification(raw: Any, provider: str, version: str, where: str, file: str) -> Verification:
    if not isinstance(raw, dict):
        raise ContractError(f"{where}: must be a JSON object")
    items = raw.get("interactions")
    if not isinstance(items, list):
        raise ContractError(f"{where}.interactions: must be a list of interaction results")
    results = []
    for i, item in enumerate(items):
        at = f"{where}.interactions[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("success"), bool):
            raise ContractError(f"{at}.success: each interaction result needs success true/false")
        mismatches = item.get("mismatches", [])
        if not isinstance(mismatches, list):
            raise ContractError(f"{at}.mismatches: must be a list of strings")
        results.append(
            InteractionResult(
                _text(item, "description", at), item["success"], tuple(map(str, mismatches))
            )
        )
    found = Verification(
        provider,
        version,
        _text(raw, "consumer", where),
        _text(raw, "consumerVersion", where),
        _text(raw, "pactHash", where),
        tuple(results),
        file,
    )
    if "success" in raw and raw["success"] is not found.success:
        raise ContractError(
            f"{where}.success: says {json.dumps(raw['success'])} but the interactions say "
            f"{json.dumps(found.success)}"
        )
    return found
