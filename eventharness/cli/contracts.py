"""``eventharness contracts ...``: consumer-driven message contracts (Pact V3/V4 files).

    eventharness contracts verify PACT... [--provider NAME] [--profile P] [--broker name=URL]
    eventharness contracts verify PACT... --function module:function      # function mode
    eventharness contracts verify --provider NAME --publish-results --provider-version V
    eventharness contracts write contracts/orders-view.yaml --out contracts/pacts

``verify`` takes pact files (or folders of them; ``.yaml`` consumer declarations too). Without
``--function``/``--messages-url`` it verifies on the real brokers of the profile (broker mode):
the profile's environment is brought up as ``run`` does (or the one of ``eventharness up`` is
used), and each provider is driven as ``--providers DIR/NAME.yaml`` says. Exit codes: 0 every
interaction verified · 1 one failed (the interaction, JSON path, rule, actual value and the
timeline are printed) · 2 unusable input, one line naming the file and JSON path.

With no pact files, ``verify`` takes the provider's pacts from the contract store (``--store``):
each consumer's latest version (``--consumer-branch``) and the versions deployed anywhere.
``--publish-results --provider-version V`` records the results there, for can-i-deploy
(:mod:`eventharness.contracts.results`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from eventharness.cli.errors import FAILED, OK, fail, friendly
from eventharness.cli.setup import (
    BrokerOption,
    ConfigOption,
    ProfileOption,
    StateOption,
    console,
    make_setup,
    quiet_clients,
    state_dir_of,
)
from eventharness.contracts.declarations import load_contract, load_contract_yaml
from eventharness.contracts.providers import ProviderConfig, load_provider_config
from eventharness.contracts.results import ToVerify, from_files, pacts_to_verify
from eventharness.contracts.results import publish_results as publish
from eventharness.contracts.store import ContractStore
from eventharness.contracts.verify import LoadedPact, Verification, check_inputs, verify_function
from eventharness.env.brokers import EMBEDDED
from eventharness.model.errors import ContractError

__all__ = ["app", "pact_files", "verify", "write"]

app = typer.Typer(
    name="contracts",
    help="Consumer-driven message contracts: write pacts, verify providers on real brokers.",
    no_args_is_help=True,
    add_completion=False,
)

_SUFFIXES = (".json", ".yaml", ".yml")


def pact_files(paths: list[Path]) -> list[Path]:
    """The files named, folders expanded to their pact and declaration files (sorted)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in _SUFFIXES))
        elif path.exists():
            found.append(path)
        else:
            raise ContractError(f"{path}: no such pact file or folder")
    if not found:
        raise ContractError(f"no pact files in {' '.join(map(str, paths))}")
    return found


class _Configs:
    """Provider configs from ``DIR/NAME.yaml``, read once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._read: dict[str, ProviderConfig | None] = {}

    def __call__(self, provider: str) -> ProviderConfig | None:
        if provider not in self._read:
            path = next(
                (
                    p
                    for p in (self.folder / f"{provider}.yaml", self.folder / f"{provider}.yml")
                    if p.is_file()
                ),
                None,
            )
            self._read[provider] = load_provider_config(path) if path else None
        return self._read[provider]


@app.command()
def verify(
    pacts: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Pact files or folders (.json; .yaml too). None: the pacts of --provider in "
            "the contract store (each consumer's latest and deployed versions)."
        ),
    ] = None,
    provider: Annotated[
        list[str] | None,
        typer.Option(
            "--provider", help="Verify the pacts of this provider (repeatable; default: all)."
        ),
    ] = None,
    providers_dir: Annotated[
        Path,
        typer.Option("--providers", help="Folder of provider configs NAME.yaml (broker mode)."),
    ] = Path("contracts/providers"),
    function: Annotated[
        str | None,
        typer.Option("--function", help="Function mode: module:function returning the message."),
    ] = None,
    messages_url: Annotated[
        str | None,
        typer.Option("--messages-url", help="Function mode over HTTP (Pact's message proxy)."),
    ] = None,
    within: Annotated[
        float | None,
        typer.Option("--within", help="Seconds to wait for each message (config: within)."),
    ] = None,
    report_json: Annotated[
        Path | None, typer.Option("--report-json", help="Write the results as JSON here.")
    ] = None,
    profile: ProfileOption = None,
    broker: BrokerOption = None,
    no_up: Annotated[
        bool,
        typer.Option("--no-up", help="Start nothing: use `eventharness up`'s environment."),
    ] = False,
    config: ConfigOption = None,
    state_dir: StateOption = None,
    store_dir: Annotated[
        Path, typer.Option("--store", help="The contract store folder (pacts/, verifications/).")
    ] = Path("contracts"),
    consumer_branch: Annotated[
        str | None,
        typer.Option("--consumer-branch", help="From the store: consumers' latest on this branch."),
    ] = None,
    publish_results: Annotated[
        bool,
        typer.Option(
            "--publish-results", help="Record the results in the store (needs --provider-version)."
        ),
    ] = False,
    provider_version: Annotated[
        str | None, typer.Option("--provider-version", help="The provider's version verified.")
    ] = None,
    provider_branch: Annotated[
        str | None, typer.Option("--provider-branch", help="The branch that version is on.")
    ] = None,
) -> None:
    """Verify providers against pacts; exit 0 all verified, 1 a mismatch, 2 unusable input."""
    with friendly():
        if publish_results and not provider_version:
            fail("--publish-results needs --provider-version V (the version being verified)")
        store = ContractStore(store_dir)
        selected = _selected(store, pacts, provider, consumer_branch, publish_results)
        loaded = [entry.loaded for entry in selected]
        configs = _Configs(providers_dir)
        if function is None and messages_url is None:
            function, messages_url = _function_of(loaded, provider, configs)
        if function is not None or messages_url is not None:
            chosen = check_inputs(loaded, provider, None)
            console.print(f"verifying {_count(chosen)} (function mode)", style="dim")
            result = asyncio.run(verify_function(chosen, function, url=messages_url))
        else:
            chosen = check_inputs(loaded, provider, configs)
            result = _broker_mode(
                chosen, configs, profile, broker, config, state_dir, no_up, within
            )
        console.print(result.render(), soft_wrap=True, highlight=False, markup=False)
        if publish_results and provider_version:
            written = publish(
                store, result, selected, provider_version=provider_version, branch=provider_branch
            )
            console.print(
                f"results of {provider_version} recorded: {', '.join(map(str, written))}",
                style="dim",
            )
        if report_json:
            report_json.write_text(
                json.dumps([r.to_dict() for r in result.results], indent=2, default=str) + "\n"
            )
    raise typer.Exit(OK if result.ok else FAILED)


def _selected(
    store: ContractStore,
    pacts: list[Path] | None,
    providers: list[str] | None,
    consumer_branch: str | None,
    publish_results: bool,
) -> list[ToVerify]:
    """The pacts to verify: the files named, or the store's for each ``--provider``."""
    if pacts:
        loaded = [LoadedPact(load_contract(p), str(p)) for p in pact_files(pacts)]
        if publish_results:
            return from_files(store, loaded)
        return [ToVerify(one, ()) for one in loaded]
    if not providers:
        fail("name pact files, or --provider NAME to verify its pacts from the contract store")
    chosen = [
        e
        for name in providers
        for e in pacts_to_verify(store, name, consumer_branch=consumer_branch)
    ]
    for entry in chosen:
        console.print(f"{entry.loaded.source}: {'; '.join(entry.why)}", style="dim")
    return chosen


