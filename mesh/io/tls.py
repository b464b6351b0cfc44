"""TLS for the bus and the state store, said the way each client library wants it.

Three libraries reach the same two services and each takes TLS in its own form: aiokafka
(Faust's transport) an ``ssl.SSLContext``, confluent-kafka (librdkafka) file paths in its
config, redis-py ``ssl_*`` keyword arguments. Building all three here from one set of
settings keeps them from drifting apart: a CA or client certificate set for one client is
used by every client. ``Settings`` has already refused missing files and a certificate
without its key, so what fails here is the content of the files (a key that is not the
certificate's, a file that is not PEM): ``InvalidInput``, which the CLI prints as one ``error:``
line naming the settings, with exit code 2.

SASL_SSL is TLS too: both functions give its TLS part. What Kafka clients are handed, SASL
included, comes from ``mesh.io.kafka_security``, which builds on these.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from mesh.errors import InvalidInput
from mesh.settings import Settings

__all__ = ["kafka_ssl_context", "confluent_tls", "redis_tls"]


def kafka_ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The context aiokafka (and so Faust) wraps broker connections in; None without TLS (PLAINTEXT, SASL_PLAINTEXT).

    It verifies the broker against ``kafka_ssl_cafile`` (else the system's trust store) and
    presents the client certificate when one is set.
    """
    if not settings.kafka_tls:
        return None
    return _client_context("kafka", settings.kafka_ssl_cafile, settings.kafka_ssl_certfile,
                           settings.kafka_ssl_keyfile, settings.kafka_ssl_check_hostname)


def confluent_tls(settings: Settings) -> dict[str, str]:
    """librdkafka's configuration keys for the same TLS as ``kafka_ssl_context``.

    Its ``security.protocol`` is the TLS layer alone (SSL or PLAINTEXT); ``confluent_security`` in
    ``mesh.io.kafka_security`` puts SASL on top and is what clients are given.
    """
    if not settings.kafka_tls:
        return {"security.protocol": "PLAINTEXT"}
    config = {"security.protocol": "SSL",
              "ssl.endpoint.identification.algorithm": "https" if settings.kafka_ssl_check_hostname else "none"}
    for key, path in (("ssl.ca.location", settings.kafka_ssl_cafile),
                      ("ssl.certificate.location", settings.kafka_ssl_certfile),
                      ("ssl.key.location", settings.kafka_ssl_keyfile)):
        if path is not None:
            config[key] = str(path)
    return config


def redis_tls(settings: Settings) -> dict[str, str]:
    """redis-py's keyword arguments for TLS; empty for a plain redis:// URL.

    redis-py selects TLS by the rediss:// scheme and refuses ``ssl_*`` arguments on a plain
    connection, so nothing is added unless the URL asks for TLS (rediss://, rediss+sentinel://).
    The server is always verified.
    """
    if not settings.redis_target.tls:
        return {}
    kwargs = {"ssl_cert_reqs": "required"}
    for key, path in (("ssl_ca_certs", settings.redis_ssl_ca_certs), ("ssl_certfile", settings.redis_ssl_certfile),
                      ("ssl_keyfile", settings.redis_ssl_keyfile)):
        if path is not None:
            kwargs[key] = str(path)
    return kwargs


def _client_context(service: str, cafile: Path | None, certfile: Path | None, keyfile: Path | None,
                    check_hostname: bool) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(cafile) if cafile else None)
        context.check_hostname = check_hostname
        if certfile is not None:
            context.load_cert_chain(str(certfile), str(keyfile) if keyfile else None, password=_encrypted)
    except (ssl.SSLError, OSError) as err:
        raise InvalidInput(f"the {service} TLS files cannot be used ({err}): SWITCHBOARD_KAFKA_SSL_CAFILE={cafile} "
                           f"must hold PEM certificates, and SWITCHBOARD_KAFKA_SSL_KEYFILE={keyfile} the unencrypted "
                           f"PEM key of SWITCHBOARD_KAFKA_SSL_CERTFILE={certfile}", code="tls_files_unusable") from err
    return context


def _encrypted() -> bytes:
    """Called by ``ssl`` only for an encrypted key: refuse instead of prompting on the terminal."""
    raise ssl.SSLError("the private key is encrypted; give an unencrypted key (e.g. `openssl pkey -in KEY -out KEY2`)")
