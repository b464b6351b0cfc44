"""mesh.io.coalesce: calls of one turn are answered by one batch, each caller gets its own result or the error."""

from __future__ import annotations

import asyncio

import pytest

from mesh.io.coalesce import Coalescer

pytestmark = pytest.mark.unit


def test_calls_made_together_share_one_batch_and_get_their_own_results():
    batches = []

    async def double(args):
        batches.append(list(args))
        return [a * 2 for a in args]

    async def scenario():
        c = Coalescer(double)
        together = await asyncio.gather(*(c(i) for i in range(5)))
        alone = await c(10)
        return together, alone

    together, alone = asyncio.run(scenario())
    assert together == [0, 2, 4, 6, 8] and alone == 20
    assert batches == [[0, 1, 2, 3, 4], [10]]


def test_a_full_batch_goes_at_once_and_the_rest_follows():
    batches = []

    async def echo(args):
        batches.append(len(args))
        return list(args)

    async def scenario():
        c = Coalescer(echo, max_size=3)
        return await asyncio.gather(*(c(i) for i in range(7)))

    assert asyncio.run(scenario()) == list(range(7))
    assert sum(batches) == 7 and max(batches) <= 3


def test_a_failed_batch_fails_every_caller_with_its_error():
    async def down(args):
        raise ConnectionError("redis went away")

    async def scenario():
        c = Coalescer(down)
        return await asyncio.gather(c(1), c(2), return_exceptions=True)

    errors = asyncio.run(scenario())
    assert all(isinstance(e, ConnectionError) and "went away" in str(e) for e in errors)
