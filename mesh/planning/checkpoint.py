"""A task's DAG and its checkpoint in Redis, changed only by Lua scripts (atomic, no lost update).

One hash per task holds the plan, the original task, each node's status (``n:<id>``), each
finished node's result (``r:<id>``), which input started each node (``fired:<id>``) and which
closed the task (``closed_by``). Every script answers the same for a repeated input as for the
first one: a redelivered ``steps.done`` (after a planner died mid-way) gets back exactly the
nodes that message started and whether it closed the task, so the planner re-sends what the
first run may not have sent, and nothing else. Finished nodes are never started again. The
start and advance scripts return the checkpoint as they leave it, so no read follows them.

Each script touches its task's hash alone, so under Redis Cluster it runs in the task's slot. The
deadlines of all tasks are one sorted set beside them, written in the same round trip: a start adds
its deadline (a repeat or a refused start too: the sweep forgets a deadline whose task is no longer
open), a finish removes it.

Task statuses: ``running`` -> ``closing`` (every node finished; the planner composes) -> a final
``TaskStatus``; or ``running`` -> ``timed_out`` / ``cancelled`` directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import redis.asyncio as aioredis

from mesh.io.keys import Keys
from mesh.io.pipelined import Batch, Queue, after, run
from mesh.io.redis_clients import redis_errors
from mesh.planning.dag import Node, NodeResult, Plan
from mesh.security.crypto import Sealer

__all__ = ["Workflow", "TaskState", "Advanced", "OPEN"]

OPEN = ("running", "closing")

_START = """
local key = KEYS[1]
if redis.call('EXISTS', key) == 1 and not redis.call('HGET', key, 'plan') then
  return {{'!cancelled'}, {}}  -- a cancellation overtook the submission
end
if redis.call('EXISTS', key) == 0 then
  local plan = cjson.decode(ARGV[1])
  redis.call('HSET', key, 'plan', ARGV[1], 'task', ARGV[2], 'status', 'running', 'deadline_ms', ARGV[3])
  for _, node in ipairs(plan) do
    if #node.after == 0 then
      redis.call('HSET', key, 'n:' .. node.id, 'running', 'fired:' .. node.id, 'submit')
    else
      redis.call('HSET', key, 'n:' .. node.id, 'pending')
    end
  end
  redis.call('EXPIRE', key, tonumber(ARGV[4]))
end
local plan = cjson.decode(redis.call('HGET', key, 'plan'))
local fired = {}
for _, node in ipairs(plan) do
  if redis.call('HGET', key, 'fired:' .. node.id) == 'submit' then table.insert(fired, node.id) end
end
return {fired, redis.call('HGETALL', key)}
"""

_ADVANCE = """
local key, step = KEYS[1], ARGV[1]
if redis.call('EXISTS', key) == 0 then return {{'unknown'}, {}} end
local current = redis.call('HGET', key, 'n:' .. step)
if not current then return {{'unknown_step'}, {}} end
if redis.call('HGET', key, 'status') == 'running' and (current == 'running' or current == 'pending') then
  redis.call('HSET', key, 'n:' .. step, ARGV[2], 'r:' .. step, ARGV[3])
  local plan = cjson.decode(redis.call('HGET', key, 'plan'))
  local finished = true
  for _, node in ipairs(plan) do
    local st = redis.call('HGET', key, 'n:' .. node.id)
    if st == 'pending' then
      local ready = true
      for _, dep in ipairs(node.after) do
        local ds = redis.call('HGET', key, 'n:' .. dep)
        if ds == 'pending' or ds == 'running' then ready = false end
      end
      if ready then
        redis.call('HSET', key, 'n:' .. node.id, 'running', 'fired:' .. node.id, step)
        st = 'running'
      end
    end
    if st == 'pending' or st == 'running' then finished = false end
  end
  if finished then redis.call('HSET', key, 'status', 'closing', 'closed_by', step) end
end
local plan = cjson.decode(redis.call('HGET', key, 'plan'))
local out = {redis.call('HGET', key, 'status'), redis.call('HGET', key, 'closed_by') == step and '1' or '0'}
for _, node in ipairs(plan) do
  if redis.call('HGET', key, 'fired:' .. node.id) == step then table.insert(out, node.id) end
