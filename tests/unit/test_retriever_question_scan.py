"""The retriever starts the question's scan for sensitive values as a step that asks the index starts."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from agents.retriever import Retriever
from schemas.models import RetrievalMode
from tests.unit.test_agents_pure import QUESTION, retrieve_input

pytestmark = pytest.mark.unit


class _Searched(Exception):
    """Raised where the step's first search would begin: what was asked for by then was asked for first."""


class _Corpora:
    async def get(self, tenant, version):
        raise _Searched


class _Scans:
    def __init__(self) -> None:
        self.asked: list[tuple[str, list[str]]] = []

    def find_many(self, tenant: str, texts: list[str]):
        self.asked.append((tenant, texts))
        return asyncio.sleep(0, [[] for _ in texts])


def _retriever(scans: _Scans) -> Retriever:
    return Retriever(_Corpora(), rollout=None, breaker=None, parked=None, sanitizer=SimpleNamespace(scans=scans),
                     context_tokens=1000, index_timeout_ms=1000, fusion=None)


def _until_searched(step) -> _Scans:
    scans = _Scans()

    async def retrieve():
        with pytest.raises(_Searched):
            await _retriever(scans).retrieve(step)
        await asyncio.sleep(0)  # the scan runs in the background

    asyncio.run(retrieve())
    return scans


@pytest.mark.parametrize("mode", [RetrievalMode.hybrid, RetrievalMode.dense])
def test_the_questions_scan_is_asked_for_before_the_corpus_is_searched(mode):
    step = retrieve_input(mode=mode)
    assert _until_searched(step).asked == [(step.principal.tenant_id, [QUESTION])]


def test_a_lexical_step_scans_its_question_with_its_passages_when_it_is_sanitized():
    assert _until_searched(retrieve_input(mode=RetrievalMode.lexical)).asked == []

