"""mesh.security.principal_tokens: signed principal tokens, and every way one can be wrong."""

from __future__ import annotations

import pytest

from mesh.errors import SemanticError
from mesh.security.principal_tokens import issue, parse_ttl, verify
from schemas.models import Classification, Principal

pytestmark = pytest.mark.unit

WHO = Principal(tenant_id="acme", user_id="dana", roles=["analyst"], groups=["eng"],
                clearance=Classification.confidential)
NOW = 1_800_000_000.0


def test_a_token_names_its_principal():
    token = issue("k1", WHO, now_s=NOW, ttl_s=900)
    assert token.startswith("sb1.") and token.count(".") == 2
    assert verify(["k1"], token, now_s=NOW + 899) == WHO


def test_rotation_accepts_any_listed_key():
    assert verify(["new", "old"], issue("old", WHO, now_s=NOW, ttl_s=60), now_s=NOW) == WHO


def _code(secrets, token, now=NOW) -> str:
    with pytest.raises(SemanticError) as err:
        verify(secrets, token, now_s=now)
    return err.value.code


def test_expired_forged_altered_malformed_and_missing_tokens_are_refused_each_with_its_code():
    token = issue("k1", WHO, now_s=NOW, ttl_s=60)
    assert _code(["k1"], token, NOW + 60 + 31) == "token_expired"
    assert _code(["other"], token) == "token_forged"
    head, claims, sig = token.split(".")
    import base64
    import json

    raw = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    raw["clr"] = "restricted"  # raise one's own clearance
    forged_claims = base64.urlsafe_b64encode(json.dumps(raw).encode()).rstrip(b"=").decode()
    assert _code(["k1"], f"{head}.{forged_claims}.{sig}") == "token_forged"
    assert _code(["k1"], "not-a-token") == "token_invalid"
    assert _code(["k1"], "sb1.!!.??") == "token_invalid"
    assert _code(["k1"], None) == "token_missing"
    assert _code(["k1"], issue("k1", WHO, now_s=NOW + 3600, ttl_s=60)) == "token_invalid"  # from the future


@pytest.mark.parametrize("text, seconds", [("90", 90), ("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400),
                                           ("1.5h", 5400)])
def test_parse_ttl(text, seconds):
    assert parse_ttl(text) == seconds


def test_parse_ttl_refuses_nonsense():
    with pytest.raises(ValueError, match="like 90s"):
        parse_ttl("soon")
