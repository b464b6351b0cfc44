"""Which Redis a module's ``redis_url`` fixture (conftest.py) starts."""

import pytest

#: the module's tests run against one redis-server and against a three-primary Redis Cluster
ON_EVERY_STORE = pytest.mark.parametrize("redis_url", ["node", "cluster"], indirect=True)
