"""index.snapshots: vectors saved on disk come back only for the exact content they were made from."""

from __future__ import annotations

import numpy as np
import pytest

from index import snapshots

pytestmark = pytest.mark.unit


def vectors(n: int = 5, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, 8)).astype(np.float32)


def test_round_trip_for_the_same_content(tmp_path):
    key = snapshots.fingerprint("m", ["a", "b"])
    v = vectors()
    snapshots.save(tmp_path, "acme", key, v)
    assert np.array_equal(snapshots.load(tmp_path, "acme", key), v)


def test_other_content_model_or_order_is_not_loaded(tmp_path):
    key = snapshots.fingerprint("m", ["a", "b"])
    snapshots.save(tmp_path, "acme", key, vectors())
    for other in (snapshots.fingerprint("m", ["b", "a"]), snapshots.fingerprint("m2", ["a", "b"]),
                  snapshots.fingerprint("m", ["a", "b", "c"]), snapshots.fingerprint("m", ["ab"])):
        assert other != key
        assert snapshots.load(tmp_path, "acme", other) is None


def test_missing_or_corrupt_snapshot_is_none(tmp_path):
    key = snapshots.fingerprint("m", ["a"])
    assert snapshots.load(tmp_path, "acme", key) is None
    path = snapshots.save(tmp_path, "acme", key, vectors())
    path.write_bytes(b"not a numpy archive")
    assert snapshots.load(tmp_path, "acme", key) is None


def test_tenants_never_share_a_file(tmp_path):
    key = snapshots.fingerprint("m", ["a"])
    snapshots.save(tmp_path, "a/b", key, vectors(seed=1))
    snapshots.save(tmp_path, "a_b", key, vectors(seed=2))
    assert np.array_equal(snapshots.load(tmp_path, "a/b", key), vectors(seed=1))
    assert np.array_equal(snapshots.load(tmp_path, "a_b", key), vectors(seed=2))
    assert len(list(tmp_path.iterdir())) == 2
