"""Consistent masks within a task, and the vault that can put the values back.

A masked value becomes a placeholder such as ``<PERSON_1>``. The same value gets the same
placeholder everywhere in a task (question, every passage, every step, every replica): the
placeholder is chosen in Redis, by a Lua script, from the value's keyed hash, so two steps of
one task masking the same name at once still agree. The vault keeps each placeholder's value
sealed for the tenant (``mesh.security.crypto``), and the data class it was found in, so that the planner
can restore values in the final answer for a principal the policies let see them, and no one else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mesh.io.keys import Keys
from mesh.io.pipelined import Batch, run
from mesh.io.redis_clients import redis_errors
from mesh.security.crypto import Sealer

__all__ = ["Vault", "Item", "PLACEHOLDER", "substitute"]

PLACEHOLDER = re.compile(r"<([A-Z_]+?)_(\d+)>")

#: KEYS: the task's vault; ARGV: ttl, then (type, keyed hash, sealed value, class rank) per item.
_ASSIGN = """
local out = {}
for i = 2, #ARGV, 4 do
  local t, h, v, c = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  local p = redis.call('HGET', KEYS[1], 'h:' .. h)
  if not p then
    p = '<' .. t .. '_' .. redis.call('HINCRBY', KEYS[1], 'n:' .. t, 1) .. '>'
    redis.call('HSET', KEYS[1], 'h:' .. h, p, 'v:' .. p, v, 'c:' .. p, c)
  elseif tonumber(redis.call('HGET', KEYS[1], 'c:' .. p) or 0) < c then
    redis.call('HSET', KEYS[1], 'c:' .. p, c)  -- the most protected class it was seen in decides who may see it
  end
  out[#out + 1] = p
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return out
"""


@dataclass(frozen=True)
class Item:
    type: str
    value: str
    classification: int  # rank of the data class it was found in


@dataclass(frozen=True)
class Held:
    placeholder: str
    type: str
    value: str
    classification: int


def substitute(text: str, values: dict[str, str]) -> str:
    """``text`` with each placeholder in ``values`` replaced by its value (others left as they are)."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(0), m.group(0)), text)


class Vault:
    """Placeholders and sealed values of each task, in Redis under the task's tenant."""

    def __init__(self, redis, keys: Keys, sealer: Sealer, ttl_s: int) -> None:
        self._redis, self._keys, self._sealer, self._ttl = redis, keys, sealer, ttl_s
        self._assign = redis.register_script(_ASSIGN)

    def key(self, tenant: str, task_id: str) -> str:
        return self._keys.masks(tenant, task_id)

    async def placeholders(self, tenant: str, task_id: str, items: list[Item]) -> list[str]:
        """The placeholder of each item, the same for the same value within the task."""
        if not items:
            return []
        args: list = [self._ttl]
        for it in items:
            args += [it.type, self._sealer.keyed_hash(tenant, it.value),
                     self._sealer.seal(tenant, "mask.value", it.value), it.classification]
        def queue(b: Batch):
            b.critical()  # a placeholder lost in a failover would leave its value unrecoverable in the answer
            b.script(self._assign, [self.key(tenant, task_id)], args)
            return lambda replies: [p.decode() for p in replies[0]]
        return await run(self._redis, queue, "assigning mask placeholders")

    async def held(self, tenant: str, task_id: str, placeholders: set[str]) -> list[Held]:
        """The values behind ``placeholders`` (those the task has), opened."""
        names = sorted(placeholders)
        if not names:
            return []
        async with redis_errors("reading the mask vault"):
            raw = await self._redis.hmget(self.key(tenant, task_id), [f"v:{p}" for p in names] +
                                          [f"c:{p}" for p in names])
        values, classes = raw[:len(names)], raw[len(names):]
        return [Held(p, PLACEHOLDER.fullmatch(p).group(1), self._sealer.open(tenant, "mask.value", v.decode()),
                     int(c or 0)) for p, v, c in zip(names, values, classes) if v is not None]
