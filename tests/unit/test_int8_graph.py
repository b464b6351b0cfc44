"""index.int8_graph: a weight matrix product rewritten into int8 with one activation scale per token, run
on ONNX Runtime against the float product it replaces."""

from __future__ import annotations

import numpy as np
import pytest

from index.int8_graph import quantize_per_token, quantize_weights, signed_weights_safe

pytestmark = pytest.mark.unit

K, N = 48, 20


def product_graph(w: np.ndarray, bias: np.ndarray):
    """``y = x @ w + bias`` for x of shape (batch, tokens, K): one weight product and one activation product."""
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "tokens", K])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "tokens", N])
    nodes = [helper.make_node("MatMul", ["x", "w"], ["xw"]), helper.make_node("Add", ["xw", "bias"], ["y"])]
    graph = helper.make_graph(nodes, "product", [x], [y],
                              [numpy_helper.from_array(w, "w"), numpy_helper.from_array(bias, "bias")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def session(model):
    import onnxruntime as ort

    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def weights():
    rng = np.random.default_rng(7)
    return rng.normal(size=(K, N)).astype(np.float32), rng.normal(size=N).astype(np.float32)


@pytest.fixture(scope="module")
def float_and_int8(weights):
    return session(product_graph(*weights)), session(quantize_per_token(product_graph(*weights)))


def test_weights_round_trip_within_half_a_step_per_column():
    w = np.random.default_rng(1).normal(size=(K, N)).astype(np.float32) * np.arange(1, N + 1, dtype=np.float32)
    q, scale = quantize_weights(w)
    assert q.dtype == np.int8 and scale.shape == (N,)
    assert (np.abs(q.astype(np.float32) * scale - w) <= scale / 2 + 1e-6).all()


def test_the_rewrite_replaces_the_weight_product_only(weights):
    ops = [n.op_type for n in quantize_per_token(product_graph(*weights)).graph.node]
    assert "MatMul" not in ops and ops.count("MatMulIntegerToFloat") == 1 and ops[-1] == "Add"


def test_int8_agrees_with_float_to_its_steps(float_and_int8):
    exact, int8 = float_and_int8
    x = np.random.default_rng(2).normal(size=(3, 5, K)).astype(np.float32)
    want, got = exact.run(None, {"x": x})[0], int8.run(None, {"x": x})[0]
    assert got.shape == want.shape == (3, 5, N)
    assert np.abs(got - want).max() < 0.05 * np.abs(want).max(), np.abs(got - want).max()
    assert not np.allclose(got, want, atol=1e-6)  # it is int8: the products move by its steps


def test_a_token_is_scaled_by_its_own_values_only(float_and_int8):
    """One scale per batch would coarsen every token's steps when one token grows a hundredfold."""
    _, int8 = float_and_int8
    x = np.random.default_rng(3).normal(size=(2, 4, K)).astype(np.float32)
    loud = x.copy()
    loud[1, 3] *= 100
    loud[0, 0] = 0  # an all-zero token is quantised too
    a, b = int8.run(None, {"x": x})[0], int8.run(None, {"x": loud})[0]
    untouched = np.ones((2, 4), bool)
    untouched[1, 3] = untouched[0, 0] = False
    assert np.array_equal(a[untouched], b[untouched])
    assert np.isfinite(b).all()


def test_unsigned_weights_give_the_same_products(weights):
    """The form for CPUs whose signed sums saturate stores each weight plus 128: the same integers, the same vector."""
    signed = session(quantize_per_token(product_graph(*weights)))
    unsigned_model = quantize_per_token(product_graph(*weights), signed=False)
    stored = {i.name: i.data_type for i in unsigned_model.graph.initializer}
    from onnx import TensorProto

    assert stored["int8tok0_w"] == TensorProto.UINT8
    x = np.random.default_rng(4).normal(size=(2, 6, K)).astype(np.float32)
    assert np.allclose(session(unsigned_model).run(None, {"x": x})[0], signed.run(None, {"x": x})[0], rtol=0, atol=1e-5)


@pytest.mark.parametrize(("machine", "flags", "safe"), [
    ("x86_64", "fpu avx2 avx512f avx512_vnni", True),
    ("x86_64", "fpu avx2 avx_vnni", True),
    ("x86_64", "fpu sse4_2 avx2 fma", False),
    ("x86_64", "fpu avx2 avx512f avx512bw", False),
    ("aarch64", "fp asimd asimddp", True),
])
def test_signed_weights_are_kept_where_int8_sums_cannot_saturate(machine, flags, safe):
    assert signed_weights_safe(f"processor\t: 0\nflags\t\t: {flags}\n", machine) is safe
