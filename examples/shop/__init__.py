"""A small shop: three services talking over Kafka and RabbitMQ.

``payments`` (Kafka ``orders`` → Kafka ``payments``), ``shipping`` (Kafka ``payments`` → RabbitMQ
exchange ``shipping``) and ``orders-view`` (all three → an HTTP read model). Each runs as its own
process: ``python -m examples.shop.payments`` and so on; see README.md.

This is the *system under test*: it uses aiokafka and aio-pika directly and never imports
eventharness.
"""
