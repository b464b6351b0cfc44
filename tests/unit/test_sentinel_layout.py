"""Which embedded Redis node starts as primary: the one the last run's sentinels named, when state is kept."""

from __future__ import annotations

import pytest

from infra.redis_sentinel import last_primary, sentinel_dir
from mesh.ops.stack import redis_data, redis_ports
from mesh.settings import Settings

pytestmark = pytest.mark.unit

URL = "redis+sentinel://127.0.0.1:26379,127.0.0.1:26380,127.0.0.1:26381/sb/0"


def _conf(tmp_path, monitors: list[int]) -> None:
    d = sentinel_dir(tmp_path)
    d.mkdir(parents=True, exist_ok=True)
    for i, port in enumerate(monitors):
        (d / f"sentinel-{26379 + i}.conf").write_text(f"port {26379 + i}\nsentinel monitor sb 127.0.0.1 {port} 2\n")


def test_a_promoted_node_starts_as_primary_when_state_is_kept(tmp_path):
    _conf(tmp_path, [27380, 27380, 27379])  # the majority saw the failover
    kept = Settings(redis_url=URL, run_dir=tmp_path, redis_appendonly=True)
    assert redis_ports(kept) == ([27380, 27379], [26379, 26380, 26381])
    assert redis_data(kept, 27380) == tmp_path / "redis" / "27380"
    fresh = Settings(redis_url=URL, run_dir=tmp_path)  # nothing kept: the first port is primary, as ever
    assert redis_ports(fresh)[0] == [27379, 27380] and redis_data(fresh, 27379) is None


def test_no_config_or_an_unknown_port_keeps_the_order(tmp_path):
    assert last_primary(sentinel_dir(tmp_path), "sb", [27379, 27380]) == [27379, 27380]
    _conf(tmp_path, [9999])
    assert last_primary(sentinel_dir(tmp_path), "sb", [27379, 27380]) == [27379, 27380]


def test_one_node_keeps_its_data_where_it_always_did(tmp_path):
    s = Settings(redis_url="redis://127.0.0.1:16379/0", run_dir=tmp_path, redis_appendonly=True)
    assert redis_ports(s) == ([16379], []) and redis_data(s, 16379) == tmp_path / "redis"
