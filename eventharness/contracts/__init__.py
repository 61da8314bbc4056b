"""Consumer-driven message contracts that interoperate with Pact (V3 message pacts, V4 pacts).

This package holds the contract model and the specification's matching: read and write pact
files (:mod:`.pactfile`), matching rules with path weighting (:mod:`.rules`, :mod:`.paths`,
:mod:`.matchers`, :mod:`.compare`) and generators (:mod:`.generators`); the consumer side — the
builder (:mod:`.builder`) with its matcher helpers (:mod:`.terms`) and YAML declarations
(:mod:`.declarations`); the provider side — verification in function mode (:mod:`.verify`) and
on the real broker (:mod:`.broker`), configured per provider (:mod:`.providers`). It sits above
the engine and below the CLI; nothing in ``engine``, ``env``, ``schemas``, ``transports`` or
``model`` imports it.
"""

from eventharness.contracts.builder import Contract, ContractMessage, contract
from eventharness.contracts.compare import Mismatch, compare_body, compare_json, compare_metadata
from eventharness.contracts.declarations import load_contract, load_contract_yaml
from eventharness.contracts.generators import Generator, Generators, generate
from eventharness.contracts.model import (
    ASYNC,
    SYNC,
    Contents,
    Interaction,
    Message,
    Pact,
    ProviderState,
)
from eventharness.contracts.pactfile import (
    content_hash,
    dump_pact,
    load_pact,
    loads_pact,
    parse_pact,
    write_pact,
)
from eventharness.contracts.providers import ProviderConfig, load_provider_config
from eventharness.contracts.rules import Matcher, MatchingRules, RuleList, parse_matching_rules
from eventharness.contracts.terms import Term
from eventharness.contracts.verify import (
    InteractionResult,
    LoadedPact,
    Verification,
    compare_message,
    verify_function,
)

__all__ = [
    "ASYNC",
    "SYNC",
    "Contents",
    "Contract",
    "ContractMessage",
    "Generator",
    "Generators",
    "Interaction",
    "InteractionResult",
    "LoadedPact",
    "Matcher",
    "MatchingRules",
    "Message",
    "Mismatch",
    "Pact",
    "ProviderConfig",
    "ProviderState",
    "RuleList",
    "Term",
    "Verification",
    "compare_body",
    "compare_json",
    "compare_message",
    "compare_metadata",
    "content_hash",
    "contract",
    "dump_pact",
    "generate",
    "load_contract",
    "load_contract_yaml",
    "load_pact",
    "load_provider_config",
    "loads_pact",
    "parse_matching_rules",
    "parse_pact",
    "verify_function",
    "write_pact",
]
