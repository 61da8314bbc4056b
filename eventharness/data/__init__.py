"""Test data: values generated from schemas (valid, or invalid one named way), data tables.

    import eventharness as eh
    orders = eh.data.from_schema("shop.OrderPlaced", total=42)
    orders.sample(10, seed=1)
    eh.data.invalid("shop.OrderPlaced", "out-of-range").example()
    eh.data.FakeValues(seed=1)["iban"]        # Faker, seeded (the ``${fake.iban}`` of files)
    eh.data.sql("sqlite:///shop.db", "INSERT INTO ...")   # setup/teardown actions

See docs/data.md and docs/data-lifecycle.md.
"""

from eventharness.data.actions import http, sql
from eventharness.data.fake import FakeValues
from eventharness.data.generators import VIOLATIONS, Generated, from_schema, invalid
from eventharness.engine.lifecycle import publish

__all__ = [
    "VIOLATIONS",
    "FakeValues",
    "Generated",
    "from_schema",
    "http",
    "invalid",
    "publish",
    "sql",
]
