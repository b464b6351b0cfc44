"""Unit tests read no settings from the shell that runs them."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """No SWITCHBOARD_* variable from the environment leaks into a unit test."""
    for name in list(os.environ):
        if name.startswith("SWITCHBOARD_"):
            monkeypatch.delenv(name)
