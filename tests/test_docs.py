"""Every fenced code block of the documentation is executed or checked: a doc that lies is a bug.

Files: README.md, docs/*.md, examples/shop/README.md, compose/README.md. One test per block,
its id ``FILE:LINE`` (the line of the opening fence).

How a block is checked, by its language
---------------------------------------
``python``
    Run. A block that defines ``async def test_...(harness)`` is written as a test file and run
    by pytest (``pytester``, the project's plugin providing ``harness``; no broker options, so
    kafka/rabbit/memory are one fresh in-memory broker; no ``asyncio_mode``); every test in it
    must pass. Any other
    block runs as a module, unless annotated with a context (below).
``yaml``
    A scenario file: written to a temporary folder, checked with ``eventharness validate`` and
    then run with ``eventharness run FILE --broker kafka=memory://... --broker
    rabbit=memory://...`` (must exit 0). Annotations change what it runs against.
``toml``
    Written as ``eventharness.toml`` in a temporary folder and loaded with
    ``eventharness.env.config.load_config``: no error.
``ini``
    Parsed; every ``eventharness_*`` key must be an ini option of the pytest plugin (``pytest
    --help``), and its ``NAME=URL`` lines must be valid broker URLs.
``json``
    Parses.
``mermaid``
    Parsed by Mermaid's own parser (node, ``scripts/mermaid-parse``).
``sh`` / ``bash`` / ``console``
    Every command line (in ``console``: the ``$ `` lines) is checked by its program:
    ``eventharness``: the subcommand exists and every option used appears in
    ``eventharness SUBCOMMAND --help``; besides, ``validate`` runs for real (exit 0), ``run``
    runs for real when its paths are memory-only (``scenarios/demo``) and otherwise its paths are
    validated for real with the same ``--profile``/``--broker``/``--config``; ``watch`` likewise
    (for real only with ``--rounds`` and no ``--alert-webhook``, ``/metrics`` on a free port);
    ``schemas check`` and
    ``schemas validate`` (without ``--registry``) run for real in a temporary git repository
    holding the example's schemas, an ``origin/main`` ref and the example files named.
    ``pip install``: the package is ``.`` or ``eventharness`` and every extra exists in
    pyproject.toml. ``python -m MODULE``: importable from the repository root and runnable.
    ``python - <<EOF``: the here-document compiles and every module it imports is installed.
    ``pytest``: every option appears in ``pytest --help``. ``bash FILE``: the file exists.
    ``docker compose -f FILE ...``: the file parses, has the services (and images and ports) the
    compose README's table names, and the subcommand is one the README explains. ``export``:
    ``NAME=VALUE`` words. ``curl``, ``kill``, ``echo``: not checked (they talk to a running
    system or print); any other program fails the test until a checker is added here.

Annotations
-----------
An HTML comment on the last non-blank line before a fence declares the block's context::

    <!-- doc-test: KEY=VALUE; KEY=VALUE; FLAG -->

``output``
    A sample of output, a diagram or a layout: NO test is generated (it is not counted as
    passed nor as skipped). The set is kept small and pinned in ``OUTPUT_SAMPLES``; currently:
    README.md:8 (a failure report), docs/asyncapi.md (``check`` errors with file:line, and a
    fault found in a recording), docs/contracts.md:133 (a verification failure),
    docs/schemas.md:9 (a folder layout), docs/schemas.md:50 (``schemas check`` output),
    docs/stubs.md:251 (a spy's assertion message), docs/stubs.md:290 (a timeline),
    docs/testing-your-services.md (a nearest miss with its suggested rule), docs/tracing.md (a
    ``trace`` failure),
    examples/shop/README.md:198 (the architecture diagram), examples/shop/README.md:260 (the
    services' ready lines).
``usage``
    A command synopsis (language-less): each ``eventharness`` line is checked like a command.
``module``
    python: run as a module (the default for blocks with no test function).
``in-harness``
    python: the block is the body of an ``async def`` with ``harness`` (an ``eh.Harness`` on a
    fresh memory broker, names kafka/rabbit/memory) and ``eh`` defined.
``in-scenario``
    python: as ``in-harness``, inside ``async with harness.scenario("doc example") as s:``.
``setup=NAME``
    Names from ``SETUPS`` are defined for the block (and files it reads are created in its
    working folder, a temporary one):

    * ``brokers`` — ``brokers``: a dict of broker names to a memory URL; ``eh``.
    * ``order`` — ``order``: an ``OrderPlaced`` payload.
    * ``schemas`` — a ``schemas/`` folder with an Avro ``shop.OrderPlaced``, ``event`` that
      breaks it, ``v1``, ``v2`` and ``new_schema`` (Avro records); the output must contain the
      line the block's ``# `` comment shows.
    * ``recording`` — ``shop.jsonl``: a recording of one order and its payment.
    * ``shop`` — the example system (payments, shipping, orders-view) in-process on the same
      memory broker (tests/docs/shop.py); ``{view}`` in a ``rewrite`` is its HTTP address. For
      YAML blocks: the file runs in-process against it with the repository profile's schemas
      and bound channels, ``${view}`` and ``${shipping}`` set.
``rewrite=OLD=>NEW``
    The block runs with OLD replaced by NEW (e.g. a real broker's or service's address by the
    in-memory stand-in's); the annotation makes the substitution visible in the Markdown.
``config=FILE``
    yaml: validated with ``--config FILE`` (a repository file), e.g. for its profile variables.
``same-as=FILE``
    yaml: the block is the repository file FILE, word for word (it cannot drift from it), and is
    validated as it is there (with the configuration that governs it); FILE runs in its own
    end-to-end test (e.g. scenarios/shop-chaos: network faults need the environment's proxies).
``wrap=stub``
    yaml: a fragment of a stub entry (e.g. ``respond:``), wrapped into a scenario with one
    ``payments`` stub (name, consume, type) that publishes one order and expects the answer.
``workflow``
    yaml: a GitHub Actions workflow: every ``run:`` is checked as a shell command (``${{ ... }}``
    expressions take the values of a pull request into ``main``).
``contract``
    yaml: a contract file, loaded as what it is: a consumer declaration (``consumer:``, written
    to a pact) or a provider config (``provider:``); no error.
``subset-of=FILE``
    toml: every key and value of the block is in the repository file FILE (the block shows an
    excerpt of it), and FILE itself loads.
``same-as=FILE``
    yaml: the block is the repository scenario file FILE, word for word (a file other tests run
    for real, e.g. on the example shop with its spans); FILE is checked with ``eventharness
    validate`` and the repository's configuration.
``fragment``
    toml: the block does not load alone (e.g. it ``extends`` a profile it does not show); only
    ``subset-of`` is checked.
``xfail=REASON; xfail-match=TEXT``
    The example is right, the product is wrong: the test is ``xfail(strict=True)``, and counts
    as the expected failure only when the failure's text contains TEXT (any other failure is a
    plain failure). When the product is fixed the test passes and strict xfail turns it red:
    remove the annotation then.
"""

