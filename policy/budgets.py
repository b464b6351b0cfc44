"""Token and cost budgets per tenant and period, and per-minute rate limits, in Redis.

Before a model call the executor *reserves* what the call may use (prompt tokens plus the output
it may write, and their cost); after the call it *settles* with the usage the endpoint reported,
which releases the rest; a failed call *releases* its reservation. Each is one Lua script, so
replicas reserving at once can never together pass a hard limit: a reservation counts against
the budget from the moment it is granted. A reservation that is never settled (its replica
died) expires after ``hold_s`` and stops counting.

Limits (0: none) are per tenant in Redis (``switchboard budget set``), falling back to the
settings' defaults: soft and hard tokens and USD per period (``day`` or ``month``), requests and
tokens per minute. Past the soft limit the executor degrades (the cheapest route, a smaller
context) and says so; at the hard limit a call is refused with what is left and when it resets.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

import redis.asyncio as aioredis

from mesh.io.keys import Keys
from mesh.io.pipelined import Batch, Queue, after, run
from mesh.io.redis_clients import redis_errors
from mesh.observe import metrics
from mesh.settings import Settings

__all__ = ["Limits", "Budgets", "Grant", "Refusal", "period_window", "LIMIT_FIELDS"]

LIMIT_FIELDS = ("soft_tokens", "hard_tokens", "soft_usd", "hard_usd", "rpm", "tpm")


def _number(field: str, value) -> int | float:
    """A stored limit as what it counts: dollars as a float, tokens and requests as an integer."""
    return float(value) if field.endswith("_usd") else int(float(value))

# KEYS: limits, spent (this period), reservations (zset), rate (this minute): one tenant's (under Redis Cluster
# they must share a slot, a hash tag on the tenant)
# ARGV: now, hold_until, hold (the member: "id:tokens:usd"), tokens, usd, the default limits in LIMIT_FIELDS
# order, the period's ttl
_RESERVE = """
local limits, spent, holds, rate = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, tokens, usd = tonumber(ARGV[1]), tonumber(ARGV[4]), tonumber(ARGV[5])
local names = {'soft_tokens', 'hard_tokens', 'soft_usd', 'hard_usd', 'rpm', 'tpm'}
local lim = {}
for i, name in ipairs(names) do
  lim[name] = tonumber(redis.call('HGET', limits, name) or ARGV[5 + i]) or 0
end
redis.call('ZREMRANGEBYSCORE', holds, '-inf', now)
local held_tokens, held_usd = 0, 0
for _, member in ipairs(redis.call('ZRANGE', holds, 0, -1)) do
  local _, t, u = string.match(member, '([^:]+):([^:]+):([^:]+)')
  held_tokens = held_tokens + tonumber(t)
  held_usd = held_usd + tonumber(u)
end
local used_tokens = tonumber(redis.call('HGET', spent, 'tokens') or '0') + held_tokens
local used_usd = tonumber(redis.call('HGET', spent, 'usd') or '0') + held_usd
if lim.hard_tokens > 0 and used_tokens + tokens > lim.hard_tokens then
  return {'hard_tokens', tostring(lim.hard_tokens), tostring(used_tokens)}
end
if lim.hard_usd > 0 and used_usd + usd > lim.hard_usd then
  return {'hard_usd', tostring(lim.hard_usd), tostring(used_usd)}
end
local minute_requests = tonumber(redis.call('HGET', rate, 'requests') or '0')
local minute_tokens = tonumber(redis.call('HGET', rate, 'tokens') or '0')
if lim.rpm > 0 and minute_requests + 1 > lim.rpm then
  return {'rpm', tostring(lim.rpm), tostring(minute_requests)}
end
if lim.tpm > 0 and minute_tokens + tokens > lim.tpm then
  return {'tpm', tostring(lim.tpm), tostring(minute_tokens)}
end
redis.call('ZADD', holds, tonumber(ARGV[2]), ARGV[3])
redis.call('HINCRBY', rate, 'requests', 1)
redis.call('HINCRBY', rate, 'tokens', tokens)
redis.call('EXPIRE', rate, 120)
redis.call('EXPIRE', holds, tonumber(ARGV[12]))
local soft = (lim.soft_tokens > 0 and used_tokens + tokens > lim.soft_tokens)
  or (lim.soft_usd > 0 and used_usd + usd > lim.soft_usd)
return {'ok', soft and '1' or '0', tostring(used_tokens + tokens)}
"""

# KEYS: spent, reservations, rate; ARGV: hold, tokens held, (unused), actual tokens, actual usd, period ttl, charge?
_SETTLE = """
local spent, holds, rate = KEYS[1], KEYS[2], KEYS[3]
if redis.call('ZREM', holds, ARGV[1]) == 0 then return 0 end
if ARGV[7] == '1' then
  redis.call('HINCRBY', spent, 'tokens', tonumber(ARGV[4]))
  redis.call('HINCRBYFLOAT', spent, 'usd', ARGV[5])
  redis.call('HINCRBY', spent, 'calls', 1)
  redis.call('EXPIRE', spent, tonumber(ARGV[6]))
