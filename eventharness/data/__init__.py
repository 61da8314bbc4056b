"""Test data: values generated from schemas (valid, or invalid one named way), data tables.

    import eventharness as eh
    orders = eh.data.from_schema("shop.OrderPlaced", total=42)
    orders.sample(10, seed=1)
    eh.data.invalid("shop.OrderPlaced", "out-of-range").example()
    eh.data.FakeValues(seed=1)["iban"]        # Faker, seeded (the ``${fake.iban}`` of files)

See docs/data.md.
"""

from eventharness.data.fake import FakeValues
from eventharness.data.generators import VIOLATIONS, Generated, from_schema, invalid

__all__ = ["VIOLATIONS", "FakeValues", "Generated", "from_schema", "invalid"]
