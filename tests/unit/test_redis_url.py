"""SWITCHBOARD_REDIS_URL: one node, Sentinel's primary or a cluster, and a clear error for anything else."""

from __future__ import annotations

import pytest

from mesh.redis_url import parse_redis_url
from mesh.settings import Settings

pytestmark = pytest.mark.unit


def test_one_node_with_credentials_and_tls():
    t = parse_redis_url("rediss://app:p%40ss@cache.internal:6380/2")
    assert (t.mode, t.tls, t.hosts, t.db, t.username, t.password) == \
        ("node", True, (("cache.internal", 6380),), 2, "app", "p@ss")
    assert t.where == "cache.internal:6380/2" and "p@ss" not in t.where


def test_sentinels_their_service_and_default_ports():
    t = parse_redis_url("redis+sentinel://:secret@s1:26380,s2,s3:26381/orders/1")
    assert t.mode == "sentinel" and not t.tls
    assert t.hosts == (("s1", 26380), ("s2", 26379), ("s3", 26381))
    assert (t.service, t.db, t.password) == ("orders", 1, "secret")
    assert t.where == "orders at sentinels s1:26380,s2:26379,s3:26381"


def test_sentinels_over_tls():
    assert parse_redis_url("rediss+sentinel://s1:26379/orders").tls


def test_cluster_nodes_over_tls_with_a_password():
    t = parse_redis_url("rediss+cluster://:pw@n1:7000,n2:7001/0")
    assert (t.mode, t.tls, t.hosts, t.db, t.password) == ("cluster", True, (("n1", 7000), ("n2", 7001)), 0, "pw")
    assert t.where == "the cluster at n1:7000,n2:7001"
    assert parse_redis_url("redis+cluster://n1").hosts == (("n1", 6379),)


@pytest.mark.parametrize("url, says", [
    ("redis+sentinel://s1:26379,s2:26379", "not the primary they watch"),
    ("redis://a:6379,b:6379/0", "a redis:// URL names one node"),
    ("redis+cluster://a:7000/3", "Redis Cluster has database 0 only"),
    ("redis+clustre://a:7000", "its scheme is .redis\\+clustre."),
    ("http://cache:6379", "must look like"),
    ("redis://cache:6379/zero", "where a database number belongs"),
    ("redis://cache:port/0", "a port is a number"),
])
def test_what_is_wrong_is_said(url, says):
    with pytest.raises(ValueError, match=says.replace("(", r"\(")):
        parse_redis_url(url)


def test_settings_refuse_an_unreadable_url_at_start():
    with pytest.raises(ValueError, match="names sentinels but not the primary"):
        Settings(redis_url="redis+sentinel://s1:26379")


def test_tls_files_are_accepted_for_sentinels_over_tls(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    assert Settings(redis_url="rediss+sentinel://s1:26379/orders", redis_ssl_ca_certs=ca).redis_target.tls
    with pytest.raises(ValueError, match="not reached over TLS"):
        Settings(redis_url="redis+sentinel://s1:26379/orders", redis_ssl_ca_certs=ca)
