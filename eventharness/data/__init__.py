"""Test data: values generated from schemas (valid, or invalid one named way), data tables.

    import eventharness as eh
    orders = eh.data.from_schema("shop.OrderPlaced", total=42)
    orders.sample(10, seed=1)
    eh.data.invalid("shop.OrderPlaced", "out-of-range").example()

See docs/data.md.
"""

from eventharness.data.generators import VIOLATIONS, Generated, from_schema, invalid

__all__ = ["VIOLATIONS", "Generated", "from_schema", "invalid"]