end
return {out, redis.call('HGETALL', key)}
"""

_CLOSE = """
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then
  if ARGV[3] == '1' then  -- remember the cancellation, for a submission still on its way
    redis.call('HSET', key, 'status', ARGV[1], 'closed_by', ARGV[2])
    redis.call('EXPIRE', key, tonumber(ARGV[4]))
  end
  return {'unknown', '0'}
end
if redis.call('HEXISTS', key, 'plan') == 0 then  -- a remembered cancellation: answered as the first time
  return {'unknown', '0'}
end
if redis.call('HGET', key, 'status') == 'running' then
  redis.call('HSET', key, 'status', ARGV[1], 'closed_by', ARGV[2])
end
return {redis.call('HGET', key, 'status'), redis.call('HGET', key, 'closed_by') == ARGV[2] and '1' or '0'}
"""

_FINISH = """
if redis.call('HGET', KEYS[1], 'status') == 'closing' then redis.call('HSET', KEYS[1], 'status', ARGV[1]) end
return 1
"""


@dataclass(frozen=True)
class TaskState:
    """A task as checkpointed: what the planner needs to start nodes or compose."""

    status: str
    task: bytes
    plan: Plan
    nodes: dict[str, str]
    results: dict[str, NodeResult]
    closed_by: str | None


@dataclass(frozen=True)
class Advanced:
    status: str  # the task's status after the step; 'unknown' / 'unknown_step' when there is no such task / step
    closes: bool  # this step finished the last node (or is a redelivery of the one that did)
    fire: list[str]  # nodes this step started (the same list on a redelivery)


class Workflow:
    """The checkpointed DAGs of tasks, shared by every planner replica."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, ttl_s: int, sealer: Sealer | None = None) -> None:
        self._redis, self._keys, self._ttl, self._sealer = redis, keys, ttl_s, sealer
        self._start = redis.register_script(_START)
        self._advance = redis.register_script(_ADVANCE)
        self._close = redis.register_script(_CLOSE)
        self._finish = redis.register_script(_FINISH)

    @property
    def deadlines(self) -> str:
        return self._keys.deadlines("planner")

    async def start(self, key: str, task: bytes, plan: Plan, deadline_ms: int) -> list[str] | None:
        """Record the task (unless it is recorded already); returns the nodes that start at once,
        or None when the task was cancelled before it arrived."""
        started = await self.start_and_load(key, task, plan, deadline_ms)
        return None if started is None else started[0]

    async def start_and_load(self, key: str, task: bytes, plan: Plan,
                             deadline_ms: int) -> tuple[list[str], TaskState] | None:
        """``start``, and the checkpoint as it leaves it, in one round trip."""
        payload = json.dumps([{**n.to_json(), "question": self._seal(key, "plan.question", n.question)} for n in plan])

        def queue(b: Batch):
            b.critical()
            b.script(self._start, [key], [payload, task.hex(), deadline_ms, self._ttl])
            b.pipe.zadd(self.deadlines, {key: deadline_ms})  # a repeat's or a cancelled task's: a sweep forgets it
            return lambda replies: (None if replies[0][0] == [b"!cancelled"] else
                                    ([f.decode() for f in replies[0][0]], self._state(key, _hash(replies[0][1]))))
        return await run(self._redis, queue, "recording the task's plan")

    async def advance(self, key: str, step: str, result: NodeResult) -> Advanced:
        """Mark ``step`` finished with ``result`` and start the nodes that were waiting only for it."""
        return (await self.advance_and_load(key, step, result))[0]

    async def advance_and_load(self, key: str, step: str, result: NodeResult) -> tuple[Advanced, TaskState | None]:
        return await run(self._redis, self.advancing(key, step, result), "checkpointing a finished step")

    def advancing(self, key: str, step: str, result: NodeResult) -> Queue:
        """``advance`` and ``load`` after it, as commands for a batch (``mesh.io.pipelined``), e.g. the ledger
        read of the ``steps.done`` that says so (the script answers a repeat as the first time)."""
        sealed = self._seal(key, "result", result.to_json())

        def queue(b: Batch):
            b.critical()
            b.script(self._advance, [key], [step, result.status.value, sealed])
            return lambda replies: (_advanced([o.decode() for o in replies[0][0]]),
                                    self._state(key, _hash(replies[0][1])))
        return queue

    async def close(self, key: str, status: str, by: str, *, remember: bool = False) -> tuple[str, bool]:
        """End a running task as ``status`` (timed_out, cancelled); returns its status and whether ``by`` closed it.

        With ``remember``, a task not seen yet is recorded as closed, so its submission is refused when it comes.
        """
        def queue(b: Batch):
            b.critical()
            b.script(self._close, [key], [status, by, "1" if remember else "0", self._ttl])
            return lambda replies: (replies[0][0].decode(), replies[0][1] == b"1")
        return await run(self._redis, queue, "closing a task")

    async def finish(self, key: str, status: str, *, forget_deadline: bool = True) -> None:
        """Record the composed result's status and (unless told not to) stop watching the deadline: inside a
        message, with its ledger entry (``mesh.io.pipelined.after``)."""
        def queue(b: Batch) -> None:
            b.critical()
            b.script(self._finish, [key], [status])
            if forget_deadline:
                b.pipe.zrem(self.deadlines, key)
        await after(self._redis, queue, "finishing a task")

    async def overdue(self, now_ms: int, limit: int = 100) -> list[str]:
        async with redis_errors("reading overdue tasks"):
            return [k.decode() for k in await self._redis.zrangebyscore(self.deadlines, "-inf", now_ms,
                                                                         start=0, num=limit)]

    async def forget_deadlines(self, keys: list[str]) -> None:
        if keys:
            async with redis_errors("clearing deadlines"):
                await self._redis.zrem(self.deadlines, *keys)

    async def load(self, key: str) -> TaskState | None:
        """The checkpoint; None for a task never planned (or only cancelled before it arrived)."""
        async with redis_errors("loading a task's checkpoint"):
            return self._state(key, await self._redis.hgetall(key))

    def _state(self, key: str, raw: dict) -> TaskState | None:
        if not raw:
            return None
        h = {k.decode(): v for k, v in raw.items()}
        if "plan" not in h:
            return None  # only a remembered cancellation
        plan = tuple(Node(n["id"], self._open(key, "plan.question", n["question"]), tuple(n["after"]))
                     for n in json.loads(h["plan"]))
        return TaskState(status=h["status"].decode(), task=bytes.fromhex(h["task"].decode()), plan=plan,
                         nodes={n.id: h[f"n:{n.id}"].decode() for n in plan},
                         results={n.id: NodeResult.from_json(self._open(key, "result", h[f"r:{n.id}"].decode()))
                                  for n in plan if f"r:{n.id}" in h},
                         closed_by=h["closed_by"].decode() if "closed_by" in h else None)

    def _seal(self, key: str, field: str, text: str) -> str:
        return self._sealer.seal(self._keys.tenant_of_task(key), field, text) if self._sealer else text

    def _open(self, key: str, field: str, text: str) -> str:
        return self._sealer.open(self._keys.tenant_of_task(key), field, text) if self._sealer else text

    async def status(self, key: str) -> str | None:
        return (await run(self._redis, self.status_reading(key), "reading a task's status"))[0]

    @staticmethod
    def status_reading(key: str) -> Queue:
        """``status`` as commands for a batch; its answer is a 1-tuple (the status, or None)."""
        def queue(b: Batch):
            b.pipe.hget(key, "status")
            return lambda replies: (replies[0].decode() if replies[0] is not None else None,)
        return queue


def _hash(flat: list[bytes]) -> dict[bytes, bytes]:
    """A hash as a script returns it (HGETALL: field, value, field, value...)."""
    return dict(zip(flat[0::2], flat[1::2], strict=True))


def _advanced(out: list[str]) -> Advanced:
    if out[0] in ("unknown", "unknown_step"):
        return Advanced(out[0], False, [])
    return Advanced(out[0], out[1] == "1", out[2:])
