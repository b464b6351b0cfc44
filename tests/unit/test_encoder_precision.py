"""index.encoder.resolve_precision and model_id: which weights an encoder runs, and how its vectors are keyed."""

from __future__ import annotations

import pytest

from index.encoder import MODEL_ID, PRECISIONS, model_id, resolve_precision

pytestmark = pytest.mark.unit

SAPPHIRE = "processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512bw amx_bf16 amx_tile amx_int8\n"
ZEN4 = "processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 avx512_vnni\n"
SKYLAKE = "processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512bw avx512vl avx512_vnni\n"
ARM = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 bf16\n"


@pytest.mark.parametrize("cpuinfo", [SAPPHIRE, ZEN4])
def test_auto_is_bf16_where_the_cpu_has_native_bfloat16(cpuinfo):
    assert resolve_precision("auto", cpuinfo) == "bf16"


@pytest.mark.parametrize("cpuinfo", [SKYLAKE, ARM, ""])
def test_auto_keeps_fp32_where_bf16_would_be_emulated_or_is_unknown(cpuinfo):
    assert resolve_precision("auto", cpuinfo) == "fp32"


@pytest.mark.parametrize("precision", PRECISIONS)
def test_an_explicit_precision_wins_over_the_cpu(precision):
    assert resolve_precision(precision, SKYLAKE) == resolve_precision(precision, SAPPHIRE) == precision


def test_an_unknown_precision_says_what_to_use():
    with pytest.raises(ValueError, match="auto, fp32 or bf16"):
        resolve_precision("int8", SAPPHIRE)


def test_fp32_keeps_the_plain_model_id_and_bf16_names_itself():
    assert model_id("fp32") == MODEL_ID  # caches and snapshots made before bf16 existed stay valid
    assert model_id("bf16") == f"{MODEL_ID}@bf16"


def test_the_setting_is_validated(monkeypatch):
    from pydantic import ValidationError

    from mesh.settings import Settings

    monkeypatch.setenv("SWITCHBOARD_ENCODER_PRECISION", "bf16")
    assert Settings().encoder_precision == "bf16"
    monkeypatch.setenv("SWITCHBOARD_ENCODER_PRECISION", "fp16")
    with pytest.raises(ValidationError):
        Settings()
