"""Consumer-driven message contracts that interoperate with Pact (V3 message pacts, V4 pacts).

This package holds the contract model and the specification's matching: read and write pact
files (:mod:`.pactfile`), matching rules with path weighting (:mod:`.rules`, :mod:`.paths`,
:mod:`.matchers`, :mod:`.compare`) and generators (:mod:`.generators`). It sits above the engine
and below the CLI; nothing in ``engine``, ``env``, ``schemas``, ``transports`` or ``model``
imports it.
"""

from eventharness.contracts.compare import Mismatch, compare_body, compare_json, compare_metadata
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
from eventharness.contracts.rules import Matcher, MatchingRules, RuleList, parse_matching_rules

__all__ = [
    "ASYNC",
    "SYNC",
    "Contents",
    "Generator",
    "Generators",
    "Interaction",
    "Matcher",
    "MatchingRules",
    "Message",
    "Mismatch",
    "Pact",
    "ProviderState",
    "RuleList",
    "compare_body",
    "compare_json",
    "compare_metadata",
    "content_hash",
    "dump_pact",
    "generate",
    "load_pact",
    "loads_pact",
    "parse_matching_rules",
    "parse_pact",
    "write_pact",
]
