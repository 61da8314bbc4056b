"""Proxy overhead at no fault: a Kafka publish round trip through the TCP proxy
(``eventharness.env.proxy``, with the Metadata rewrite) against the same publish direct.

One aiokafka producer per path, publishes awaited one at a time (``send_and_wait``), direct
and proxied alternating in rounds so both see the same machine load; the figure is the median
round trip per path, and the ratio proxied / direct (target ≤ 1.5x: the proxy is one extra
local hop in user space, which must stay small next to a broker round trip).
"""

from __future__ import annotations

import time

from bench.common import Context, Row, median, unique


async def run(ctx: Context) -> list[Row]:
    if ctx.kafka_url is None:
        return []
    from aiokafka import AIOKafkaProducer

    from eventharness.env.proxy import TcpProxy
    from eventharness.model.channels import parse_broker_url

    url = parse_broker_url(ctx.kafka_url)
    proxy = TcpProxy(url.hosts[0], kafka=True)
    await proxy.start()
    topic = unique("bench-proxy")
    direct = AIOKafkaProducer(bootstrap_servers=url.bootstrap)
    proxied = AIOKafkaProducer(bootstrap_servers=proxy.bootstrap)
    await direct.start()
    await proxied.start()
    spent: dict[str, list[float]] = {"direct": [], "proxied": []}
    try:
        for producer in (direct, proxied):  # warm-up: the topic, the connections
            await producer.send_and_wait(topic, b"warm-up")
        for _ in range(ctx.size(20, 4)):
            for label, producer in (("direct", direct), ("proxied", proxied)):
                for _ in range(50):
                    began = time.perf_counter()
                    await producer.send_and_wait(topic, b"x" * 200)
                    spent[label].append(time.perf_counter() - began)
    finally:
        await proxied.stop()
        await direct.stop()
        await proxy.aclose()
    ours, theirs = median(spent["proxied"]) * 1e6, median(spent["direct"]) * 1e6
    ratio = ours / theirs
    return [
        Row(
            name="proxy overhead, Kafka publish round trip (no fault)",
            harness=ours,
            unit="µs proxied",
            baseline=theirs,
            baseline_unit="µs direct",
            ratio=ratio,
            target=1.5,
            sense="<=",
            measure=ratio,
            notes={"publishes_per_path": len(spent["direct"])},
        )
    ]
