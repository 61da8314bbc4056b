"""Broker mode: verify a provider where its messages really flow.

For each interaction, one scenario on the harness (so one correlation id and one timeline):

1. put the provider in each provider state (:class:`~eventharness.contracts.providers.StateHandler`:
   an HTTP state-change URL as Pact's ``--provider-states-setup-url`` calls it, a command, a
   Python function — or nothing, when the trigger brings the state about);
2. watch the interaction's channel, then trigger the provider (a publish stamped with the
   scenario's correlation id, or an HTTP call carrying it in ``correlation-id``); a V4
   ``Synchronous/Messages`` interaction with no trigger configured is triggered by its request,
   published on the request's channel, and its (first) response is what is collected;
3. take the first message on that channel correlated to the scenario, decoded by the harness
   (JSON; Avro and the Confluent wire format through its schema store);
4. compare it with the pact's rules (:func:`~eventharness.contracts.verify.compare_message`).

A message that never comes, a trigger or state handler that fails, or an event the harness's
own checks reject (a bound schema) fails the interaction, with the scenario's timeline.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import shlex
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from eventharness.contracts.compare import Mismatch
from eventharness.contracts.model import Interaction
from eventharness.contracts.providers import (
    InteractionSetup,
    ProviderConfig,
    StateHandler,
    Trigger,
)
from eventharness.contracts.verify import (
    OURS,
    InteractionResult,
    LoadedPact,
    Verification,
    channel_of,
    compare_message,
    load_function,
    request_channel,
)
from eventharness.engine.harness import Harness
from eventharness.engine.templates import Reference, render
from eventharness.model.errors import ContractError, ScenarioFailed

__all__ = ["StepFailed", "verify_on_harness"]


class StepFailed(Exception):
    """A state handler or trigger failed: the interaction fails (exit 1), it is not bad input."""


async def verify_on_harness(
    pacts: Sequence[LoadedPact],
    harness: Harness,
    config_for: Callable[[str], ProviderConfig | None],
    *,
    variables: Mapping[str, Any] | None = None,
    within: float | None = None,
) -> Verification:
    """Verify every interaction of ``pacts`` on ``harness`` (connected), one scenario each.
    ``variables`` are the profile's (``${shipping}``); ``within`` overrides every window."""
    verification = Verification()
    runner = _Runner(harness, dict(variables or {}), within)
    try:
        for loaded in pacts:
            config = config_for(loaded.pact.provider)
            if config is None:
                raise ContractError(
                    f"{loaded.source}: no provider config for {loaded.pact.provider!r}"
                )
            for interaction in loaded.pact.interactions:
                verification.results.append(await runner.verify(loaded, interaction, config))
    finally:
        await runner.aclose()
    return verification


