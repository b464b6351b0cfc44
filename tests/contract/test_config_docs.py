"""The configuration page of the documentation is what ``mesh.settings_doc`` renders from the code."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from mesh.cli.main import main
from mesh.settings import Settings
from mesh.settings_doc import PAGE_PATH, REGENERATE, cell, env_name, render_page, render_table

pytestmark = pytest.mark.contract

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / PAGE_PATH


def test_the_page_is_what_the_settings_render():
    assert PAGE.is_file(), f"{PAGE_PATH} is missing: generate it with `{REGENERATE}`"
    written, rendered = PAGE.read_text(encoding="utf-8"), render_page()
    if written != rendered:
        diff = "".join(list(difflib.unified_diff(written.splitlines(True), rendered.splitlines(True),
                                                 PAGE_PATH, "rendered from mesh/settings.py"))[:40])
        pytest.fail(f"{PAGE_PATH} differs from what mesh/settings.py renders: regenerate it with "
                    f"`{REGENERATE}` and commit it\n{diff}", pytrace=False)


@pytest.mark.parametrize("name", list(Settings.model_fields))
def test_every_setting_is_on_the_page(name):
    assert f"| `{env_name(name)}` |" in PAGE.read_text(encoding="utf-8"), \
        f"{env_name(name)} is not in {PAGE_PATH}: regenerate it with `{REGENERATE}`"


def test_a_row_says_type_bounds_default_and_description():
    class Tiny(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="TINY_")
        level: int = Field(3, ge=1, le=9, description="how loud, e.g. <n> | more")
        mode: str = Field("a", pattern="^(a|b)$")
        where: str | None = None
        on: bool = True

    table = render_table(Tiny.model_fields, lambda n: env_name(n, "TINY_"))
    assert "| `TINY_LEVEL` | integer, 1 to 9 | `3` | How loud, e.g. &lt;n&gt; \\| more |" in table
    assert "| `TINY_MODE` | string, one of `a`, `b` | `a` |  |" in table
    assert "| `TINY_WHERE` | string, optional | unset |  |" in table
    assert "| `TINY_ON` | boolean | `true` |  |" in table


def test_cells_keep_code_spans_and_stay_on_one_line():
    assert cell("a <b>\n `<c>` d") == "a &lt;b&gt; `<c>` d"


def test_the_cli_prints_the_page_and_writes_it(capsys, tmp_path):
    assert main(["config", "docs"]) == 0
    assert capsys.readouterr().out == render_page()
    target = tmp_path / "configuration.md"
    assert main(["config", "docs", "--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == render_page()