from __future__ import annotations

import ast
import asyncio
import configparser
import contextlib
import functools
import glob
import importlib.util
import io
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import textwrap
import tomllib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent.parent
DOCS = [
    REPO / "README.md",
    *sorted((REPO / "docs").glob("*.md")),
    REPO / "examples/shop/README.md",
    REPO / "compose/README.md",
]
CLI = Path(sys.executable).parent / "eventharness"
PYTHON = sys.executable
# Blocks annotated `output` per file: never run, never counted. Keep it small.
OUTPUT_SAMPLES = {
    "README.md": 1,
    "docs/asyncapi.md": 2,
    "docs/contracts.md": 1,
    "docs/schemas.md": 2,
    "docs/stubs.md": 2,
    "docs/testing-your-services.md": 1,
    "docs/tracing.md": 1,
    "examples/shop/README.md": 2,
}
KNOWN_KEYS = {
    "output",
    "usage",
    "module",
    "in-harness",
    "in-scenario",
    "setup",
    "rewrite",
    "config",
    "wrap",
    "workflow",
    "contract",
    "subset-of",
    "same-as",
    "fragment",
    "xfail",
    "xfail-match",
}
ANNOTATION = re.compile(r"^<!--\s*doc-test:(.*)-->\s*$")
FENCE = re.compile(r"^(```+|~~~+)\s*([\w+-]*)\s*$")
UNCHECKED_PROGRAMS = {"curl", "kill", "echo"}


# --- extracting blocks ---------------------------------------------------------------------


@dataclass
class Block:
    file: str
    line: int
    lang: str
    text: str
    notes: dict[str, str] = field(default_factory=dict)
    stray: list[int] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}"


def parse_notes(raw: str) -> dict[str, str]:
    notes: dict[str, str] = {}
    for part in raw.split(";"):
        part = part.strip()
        if part:
            key, _, value = part.partition("=")
            notes[key.strip()] = value.strip()
    return notes


def extract(path: Path) -> list[Block]:
    rel = path.relative_to(REPO).as_posix()
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    pending: tuple[int, dict[str, str]] | None = None
    while i < len(lines):
        found = ANNOTATION.match(lines[i].strip())
        if found:
            pending = (i + 1, parse_notes(found.group(1)))
            i += 1
            continue
        fence = FENCE.match(lines[i])
        if fence and not lines[i].startswith(" "):
            marker, lang = fence.group(1), fence.group(2).lower()
            end = i + 1
            while end < len(lines) and lines[end].strip() != marker:
                end += 1
            notes = pending[1] if pending else {}
            blocks.append(Block(rel, i + 1, lang, "\n".join(lines[i + 1 : end]) + "\n", notes))
            pending = None
            i = end + 1
            continue
        if pending and lines[i].strip():
            blocks.append(Block(rel, pending[0], "", "", pending[1], stray=[pending[0]]))
            pending = None
        i += 1
    return blocks


