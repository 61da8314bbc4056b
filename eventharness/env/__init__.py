"""eventharness.env: configuration (profiles), the environment a profile needs (embedded
brokers, services, readiness), and the state of `eventharness up`."""

__all__: list[str] = []
