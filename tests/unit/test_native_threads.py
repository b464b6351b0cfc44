"""mesh.runtime.worker.limit_blas: an agent process caps numpy's BLAS threads (their idle spinning costs CPU)."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from mesh.runtime.worker import limit_blas
from mesh.settings import Settings

pytestmark = pytest.mark.unit


def _blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


@pytest.mark.parametrize("threads", [1, 2])
def test_the_setting_caps_numpys_blas(monkeypatch, threads):
    assert np.ones((4, 4)) @ np.ones(4) is not None and _blas_threads(), "numpy's BLAS is loaded"
    monkeypatch.setenv("SWITCHBOARD_BLAS_THREADS", str(threads))
    limits = limit_blas(Settings())
    try:
        assert _blas_threads() == {threads}
    finally:
        limits.restore_original_limits()


def test_one_thread_by_default():
    assert Settings().blas_threads == 1