ALL_BLOCKS = [block for path in DOCS for block in extract(path)]


def _params() -> Iterator[Any]:
    for block in ALL_BLOCKS:
        if "output" in block.notes or block.stray:
            continue
        marks = []
        if "xfail" in block.notes:
            marks.append(
                pytest.mark.xfail(strict=True, raises=ProductBug, reason=block.notes["xfail"])
            )
        yield pytest.param(block, id=block.id, marks=marks)


class ProductBug(AssertionError):
    """The failure an ``xfail`` block expects (its ``xfail-match`` text was in it)."""


# --- the test ------------------------------------------------------------------------------


@pytest.mark.parametrize("block", list(_params()))
def test_doc_block(block: Block, tmp_path: Path, pytester: pytest.Pytester) -> None:
    checker = CHECKERS.get(block.lang)
    if checker is None:
        pytest.fail(
            f"{block.id}: a ```{block.lang} block has no checker in tests/test_docs.py; "
            "add one, or annotate the block (see the module docstring)",
            pytrace=False,
        )
    expected = block.notes.get("xfail-match")
    try:
        checker(block, tmp_path, pytester)
    except AssertionError as exc:
        if expected and expected in str(exc):
            raise ProductBug(str(exc)) from exc
        raise


def test_annotations_are_known_and_placed() -> None:
    problems = []
    for block in ALL_BLOCKS:
        if block.stray:
            problems.append(f"{block.id}: a doc-test annotation not followed by a code block")
        unknown = set(block.notes) - KNOWN_KEYS
        if unknown:
            problems.append(f"{block.id}: unknown annotation key(s) {sorted(unknown)}")
        if "xfail" in block.notes and not block.notes.get("xfail-match"):
            problems.append(f"{block.id}: xfail needs xfail-match=TEXT")
        if block.notes.get("setup") and block.notes["setup"] not in SETUPS:
            problems.append(f"{block.id}: unknown setup {block.notes['setup']!r}")
    assert not problems, "\n".join(problems)


def test_output_samples_are_the_pinned_few() -> None:
    counts: dict[str, int] = {}
    for block in ALL_BLOCKS:
        if "output" in block.notes:
            counts[block.file] = counts.get(block.file, 0) + 1
    assert counts == OUTPUT_SAMPLES, (
        "blocks annotated `output` are never run: update OUTPUT_SAMPLES and the docstring "
        "only for genuine output samples"
    )


def test_every_doc_file_has_blocks() -> None:
    for path in DOCS:
        assert any(b.file == path.relative_to(REPO).as_posix() for b in ALL_BLOCKS), path


# --- helpers -------------------------------------------------------------------------------


def rewritten(block: Block, **values: str) -> str:
    text = block.text
    rule = block.notes.get("rewrite")
    if rule:
        old, sep, new = rule.partition("=>")
        assert sep, f"{block.id}: rewrite must be OLD=>NEW"
        old, new = old.strip(), new.strip().format(**values)
        assert old in text, f"{block.id}: rewrite: {old!r} is not in the block"
        text = text.replace(old, new)
    return text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def memory_url() -> str:
    return f"memory://doc-{uuid.uuid4().hex[:12]}"