end
if redis.call('EXISTS', rate) == 1 then
  redis.call('HINCRBY', rate, 'tokens', tonumber(ARGV[4]) - tonumber(ARGV[2]))
end
return 1
"""


def period_window(period: str, now: datetime) -> tuple[str, datetime]:
    """The period's name (part of its Redis key) and when it ends, in UTC."""
    now = now.astimezone(timezone.utc)
    if period == "month":
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = (start + timedelta(days=32)).replace(day=1)
        return f"month:{start:%Y-%m}", end
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return f"day:{start:%Y-%m-%d}", start + timedelta(days=1)


@dataclass(frozen=True)
class Limits:
    """Limits of a tenant; 0 means none."""

    soft_tokens: int = 0
    hard_tokens: int = 0
    soft_usd: float = 0.0
    hard_usd: float = 0.0
    rpm: int = 0
    tpm: int = 0
    period: str = "day"

    def values(self) -> list:
        return [getattr(self, f) for f in LIMIT_FIELDS]


@dataclass(frozen=True)
class Grant:
    """A reservation held against the budget until settled or released."""

    id: str
    tenant: str
    tokens: int
    usd: float
    soft_limit_passed: bool
    used_tokens: int
    #: where the hold was placed (the period's spent and held keys, the minute's rate key) and the period's
    #: TTL: settling there charges the period and minute the call was granted in, even across a boundary
    keys: tuple[str, str, str]
    ttl_s: int

    @property
    def hold(self) -> str:
        return f"{self.id}:{self.tokens}:{self.usd!r}"


@dataclass(frozen=True)
class Refusal:
    """Why a call may not be made now, in words for the client."""

    limit: str  # hard_tokens, hard_usd, rpm, tpm
    message: str
    retriable: bool  # a rate limit passes within a minute; a hard budget only at the next period


