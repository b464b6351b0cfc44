"""A passage nobody has scanned for sensitive values is scanned when a step first packs it: on the real
mesh without the scanner agent (which scans ahead, at ingest), such a passage still reaches the model
only masked.

The model endpoint is the test's HTTP server; it records every prompt it receives in full.
"""

from __future__ import annotations

import re
import time
import uuid

import pytest
import redis

from mesh.client import Client
from mesh.endpoints import Endpoint
from mesh.io.keys import Keys
from mesh.runtime.registry import agent_names
from policy.pii import Detector
from policy.scans import Scans
from schemas.models import AccessAttributes, Principal, TaskStatus
from tests.integration.conftest import make_settings

pytestmark = pytest.mark.integration

SECRETS = {"PERSON": "Ines Oyelaran-Whitfield", "EMAIL_ADDRESS": "ines.whitfield@harbourline-claims.co.uk",
           "CREDIT_CARD": "4539 1488 0343 6467"}
TITLE = "Refund desk"
TEXT = (f"Refunds above the monthly limit go to {SECRETS['PERSON']} at {SECRETS['EMAIL_ADDRESS']}. "
        f"The last refund above the limit was paid to card {SECRETS['CREDIT_CARD']}.")


@pytest.fixture(scope="module")
def smesh(tmp_path_factory, llm):
    from mesh.ops.stack import Mesh

    endpoints = (Endpoint(name="model", base_url=llm.base_url, model="m-answer", capabilities=("answer",),
                          timeout_s=5),
                 Endpoint(name="planner", base_url=llm.base_url, model="m-plan", capabilities=("plan",), timeout_s=5))
    m = Mesh(make_settings(tmp_path_factory.mktemp("smesh"), endpoints=endpoints, ask_timeout_s=60),
             agents=[a for a in agent_names() if a != "scanner"])  # nobody scans ahead
    m.start()
    yield m
    m.stop()


def test_a_passage_never_scanned_is_scanned_when_first_packed_and_reaches_the_prompt_only_masked(smesh, llm):
    s = smesh.settings
    tenant = f"s{uuid.uuid4().hex[:8]}"
    client = Client(s)
    rows = [{"doc_id": "refunds", "title": TITLE, "text": TEXT, "access": AccessAttributes(tenant_id=tenant)}]
    client.ingest(rows)
    client.wait_stored(rows)
    r, scans = redis.Redis.from_url(s.redis_url), Scans(None, Keys(s.key_prefix), Detector())
    kept = [scans.key_of(tenant, text) for text in (TITLE, TEXT)]  # where a scan of the title and passage is kept
    time.sleep(1.0)  # time enough for any scan at ingest
    assert not any(r.exists(k) for k in kept), "scanned at ingest: this test needs a passage nobody has scanned"

    done = client.ask("Who handles refunds above the monthly limit?", Principal(tenant_id=tenant, user_id="dana"))
    assert done.status is TaskStatus.answered, done
    with_passage = [c.prompt for c in llm.calls if "Refunds above the monthly limit" in c.prompt]
    assert with_passage, "the passage never reached a prompt"
    for prompt in with_passage:
        leaked = [kind for kind, value in SECRETS.items() if value in prompt]
        assert not leaked, f"sent to the model unmasked: {leaked}"
        assert "<EMAIL_ADDRESS_1>" in prompt and "<CREDIT_CARD_1>" in prompt, prompt
        assert len(set(re.findall(r"<[A-Z_]+_\d+>", prompt))) >= len(SECRETS), prompt  # the name too, whatever its kind
    assert all(r.exists(k) for k in kept), "the packed passage and its title were not scanned"
    assert all(value.encode() not in r.get(k) for k in kept for value in SECRETS.values())  # offsets, no value