class _Runner:
    def __init__(self, harness: Harness, variables: dict[str, Any], within: float | None) -> None:
        self.harness = harness
        self.variables = variables
        self.within = within
        self._http: Any = None

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    def http(self) -> Any:
        if self._http is None:
            import httpx

            self._http = httpx.AsyncClient(timeout=30.0)
        return self._http

    async def verify(
        self, loaded: LoadedPact, interaction: Interaction, config: ProviderConfig
    ) -> InteractionResult:
        pact = loaded.pact
        setup = config.interactions.get(interaction.description) or InteractionSetup(
            interaction.description
        )
        window = self.within or setup.within or config.within or self.harness.within
        params: dict[str, Any] = {}
        for state in interaction.provider_states:
            params.update(state.params)
        scope: dict[str, Any] = {"params": params, "correlation_id": ""}
        began = time.monotonic()
        scenario = self.harness.scenario(
            f"{pact.consumer} ← {pact.provider}: {interaction.description}"
        )
        event = None
        problem: str | None = None
        channel = ""
        notes: list[str] = []
        states_set: list[tuple[StateHandler, str]] = []
        resolve = self._resolver(scope, setup.where or config.source)
        try:
            async with scenario as s:
                scope["correlation_id"] = s.correlation_id
                channel = str(render(channel_of(interaction, config), resolve))
                for state in interaction.provider_states:
                    handler = config.state_handler(state.name)
                    assert handler is not None  # check_inputs refused the pact otherwise
                    states_set.append((handler, state.name))
                    params.update(await self._set_state(handler, state.name, params, resolve))
                expected = s.expect(channel, type=setup.type, within=window)
                if setup.trigger is not None:
                    await self._trigger(s, setup.trigger, resolve)
                else:  # a synchronous interaction: its request is the trigger
                    await self._request(s, interaction)
                event = await s.first_event(expected)
        except ScenarioFailed as exc:
            notes = [line for f in exc.result.failures for line in f.render().splitlines()]
        except (ContractError, asyncio.CancelledError, KeyboardInterrupt):
            raise
        except StepFailed as exc:
            problem = str(exc)
        except Exception as exc:  # a broker error, a failing handler: this interaction fails
            problem = f"{type(exc).__name__}: {exc}"
        if config.state_teardown:
            torn = await self._tear_down(states_set, params, resolve)
            problem = "; ".join(filter(None, [problem, torn])) or None
        mismatches: list[Mismatch] = []
        if event is None:
            problem = problem or f"no message on {channel} within {window:g}s for this scenario"
        elif event.decode_error:
            problem = f"the message on {channel} could not be decoded: {event.decode_error}"
        else:
            mismatches = compare_message(interaction, event.value, event.headers)
        result = scenario.result
        failed = bool(problem or mismatches or notes)
        return InteractionResult(
            loaded.source,
            pact.consumer,
            pact.provider,
            interaction.description,
            "failed" if failed else "verified",
            tuple(mismatches),
            problem,
            tuple(notes),
            result.timeline() if result is not None else "",
            time.monotonic() - began,
        )

    def _resolver(self, scope: dict[str, Any], where: str) -> Callable[[Reference], Any]:
        def resolve(ref: Reference) -> Any:
            head, _, rest = ref.name.partition(".")
            if head == "params" and rest in scope["params"]:
                return scope["params"][rest]
            if ref.name == "correlation_id":
                return scope["correlation_id"]
            if ref.name == "uuid":
                return uuid.uuid4().hex
            if head == "env":
                return os.environ.get(rest, ref.default if ref.default is not None else "")
            if head == "vars" and rest in self.variables:
                return self.variables[rest]
            if ref.name in self.variables:
                return self.variables[ref.name]
            if ref.default is not None:
                return ref.default
            known = sorted({*(f"params.{k}" for k in scope["params"]), *self.variables})
            raise ContractError(
                f"{where}: unknown variable ${{{ref.text}}} (known: correlation_id, uuid, "
                f"env.NAME, {', '.join(known) or 'no params or profile variables'})"
            )

        return resolve

    async def _tear_down(
        self,
        states: list[tuple[StateHandler, str]],
        params: dict[str, Any],
        resolve: Callable[[Reference], Any],
    ) -> str | None:
        """Tear down the states set, last first; what failed, or None."""
        failed = []
        for handler, name in reversed(states):
            try:
                await self._set_state(handler, name, params, resolve, action="teardown")
            except (asyncio.CancelledError, KeyboardInterrupt):
                raise
            except Exception as exc:
                failed.append(
                    f"teardown of {exc}"
                    if isinstance(exc, StepFailed)
                    else f"teardown of state {name!r}: {type(exc).__name__}: {exc}"
                )
        return "; ".join(failed) or None

    async def _set_state(
        self,
        handler: StateHandler,
        name: str,
        params: dict[str, Any],
        resolve: Callable[[Reference], Any],
        action: str = "setup",
    ) -> dict[str, Any]:
        """Set up (or tear down) one state; returns values the handler gave back (merged into
        the params)."""
        if handler.kind == "none":
            return {}
        if handler.kind == "url":
            url = str(render(handler.target, resolve))
            body = {"state": name, "params": params, "action": action}
            response = await self.http().post(url, json=body)
            if response.status_code >= 300:
                raise StepFailed(
                    f"state {name!r}: {url} answered {response.status_code}: {response.text[:200]}"
                )
            try:
                answer = response.json()
            except ValueError:
                return {}
            return dict(answer) if isinstance(answer, dict) else {}
        if handler.kind == "command":
            argv = shlex.split(str(render(handler.target, resolve)))
            env = {
                **os.environ,
                "PACT_STATE": name,
                "PACT_PARAMS": json.dumps(params),
                "PACT_ACTION": action,
            }
            proc = await asyncio.create_subprocess_exec(
                *argv, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
            )
            try:
                out, _ = await asyncio.wait_for(proc.communicate(), 60)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                raise StepFailed(f"state {name!r}: {shlex.join(argv)} ran over 60 s") from None
            if proc.returncode != 0:
                tail = out.decode(errors="replace").strip().splitlines()[-3:]
                raise StepFailed(
                    f"state {name!r}: {shlex.join(argv)} exited {proc.returncode}: "
                    + " | ".join(tail)
                )
            return {}
        function = load_function(handler.target)
        if _takes_action(function):
            answer = function(name, params, action)
        elif action == "setup":
            answer = function(name, params)
        else:
            return {}
        if inspect.isawaitable(answer):
            answer = await answer
        return dict(answer) if isinstance(answer, Mapping) else {}

    async def _request(self, s: Any, interaction: Interaction) -> None:
        """Publish a synchronous interaction's request (its example contents) on its channel,
        with its metadata's ``key`` and the metadata that are not ours as headers."""
        channel = request_channel(interaction)
        assert channel is not None  # check_inputs refused the pact otherwise
        message = interaction.message
        key = message.metadata.get("key")
        headers = {
            str(k): str(v) for k, v in message.metadata.items() if k not in OURS and k != "key"
        }
        await s.publish(
            channel,
            message.contents.value,
            key=str(key) if key is not None else None,
            headers=headers,
        )

    async def _trigger(self, s: Any, trigger: Trigger, resolve: Callable[[Reference], Any]) -> None:
        spec = render(dict(trigger.spec), resolve)
        if trigger.kind == "publish":
            key = spec.get("key")
            await s.publish(
                spec["channel"],
                spec["value"],
                key=str(key) if key is not None else None,
                headers={str(k): str(v) for k, v in (spec.get("headers") or {}).items()},
            )
            return
        headers = {str(k): str(v) for k, v in (spec.get("headers") or {}).items()}
        headers.setdefault("correlation-id", s.correlation_id)
        method = str(spec.get("method", "POST")).upper()
        response = await self.http().request(
            method, spec["url"], json=spec.get("json"), headers=headers
        )
        if response.status_code >= 300:
            raise StepFailed(
                f"trigger {method} {spec['url']} answered {response.status_code}: "
                f"{response.text[:200]}"
            )


def _takes_action(function: Callable[..., Any]) -> bool:
    """Whether a state function takes a third, ``action``, parameter (else it only sets up)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3 or any(p.kind == p.VAR_POSITIONAL for p in parameters)