@dataclass
class Budgets:
    redis: aioredis.Redis
    keys: Keys
    defaults: Limits
    hold_s: float = 120.0

    @classmethod
    def from_settings(cls, settings: Settings, redis: aioredis.Redis) -> Budgets:
        """Stored limits over the settings' defaults, as the executor and the CLI see them."""
        s = settings
        return cls(redis, Keys(s.key_prefix), Limits(s.budget_soft_tokens, s.budget_hard_tokens, s.budget_soft_usd,
                                                     s.budget_hard_usd, s.budget_rpm, s.budget_tpm, s.budget_period))

    def __post_init__(self) -> None:
        self._reserve = self.redis.register_script(_RESERVE)
        self._settle = self.redis.register_script(_SETTLE)

    def _names(self, tenant: str, now: datetime, period: str) -> tuple[str, str, str, str, datetime]:
        window, ends = period_window(period, now)
        k = self.keys
        return k.budget(tenant), k.budget_spent(tenant, window), k.budget_held(tenant, window), \
            k.budget_rate(tenant, now), ends

    def period_reading(self, tenant: str) -> Queue:
        """``period_of`` as commands for a batch (``mesh.io.pipelined``)."""
        def queue(b: Batch):
            b.pipe.hget(self.keys.budget(tenant), "period")
            return lambda replies: replies[0].decode() if replies[0] else self.defaults.period
        return queue

    async def period_of(self, tenant: str) -> str:
        return await run(self.redis, self.period_reading(tenant), "reading a budget")

    async def reserve(self, tenant: str, tokens: int, usd: float, now: datetime | None = None) -> Grant | Refusal:
        """Hold ``tokens`` and ``usd`` for one call, or say which limit refuses it."""
        return await run(self.redis, self.reserving(tenant, tokens, usd, await self.period_of(tenant), now),
                         "reserving budget")

    def reserving(self, tenant: str, tokens: int, usd: float, period: str, now: datetime | None = None) -> Queue:
        """``reserve`` in the tenant's ``period`` (as ``period_of`` read it), as commands for a batch."""
        now = now or datetime.now(timezone.utc)
        limits, spent, held, rate, ends = self._names(tenant, now, period)
        ttl = int((ends - now).total_seconds()) + 86400
        grant = Grant(uuid.uuid4().hex[:16], tenant, int(tokens), round(float(usd), 9), False, 0, (spent, held, rate), ttl)

        def queue(b: Batch):
            b.critical()
            b.script(self._reserve, [limits, spent, held, rate],
                     [now.timestamp(), now.timestamp() + self.hold_s, grant.hold, grant.tokens, grant.usd,
                      *self.defaults.values(), ttl])
            return lambda replies: self._granted(grant, [o.decode() for o in replies[0]], period, now, ends)
        return queue

    def _granted(self, grant: Grant, out: list[str], period: str, now: datetime, ends: datetime) -> Grant | Refusal:
        tenant = grant.tenant
        if out[0] == "ok":
            metrics.BUDGET_DECISIONS.labels(tenant, "soft_exceeded" if out[1] == "1" else "granted").inc()
            metrics.BUDGET_USED.labels(tenant, "tokens").set(float(out[2]))
            return replace(grant, soft_limit_passed=out[1] == "1", used_tokens=int(float(out[2])))
        metrics.BUDGET_DECISIONS.labels(tenant, "refused").inc()
        limit, used = out[1], out[2]
        if out[0] in ("rpm", "tpm"):
            what = "requests" if out[0] == "rpm" else "tokens"
            return Refusal(out[0], f"tenant {tenant} is at its limit of {limit} {what} per minute ({used} used "
                                   f"this minute); retry after {60 - now.second} s", True)
        unit = "tokens" if out[0] == "hard_tokens" else "USD"
        left = max(0.0, float(limit) - float(used))
        return Refusal(out[0], f"tenant {tenant} has used {float(used):g} of its hard limit of {float(limit):g} "
                               f"{unit} this {period}; {left:g} left, this call needs "
                               f"{grant.tokens if unit == 'tokens' else round(grant.usd, 6)}; resets at "
                               f"{ends:%Y-%m-%dT%H:%MZ}", False)

    async def settle(self, grant: Grant, tokens: int, usd: float, *, deferred: bool = False) -> bool | None:
        """Charge what the call used and release the rest; False if already settled or expired.
        ``deferred``: with the message's ledger entry (``mesh.io.pipelined.after``), answering None."""
        write = self._finishing(grant, tokens, usd, charge=True)
        if deferred:
            return await after(self.redis, write, "settling budget")
        return await run(self.redis, write, "settling budget")

    async def release(self, grant: Grant) -> bool:
        """Give the whole reservation back (the call failed); False if already settled or expired."""
        return await run(self.redis, self._finishing(grant, 0, 0.0, charge=False), "settling budget")

    def _finishing(self, grant: Grant, tokens: int, usd: float, *, charge: bool) -> Queue:
        """One script on the keys the grant was held under (no look-up of the period first)."""
        def queue(b: Batch):
            b.critical()
            b.script(self._settle, list(grant.keys), [grant.hold, grant.tokens, "", tokens, round(usd, 9),
                                                      grant.ttl_s, "1" if charge else "0"])
            return lambda replies: bool(replies[0])
        return queue

    async def show(self, tenant: str, now: datetime | None = None) -> dict:
        """Limits (stored or default) and what this period and minute have used."""
        now = now or datetime.now(timezone.utc)
        period = await self.period_of(tenant)
        limits, spent, held, rate, ends = self._names(tenant, now, period)
        async with redis_errors("reading a budget"):
            stored = {k.decode(): v.decode() for k, v in (await self.redis.hgetall(limits)).items()}
            used = {k.decode(): v.decode() for k, v in (await self.redis.hgetall(spent)).items()}
            holds = await self.redis.zrangebyscore(held, now.timestamp(), "+inf")
            minute = {k.decode(): v.decode() for k, v in (await self.redis.hgetall(rate)).items()}
        defaults = dict(zip(LIMIT_FIELDS, self.defaults.values()))
        return {"tenant": tenant, "period": period, "resets_at": ends.isoformat(),
                "limits": {f: _number(f, stored.get(f, defaults[f])) for f in LIMIT_FIELDS},
                "used_tokens": int(used.get("tokens", 0)), "used_usd": float(used.get("usd", 0)),
                "calls": int(used.get("calls", 0)), "reserved": len(holds),
                "this_minute": {"requests": int(minute.get("requests", 0)), "tokens": int(minute.get("tokens", 0))}}

    async def set(self, tenant: str, **limits) -> None:
        """Store limits for ``tenant`` (keys of LIMIT_FIELDS, and ``period``); others keep their values."""
        unknown = set(limits) - set(LIMIT_FIELDS) - {"period"}
        if unknown:
            raise ValueError(f"unknown budget fields: {', '.join(sorted(unknown))}")
        if limits.get("period", "day") not in ("day", "month"):
            raise ValueError("period is day or month")
        negative = [f for f in LIMIT_FIELDS if (limits.get(f) or 0) < 0]
        if negative:
            raise ValueError(f"{', '.join(negative)}: a limit is 0 (none) or above")
        after = {**(await self.show(tenant))["limits"], **{k: v for k, v in limits.items() if k in LIMIT_FIELDS}}
        for soft, hard in (("soft_tokens", "hard_tokens"), ("soft_usd", "hard_usd")):
            if after[soft] and after[hard] and after[soft] > after[hard]:
                raise ValueError(f"{soft} {after[soft]:g} would be above {hard} {after[hard]:g}, so it would never "
                                 f"warn before the hard limit refuses: lower {soft} too (0 removes it)")
        async with redis_errors("setting a budget"):
            await self.redis.hset(self.keys.budget(tenant),
                                  mapping={k: str(v) for k, v in limits.items() if v is not None})
