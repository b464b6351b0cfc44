"""How every Kafka client of the mesh proves itself to the broker: TLS and SASL, in each library's form.

Managed clusters (Amazon MSK, Confluent Cloud) want a SASL username and password, usually over
TLS (SASL_SSL): SCRAM-SHA-512 on MSK, PLAIN with an API key and secret on Confluent Cloud. The
two client libraries take that differently: confluent-kafka (librdkafka: the CLI, the tests,
the benchmarks) as configuration keys, Faust (aiokafka: the agents) as a credentials object.
Both are built here from the same settings, on top of the TLS of ``mesh.io.tls``, so that a
client cannot be given TLS without SASL or SASL without TLS. ``Settings`` has already refused
SASL without both credentials, and credentials without SASL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mesh.io.tls import confluent_tls, kafka_ssl_context
from mesh.settings import Settings

if TYPE_CHECKING:
    import faust

__all__ = ["confluent_security", "faust_credentials"]


def confluent_security(settings: Settings) -> dict[str, str]:
    """librdkafka's keys for the broker's listener: ``security.protocol``, TLS files, SASL mechanism and credentials.

    The password is in the dict (librdkafka needs it): never log the result.
    """
    config = {**confluent_tls(settings), "security.protocol": settings.kafka_security_protocol}
    if settings.kafka_sasl:
        config |= {"sasl.mechanisms": settings.kafka_sasl_mechanism, "sasl.username": settings.kafka_sasl_username,
                   "sasl.password": settings.kafka_sasl_password.get_secret_value()}
    return config


def faust_credentials(settings: Settings) -> faust.SASLCredentials | faust.SSLCredentials | None:
    """What Faust's ``broker_credentials`` is given; None on PLAINTEXT.

    Faust turns it into aiokafka's ``security_protocol``, ``sasl_mechanism``, ``sasl_plain_username``,
    ``sasl_plain_password`` and ``ssl_context`` for every consumer, producer and topic-creating client
    (``credentials_to_aiokafka_auth``). A SASLCredentials with a context is SASL_SSL, without one
    SASL_PLAINTEXT; aiokafka speaks PLAIN and both SCRAM mechanisms itself.
    """
    import faust  # not at import time: the CLI reaches the bus through confluent-kafka alone

    context = kafka_ssl_context(settings)
    if settings.kafka_sasl:
        return faust.SASLCredentials(username=settings.kafka_sasl_username,
                                     password=settings.kafka_sasl_password.get_secret_value(),
                                     mechanism=settings.kafka_sasl_mechanism, ssl_context=context)
    return faust.SSLCredentials(context) if context is not None else None