def _count(chosen: list[LoadedPact]) -> str:
    n = sum(len(p.pact.interactions) for p in chosen)
    return f"{n} interaction(s) of {len(chosen)} pact(s)"


def _function_of(
    loaded: list[LoadedPact], providers: list[str] | None, configs: _Configs
) -> tuple[str | None, str | None]:
    """A provider config's ``function``/``messages_url`` (the options' twins), when it has
    no interactions to trigger."""
    names = set(providers or {p.pact.provider for p in loaded})
    for name in sorted(names):
        found = configs(name)
        if found is not None and not found.interactions and (found.function or found.messages_url):
            return found.function, found.messages_url
    return None, None


def _broker_mode(
    chosen: list[LoadedPact],
    configs: _Configs,
    profile_name: str | None,
    overrides: list[str] | None,
    config_path: Path | None,
    state_dir: Path | None,
    no_up: bool,
    within: float | None,
) -> Verification:
    from eventharness.env.environment import Environment

    setup = make_setup(config_path, profile_name, overrides)
    profile = setup.profile(None)
    quiet_clients(profile.verbose)
    states = state_dir_of(setup.config, state_dir)
    running = setup.running(profile, states)
    env: Environment | None = None
    if running is not None:
        brokers = setup.brokers(profile, running)
        variables: dict[str, Any] = dict(running.variables)
        console.print(f"using the environment of `eventharness up` ({running.run_id})", style="dim")
    else:
        wanted = setup.brokers(profile, None)
        start = not no_up and profile.start_services
        embedded = [n for n, url in wanted.items() if url == EMBEDDED]
        if embedded and not start:
            fail(
                f"broker {embedded[0]!r} is 'embedded' and no environment is up; run "
                "`eventharness up` first, or drop --no-up"
            )
        env = Environment(
            setup.config, profile, brokers=setup.overrides, state_dir=states, start_services=start
        )
    console.print(
        f"verifying {_count(chosen)} on profile {profile.name!r} ({setup.config.source})",
        style="dim",
    )
    try:
        if env is not None:
            began = time.monotonic()
            env.start()
            brokers, variables = env.brokers, dict(env.variables)
            if env.embedded or env.services:
                names = ", ".join([*env.embedded, *env.services])
                console.print(
                    f"environment up in {time.monotonic() - began:.1f}s: {names}", style="dim"
                )
        return asyncio.run(_verify(chosen, configs, setup, profile, brokers, variables, within))
    finally:
        if env is not None:
            env.stop()


async def _verify(
    chosen: list[LoadedPact],
    configs: _Configs,
    setup: Any,
    profile: Any,
    brokers: dict[str, str],
    variables: dict[str, Any],
    within: float | None,
) -> Verification:
    from eventharness.contracts.broker import verify_on_harness
    from eventharness.engine.harness import Harness

    harness = Harness.from_profile(profile, brokers=brokers, schemas=setup.store(profile))
    async with harness:
        return await verify_on_harness(chosen, harness, configs, variables=variables, within=within)


@app.command()
def write(
    declarations: Annotated[
        list[Path], typer.Argument(help="Consumer declarations (.yaml) or folders of them.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder the pact files go to.")] = Path(
        "contracts/pacts"
    ),
    spec: Annotated[str, typer.Option("--spec", help="Pact specification: 4 or 3.")] = "4",
) -> None:
    """Write the pacts of YAML consumer declarations (deterministic: same input, same bytes)."""
    with friendly():
        for path in _yaml_files(declarations):
            written = load_contract_yaml(path).write(out, spec=spec)
            console.print(f"{path} → {written}")


def _yaml_files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.glob("*.y*ml") if p.suffix in (".yaml", ".yml"))
        elif path.is_file():
            yield path
        else:
            raise ContractError(f"{path}: no such declaration file or folder")