def cli(
    *args: str,
    cwd: Path = REPO,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb", **(env or {})}
    full_env.pop("FORCE_COLOR", None)
    full_env.pop("EVENTHARNESS_STATE_DIR", None)
    return subprocess.run(
        [str(CLI), *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def expect_ok(proc: subprocess.CompletedProcess[str], what: str) -> None:
    assert proc.returncode == 0, f"{what}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"


# --- python --------------------------------------------------------------------------------


@contextlib.contextmanager
def in_folder(path: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def setup_brokers(ns: dict[str, Any], tmp: Path) -> None:
    import eventharness as eh

    ns["eh"] = eh
    url = memory_url()
    ns["brokers"] = {"kafka": url, "rabbit": url}


def setup_order(ns: dict[str, Any], tmp: Path) -> None:
    ns["order"] = {"type": "OrderPlaced", "order_id": "o-1", "total": 42}


AVRO_ORDER = {
    "type": "record",
    "name": "OrderPlaced",
    "namespace": "shop",
    "fields": [
        {"name": "type", "type": "string"},
        {"name": "order_id", "type": "string"},
        {
            "name": "lines",
            "type": {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "Line",
                    "fields": [{"name": "sku", "type": "string"}, {"name": "qty", "type": "int"}],
                },
            },
        },
    ],
}


def _customer(*extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "record",
        "name": "Customer",
        "fields": [{"name": "id", "type": "string"}, *extra],
    }


def setup_schemas(ns: dict[str, Any], tmp: Path) -> None:
    (tmp / "schemas").mkdir()
    (tmp / "schemas/shop.OrderPlaced.avsc").write_text(json.dumps(AVRO_ORDER))
    ns["event"] = {
        "type": "OrderPlaced",
        "order_id": "o-1",
        "lines": [{"sku": "s-1", "qty": "two"}],
    }
    ns["v1"] = _customer()
    ns["v2"] = _customer({"name": "name", "type": "string", "default": ""})
    ns["new_schema"] = _customer(
        {"name": "name", "type": "string", "default": ""}, {"name": "email", "type": "string"}
    )


def setup_recording(ns: dict[str, Any], tmp: Path) -> None:
    lines = [
        {
            "t": 0.0,
            "channel": "kafka:orders",
            "key": "o-1",
            "headers": {"correlation-id": "c-recorded"},
            "value": {"type": "OrderPlaced", "order_id": "o-1", "total": 42},
        },
        {
            "t": 0.05,
            "channel": "kafka:payments",
            "key": "o-1",
            "headers": {"correlation-id": "c-recorded"},
            "value": {"type": "PaymentAuthorized", "order_id": "o-1", "amount": 42},
        },
    ]
    (tmp / "shop.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


SETUPS: dict[str, Callable[[dict[str, Any], Path], None] | None] = {
    "brokers": setup_brokers,
    "order": setup_order,
    "schemas": setup_schemas,
    "recording": setup_recording,
    "shop": None,  # see run_python_test and check_yaml
}


def comment_outputs(text: str) -> list[str]:
    """What ``print(...)  # OUTPUT`` comments say the block prints."""
    return [
        line.split("#", 1)[1].strip()
        for line in text.splitlines()
        if "print(" in line and "#" in line
    ]


def check_python(block: Block, tmp: Path, pytester: pytest.Pytester) -> None:
    source = block.text
    tree = ast.parse(source)  # a syntax error fails here, with the line
    if any(
        isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef) and node.name.startswith("test_")
        for node in tree.body
    ):
        run_python_test(block, pytester)
        return
    ns: dict[str, Any] = {"__name__": "__doc_block__"}
    setup = block.notes.get("setup")
    if setup:
        fill = SETUPS[setup]
        assert fill is not None, f"{block.id}: setup {setup} is for test files and YAML"
        fill(ns, tmp)
    out = io.StringIO()
    with in_folder(tmp), contextlib.redirect_stdout(out):
        if "in-harness" in block.notes or "in-scenario" in block.notes:
            run_in_harness(block, source, ns)
        else:
            exec(compile(source, block.id, "exec"), ns)
    for expected in comment_outputs(source):
        assert expected in out.getvalue(), (
            f"{block.id}: the block says it prints {expected!r}; it printed:\n{out.getvalue()}"
        )


def run_in_harness(block: Block, source: str, ns: dict[str, Any]) -> None:
    import eventharness as eh

    body = source
    if "in-scenario" in block.notes:
        body = 'async with harness.scenario("doc example") as s:\n' + textwrap.indent(body, "    ")
    wrapper = "async def __doc_block__(harness):\n" + textwrap.indent(body, "    ")
    code = compile(wrapper, block.id, "exec")
    ns["eh"] = eh

    async def main() -> None:
        exec(code, ns)
        url = memory_url()
        async with eh.Harness(dict.fromkeys(("kafka", "rabbit", "memory"), url)) as harness:
            await ns["__doc_block__"](harness)

    asyncio.run(main())


SHOP_CONFTEST = '''
import sys

import pytest_asyncio

sys.path.insert(0, {repo!r})
from tests.docs.shop import running_shop


@pytest_asyncio.fixture(autouse=True)
async def _doc_shop(harness):
    """The example system on the harness's memory broker (setup=shop)."""
    async with running_shop(str(harness.brokers["kafka"].url), port={port}) as shop:
        yield shop
'''


def run_python_test(block: Block, pytester: pytest.Pytester) -> None:
    setup = block.notes.get("setup")
    values: dict[str, str] = {}
    if setup == "shop":
        port = free_port()
        values["view"] = f"http://127.0.0.1:{port}"
        pytester.makeconftest(SHOP_CONFTEST.format(repo=str(REPO), port=port))
    else:
        assert setup is None, f"{block.id}: setup {setup} does not apply to a test file"
    source = rewritten(block, **values)
    tests = len(re.findall(r"^(?:async )?def test_", source, re.M))
    # no asyncio_mode and no marker: the plugin runs harness tests on asyncio by itself (only
    # pytest-asyncio's deprecation warning about an unset loop scope is silenced)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_doc_block=source)
    result = pytester.runpytest("-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) == tests and result.ret == 0, (
        f"{block.id}: expected {tests} passing test(s), got {outcomes}\n" + result.stdout.str()
    )


# --- yaml ----------------------------------------------------------------------------------


def check_yaml(block: Block, tmp: Path, pytester: pytest.Pytester) -> None:
    if "workflow" in block.notes:
        check_workflow(block, tmp)
        return
    if "contract" in block.notes:
        check_contract(block, tmp)
        return
    same = block.notes.get("same-as")
    if same:
        assert block.text == (REPO / same).read_text(), f"{block.id}: differs from {same}"
        expect_ok(cli("validate", same, cwd=REPO), f"{block.id}: eventharness validate {same}")
        return
    text = block.text
    if block.notes.get("wrap") == "stub":
        text = STUB_WRAPPER.format(body=textwrap.indent(text, " " * 4))
    else:
        assert "wrap" not in block.notes, f"{block.id}: unknown wrap"
    scenario = tmp / "scenarios" / "doc.yaml"
    scenario.parent.mkdir()
    scenario.write_text(text)
    mem = memory_url()
    brokers = [
        arg
        for name in ("kafka", "rabbit")
        if f"{name}:" in text
        for arg in ("--broker", f"{name}={mem}")
    ]  # only those it uses: others are errors
    config = block.notes.get("config")
    if config:
        expect_ok(
            cli("validate", str(scenario), "--config", str(REPO / config), cwd=tmp),
            f"{block.id}: eventharness validate --config {config}",
        )
    else:
        expect_ok(
            cli("validate", str(scenario), *brokers, cwd=tmp), f"{block.id}: eventharness validate"
        )
    if block.notes.get("setup") == "shop":
        asyncio.run(run_yaml_on_shop(block, scenario, config))
    else:
        assert "setup" not in block.notes, f"{block.id}: setup does not apply here"
        expect_ok(
            cli("run", str(scenario), *brokers, cwd=tmp),
            f"{block.id}: eventharness run (memory broker)",
        )


STUB_WRAPPER = """\
name: doc fragment in a stub
stubs:
  - name: payments
    consume: kafka:orders
    type: OrderPlaced
{body}steps:
  - publish: {{channel: kafka:orders, key: o-1,
              value: {{type: OrderPlaced, order_id: o-1, total: 42}}}}
  - expect: {{channel: kafka:payments, within: 2s}}
"""


async def run_yaml_on_shop(block: Block, scenario: Path, config: str | None) -> None:
    from eventharness.engine.harness import Harness
    from eventharness.env.config import load_config
    from eventharness.files.loader import FileContext, load_files
    from eventharness.files.runner import run_files
    from eventharness.schemas import LocalSchemaStore
    from tests.docs.shop import running_shop

    profile = load_config(REPO / config).profile(None) if config else None
    url = memory_url()
    async with running_shop(url) as shop:
        variables = {"view": shop.view, "shipping": shop.exchange}
        store = LocalSchemaStore(profile.schemas) if profile and profile.schemas else None
        context = FileContext(brokers={"kafka", "rabbit"}, variables=set(variables), schemas=store)
        files = load_files([scenario], lambda _p: context)
        brokers = {"kafka": url, "rabbit": url}
        harness = (
            Harness.from_profile(profile, brokers=brokers, schemas=store)
            if profile
            else Harness(brokers)
        )
        async with harness as h:
            (outcome,) = await run_files(h, files, variables=variables)
    assert outcome.status == "passed", f"{block.id}:\n{outcome.explain()}"


def check_workflow(block: Block, tmp: Path) -> None:
    flow = yaml.safe_load(block.text)
    runs = [
        (step["run"], job.get("strategy", {}).get("matrix", {}))
        for job in flow["jobs"].values()
        for step in job["steps"]
        if "run" in step
    ]
    assert runs, f"{block.id}: a workflow with no run: step"
    for command, matrix in runs:
        command = re.sub(r"\$\{\{\s*github\.base_ref\s*\}\}", "main", command)
        for name, values in matrix.items():  # a matrix job: its first combination
            if isinstance(values, list) and values:
                command = re.sub(rf"\$\{{\{{\s*matrix\.{name}\s*\}}\}}", str(values[0]), command)
        assert "${{" not in command, f"{block.id}: no value for {command!r}"
        check_command_lines(block, command, tmp, console=False)


# --- toml / ini / json ---------------------------------------------------------------------


def is_subset(part: Any, whole: Any) -> bool:
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(
            k in whole and is_subset(v, whole[k]) for k, v in part.items()
        )
    return bool(part == whole)


def check_toml(block: Block, tmp: Path, pytester: pytest.Pytester) -> None:
    from eventharness.env.config import load_config

    data = tomllib.loads(block.text)
    whole = block.notes.get("subset-of")
    if whole:
        assert is_subset(data, tomllib.loads((REPO / whole).read_text())), (
            f"{block.id}: the block is not an excerpt of {whole}"
        )
        load_config(REPO / whole)
    else:
        assert "fragment" not in block.notes, f"{block.id}: fragment needs subset-of"
    if "fragment" not in block.notes:
        (tmp / "eventharness.toml").write_text(block.text)
        load_config(tmp / "eventharness.toml")


def check_ini(block: Block, tmp: Path, pytester: pytest.Pytester) -> None:
    from eventharness.model.channels import parse_broker_url

    parser = configparser.ConfigParser()
    parser.read_string(block.text)
    help_text = pytest_help()
    for section in parser.sections():
        for key, value in parser[section].items():
            if not key.startswith("eventharness"):
                continue
            assert re.search(rf"^\s+{key} \(", help_text, re.M), (
                f"{block.id}: {key} is not an ini option of the pytest plugin"
            )
            if key == "eventharness_embedded":
                assert value in ("shared", "per-worker"), f"{block.id}: {key} = {value!r}"
            if key != "eventharness_brokers":
                continue
            for line in value.split("\n"):
                if line.strip():
                    _name, sep, url = line.strip().partition("=")
                    assert sep, f"{block.id}: {line!r} is not NAME=URL"
                    parse_broker_url(url)


def check_contract(block: Block, tmp: Path) -> None:
    from eventharness.contracts.declarations import parse_contract_yaml
    from eventharness.contracts.providers import parse_provider_config

    data = yaml.safe_load(block.text)
    if "consumer" in data:
        parse_contract_yaml(block.text, block.id).write(tmp)
    else:
        parse_provider_config(block.text, block.id)


def check_json(block: Block, tmp: Path, pytester: pytest.Pytester) -> None:
    json.loads(block.text)


# --- shell ---------------------------------------------------------------------------------


def check_shell(block: Block, tmp: Path, pytester: pytest.Pytester) -> None:
    check_command_lines(block, block.text, tmp, console=block.lang == "console")


def check_usage(block: Block, tmp: Path, pytester: pytest.Pytester) -> None:
    assert "usage" in block.notes, (
        f"{block.id}: a block without a language must be annotated (usage or output) or given "
        "one (console, sh, ...)"
    )
    for line in re.sub(r"\n\s+", " ", block.text).splitlines():
        line = line.split("(", 1)[0].replace("[", " ").replace("]", " ")
        words = line.split()
        if words and words[0] == "eventharness":
            check_eventharness(block, [w for w in words if w != "..."], tmp, real=False)


def command_lines(text: str, console: bool) -> Iterator[tuple[str, str]]:
    """(command line, here-document) pairs: continuations joined, console prompts only."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if console:
            if not line.startswith("$ "):
                continue
            line = line[2:]
        while line.rstrip().endswith("\\") and i < len(lines):
            line = line.rstrip()[:-1] + " " + lines[i].strip()
            i += 1
        heredoc = ""
        found = re.search(r"<<-?\s*'?(\w+)'?", line)
        if found:
            body = []
            while i < len(lines) and lines[i].strip() != found.group(1):
                body.append(lines[i])
                i += 1
            i += 1
            heredoc = "\n".join(body) + "\n"
            line = line[: found.start()] + line[found.end() :]
        if line.strip():
            yield line, heredoc


def check_command_lines(block: Block, text: str, tmp: Path, console: bool) -> None:
    checked = 0
    for line, heredoc in command_lines(text, console):
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words = list(lexer)
        command: list[str] = []
        for word in [*words, ";"]:
            if word in (";", "&&", "||", "|", "&"):
                if command:
                    check_command(block, command, heredoc, tmp)
                    checked += 1
                command = []
            else:
                command.append(word)
    assert checked, f"{block.id}: no command found"


def check_command(block: Block, argv: list[str], heredoc: str, tmp: Path) -> None:
    env = {}
    while argv and re.match(r"^[A-Za-z_]\w*=", argv[0]):
        name, _, value = argv.pop(0).partition("=")
        env[name] = value
    assert argv, f"{block.id}: an assignment alone"
    program = Path(argv[0]).name
    where = f"{block.id}: {shlex.join(argv)}"
    if argv[0].startswith(".venv/"):
        assert program in ("eventharness", "pip", "python"), where
    if program == "eventharness":
        check_eventharness(block, argv, tmp, real=True, env=env)
    elif program in ("pip", "pip3"):
        check_pip(where, argv)
    elif program in ("python", "python3"):
        check_python_command(where, argv, heredoc)
    elif program == "pytest":
        for option in options_of(argv[1:]):
            assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", pytest_help()), (
                f"{where}: {option} is not a pytest option"
            )
    elif program == "bash":
        assert (REPO / argv[1]).is_file(), f"{where}: no file {argv[1]}"
    elif program == "docker":
        check_docker(where, argv)
    elif program == "export":
        assert all(re.match(r"^[A-Za-z_]\w*=", w) for w in argv[1:]), where
    else:
        assert program in UNCHECKED_PROGRAMS, (
            f"{where}: no checker for {program!r} (add one to tests/test_docs.py)"
        )


def options_of(words: list[str]) -> list[str]:
    return [w.split("=", 1)[0] for w in words if re.match(r"^--?[A-Za-z]", w)]


@functools.cache
def cli_help(*command: str) -> str:
    proc = cli(*command, "--help")
    expect_ok(proc, f"eventharness {' '.join(command)} --help")
    return re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout)


@functools.cache
def pytest_help() -> str:
    proc = subprocess.run(
        [PYTHON, "-m", "pytest", "--help", "-p", "no:cacheprovider"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


REAL_VALIDATE_OPTIONS = {"--profile", "-p", "--broker", "-b", "--config"}


def check_eventharness(
    block: Block, argv: list[str], tmp: Path, real: bool, env: dict[str, str] | None = None
) -> None:
    where = f"{block.id}: {shlex.join(argv)}"
    assert len(argv) > 1, f"{where}: no subcommand"
    groups = ("schemas", "contracts", "report", "asyncapi")
    command = argv[1:3] if argv[1] in groups and len(argv) > 2 else argv[1:2]
    top = cli_help(*command[:1]) if len(command) == 2 else cli_help()
    assert re.search(rf"│ {command[-1]} ", top), f"{where}: no subcommand {command[-1]!r}"
    help_text = cli_help(*command)
    rest = argv[1 + len(command) :]
    for option in options_of(rest):
        assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", help_text), (
            f"{where}: {option} is not an option of eventharness {' '.join(command)}"
        )
    if not real or any("..." in w for w in rest):
        return
    if command == ["validate"]:
        expect_ok(cli(*argv[1:], env=env), where)
    elif command in (["run"], ["load"]):
        paths, options = split_run_args(rest)
        if paths and all(p.startswith("scenarios/demo") for p in paths):
            expect_ok(cli(*command, *in_tmp(rest, tmp), env=env), where)
        else:  # needs real brokers and services: its files are validated for real
            expect_ok(cli("validate", *paths, *options, env=env), f"{where} (as validate)")
    elif command == ["watch"]:
        paths, options = split_run_args(rest)
        demo = paths and all(p.startswith("scenarios/demo") for p in paths)
        if demo and "--rounds" in rest and "--alert-webhook" not in rest:
            expect_ok(cli("watch", *free_metrics_port(rest), env=env), where)
        else:  # runs until Ctrl-C, or against a real environment: its files are validated
            expect_ok(cli("validate", *paths, *options, env=env), f"{where} (as validate)")
    elif command in (["asyncapi", "check"], ["map"]) and not {"-o", "--output"} & set(rest):
        expect_ok(cli(*argv[1:], env=env), where)  # on the repository's files, for real
    elif command in (["schemas", "check"], ["schemas", "validate"]) and "--registry" not in rest:
        repo = schema_repo(tmp)
        args = list(argv[1:])
        if command[1] == "validate":
            args = args[:3] + example_files(repo, args[3:])
        expect_ok(cli(*args, cwd=repo, env=env), where)


#: Options of ``run`` and ``load`` naming files they write (or read, ``--durations-from``).
FILE_OPTIONS = {"--report-json", "--report-html", "--junit", "--json", "--durations-from"}


def in_tmp(words: list[str], tmp: Path) -> list[str]:
    """A real ``run``/``load`` line's arguments with the files it writes moved to ``tmp`` (the
    repository is not written to); the report ``--durations-from`` reads is made there first,
    by a run of the demo."""
    moved = list(words)
    for i, word in enumerate(moved[:-1]):
        if word in FILE_OPTIONS and not Path(moved[i + 1]).is_absolute():
            moved[i + 1] = str(tmp / moved[i + 1])
            if word == "--durations-from" and not Path(moved[i + 1]).exists():
                demo = ("scenarios/demo", "--config", "scenarios/demo/eventharness.toml")
                cli("run", *demo, "--report-json", moved[i + 1])
    return moved


def free_metrics_port(words: list[str]) -> list[str]:
    """A ``watch`` line's arguments serving ``/metrics`` on a free port (tests run at once)."""
    moved = list(words)
    if "--metrics-port" not in moved:
        return [*moved, "--metrics-port", "0"]
    moved[moved.index("--metrics-port") + 1] = "0"
    return moved


def split_run_args(words: list[str]) -> tuple[list[str], list[str]]:
    """The paths of a ``run`` line, and its options that ``validate`` also takes."""
    with_value = {
        "--profile",
        "-p",
        "--broker",
        "-b",
        "-k",
        "--report-json",
        "--report-html",
        "--junit",
        "--concurrency",
        "-j",
        "--connect-timeout",
        "--config",
        "--state-dir",
        "--shard",
        "--durations-from",
        "--otlp",
        "--rate",
        "--duration",
        "--ramp",
        "--slo",
        "--json",
        "--every",
        "--rounds",
        "--metrics-port",
        "--metrics-host",
        "--alert-webhook",
        "--flaky-after",
    }
    paths: list[str] = []
    options: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("-"):
            name = word.split("=", 1)[0]
            takes = name in with_value and "=" not in word
            if name in REAL_VALIDATE_OPTIONS:
                options += words[i : i + 2] if takes else [word]
            i += 2 if takes else 1
        else:
            paths.append(word)
            i += 1
    return paths, options


def schema_repo(tmp: Path) -> Path:
    """A git repository with the shop's schemas, committed, and an ``origin/main`` ref."""
    repo = tmp / "schema-repo"
    if not repo.exists():
        shutil.copytree(REPO / "examples/shop/schemas", repo / "schemas")
        git = [
            "git",
            "-c",
            "user.email=doc@test",
            "-c",
            "user.name=doc",
            "-c",
            "init.defaultBranch=main",
        ]
        for args in (
            ["init", "-q"],
            ["add", "."],
            ["commit", "-q", "-m", "schemas"],
            ["update-ref", "refs/remotes/origin/main", "HEAD"],
        ):
            subprocess.run([*git, *args], cwd=repo, check=True, capture_output=True)
    return repo


def example_files(repo: Path, names: list[str]) -> list[str]:
    """Creates the example events a ``schemas validate`` line names (conforming ones)."""
    event = {"type": "OrderPlaced", "order_id": "o-1", "total": 42}
    out = []
    for name in names:
        pattern = name
        if any(c in name for c in "*?["):
            name = name.replace("*", "example")
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(event) + "\n")
        out += sorted(str(Path(p).relative_to(repo)) for p in glob.glob(str(repo / pattern)))
    return out


def check_pip(where: str, argv: list[str]) -> None:
    assert argv[1] == "install", f"{where}: only pip install is checked"
    extras_known = set(
        tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    )
    specs = [w for w in argv[2:] if not w.startswith("-")]
    assert specs, f"{where}: installs nothing"
    for spec in specs:
        found = re.fullmatch(r"(\.|eventharness)(?:\[([\w,-]+)\])?", spec)
        assert found, f"{where}: {spec!r} is not eventharness or the checkout"
        extras = set(filter(None, (found.group(2) or "").split(",")))
        assert extras <= extras_known, f"{where}: no extra(s) {sorted(extras - extras_known)}"


def check_python_command(where: str, argv: list[str], heredoc: str) -> None:
    if argv[1:3] == ["-m", "venv"]:
        return
    if argv[1] == "-m":
        module = argv[2]
        sys.path.insert(0, str(REPO))
        try:
            spec = importlib.util.find_spec(module)
            assert spec is not None and spec.origin, f"{where}: no module {module}"
            origin = Path(spec.origin)
            if spec.submodule_search_locations:  # a package runs its __main__
                assert (origin.parent / "__main__.py").is_file(), f"{where}: no __main__"
            else:
                assert "__main__" in origin.read_text(), f"{where}: {module} does nothing"
        finally:
            sys.path.remove(str(REPO))
        return
    assert argv[1] == "-" and heredoc, f"{where}: only python -m and python - <<EOF"
    tree = ast.parse(heredoc)
    for node in ast.walk(tree):
        names = (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [node.module]
            if isinstance(node, ast.ImportFrom) and node.module
            else []
        )
        for name in names:
            assert importlib.util.find_spec(name.split(".")[0]), f"{where}: no module {name}"


def compose_table() -> dict[str, str]:
    """The services and images compose/README.md's table names."""
    rows = re.findall(
        r"^\|\s*`([\w-]+)`\s*\|\s*`([^`]+)`", (REPO / "compose/README.md").read_text(), re.M
    )
    return dict(rows)


def check_docker(where: str, argv: list[str]) -> None:
    assert argv[1:3] == ["compose", "-f"], f"{where}: only docker compose -f FILE is checked"
    compose = yaml.safe_load((REPO / argv[3]).read_text())
    services = compose["services"]
    table = compose_table()
    assert table, "compose/README.md: no service table"
    for name, image in table.items():
        assert name in services, f"{where}: no service {name}"
        assert services[name]["image"] == image, f"{where}: {name} runs {services[name]['image']}"
    ports = {p.split(":")[1] for s in services.values() for p in s.get("ports", [])}
    assert {"9092", "5672", "15672"} <= ports, f"{where}: published ports {ports}"
    assert all(p.startswith("127.0.0.1:") for s in services.values() for p in s.get("ports", [])), (
        f"{where}: a port not on 127.0.0.1"
    )
    sub, options = argv[4], options_of(argv[5:])
    allowed = {"up": {"-d", "--wait"}, "ps": set(), "down": set(), "logs": set()}
    assert sub in allowed and set(options) <= allowed[sub], f"{where}: not explained"
    if "--wait" in options:
        assert all("healthcheck" in s for s in services.values()), (
            f"{where}: --wait needs a healthcheck on every service"
        )


def check_mermaid(block: Block, tmp: Path, pytester: pytest.Pytester) -> None:
    """Parsed by Mermaid's own parser (scripts/mermaid-parse, installed by scripts/test)."""
    from tests.asyncapi.mermaid import parse_mermaid

    path = tmp / "diagram.mmd"
    path.write_text(block.text)
    done = parse_mermaid(path)
    assert done.returncode == 0, f"{block.id}: not valid Mermaid: {done.stdout}{done.stderr}"


CHECKERS: dict[str, Callable[[Block, Path, pytest.Pytester], None]] = {
    "mermaid": check_mermaid,
    "python": check_python,
    "yaml": check_yaml,
    "toml": check_toml,
    "ini": check_ini,
    "json": check_json,
    "sh": check_shell,
    "bash": check_shell,
    "console": check_shell,
    "": check_usage,
}
