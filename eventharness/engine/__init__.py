"""eventharness.engine: scenarios, the collector, expectations, stubs, faults and the
outgoing pipeline; import from the modules (the public API is ``eventharness``)."""

__all__: list[str] = []
