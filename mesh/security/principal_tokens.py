"""Signed, short-lived principal tokens: who a task is for, vouched for by whoever holds the key.

A token is ``sb1.<claims>.<signature>``: the claims (tenant, user, roles, groups, clearance,
issued and expiry times) as base64url JSON, and an HMAC-SHA256 of ``sb1.<claims>`` under the
shared secret (``SWITCHBOARD_TOKEN_SECRET``). When a secret is configured the planner accepts a
task only with a valid token, and the task's principal is the one the token names: a client
cannot raise its own clearance or join groups by editing the message. Several secrets may be
accepted at once (comma-separated) so a key can be rotated without downtime; the first signs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re

from mesh.errors import SemanticError
from schemas.models import Classification, Principal

__all__ = ["issue", "mac", "parse_ttl", "verify"]

_PREFIX = "sb1"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mac(secret: str, body: str) -> str:
    """HMAC-SHA256 of ``body`` under ``secret``, base64url without padding (tokens' and grants' signature)."""
    return _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())


def issue(secret: str, principal: Principal, *, now_s: float, ttl_s: float) -> str:
    """A token for ``principal`` valid from ``now_s`` for ``ttl_s`` seconds."""
    claims = {"ten": principal.tenant_id, "sub": principal.user_id, "roles": list(principal.roles),
              "groups": list(principal.groups), "clr": principal.clearance.value, "iat": int(now_s),
              "exp": int(now_s + ttl_s)}
    body = f"{_PREFIX}.{_b64(json.dumps(claims, separators=(',', ':')).encode())}"
    return f"{body}.{mac(secret, body)}"


def verify(secrets: list[str], token: str | None, *, now_s: float, leeway_s: float = 30.0) -> Principal:
    """The principal a valid token names; a ``SemanticError`` saying what is wrong otherwise."""
    if not token:
        raise SemanticError("the task carries no principal token: get one with `switchboard token issue` "
                            "(or from your identity gateway)", code="token_missing")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != _PREFIX or not all(re.fullmatch(r"[A-Za-z0-9_-]+", p) for p in parts[1:]):
        raise SemanticError("the principal token is malformed (expected sb1.<claims>.<signature>)",
                            code="token_invalid")
    body = f"{parts[0]}.{parts[1]}"
    if not any(hmac.compare_digest(mac(s, body), parts[2]) for s in secrets):
        raise SemanticError("the principal token's signature does not match any accepted key: it was forged, "
                            "altered, or signed with a retired key", code="token_forged")
    try:
        claims = json.loads(_unb64(parts[1]))
        principal = Principal(tenant_id=claims["ten"], user_id=claims["sub"], roles=claims.get("roles", []),
                              groups=claims.get("groups", []), clearance=Classification(claims["clr"]))
        expires, issued = float(claims["exp"]), float(claims["iat"])
    except (ValueError, KeyError, TypeError) as err:
        raise SemanticError(f"the principal token's claims are unreadable: {err}", code="token_invalid") from err
    if now_s > expires + leeway_s:
        raise SemanticError(f"the principal token expired {int(now_s - expires)} s ago: issue a new one",
                            code="token_expired")
    if issued > now_s + leeway_s:
        raise SemanticError("the principal token was issued in the future: check the clocks", code="token_invalid")
    return principal


def parse_ttl(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``2h`` or ``1d`` as seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not m:
        raise ValueError(f"{text!r} is not a duration like 90s, 15m, 2h or 1d")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
