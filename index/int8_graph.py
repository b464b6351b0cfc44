"""An ONNX graph's weight matrix products in int8, with one activation scale per token.

Each ``MatMul`` of an activation by a constant weight matrix becomes, in ONNX Runtime's CPU
operators:

- the weights quantised once, symmetrically, per output column (``int8``, scale ``max|w| / 127``);
- the activation quantised as it runs, symmetrically, per token (per row of the flattened input:
  scale ``max|x| / 127``, stored as ``uint8`` around 128, the layout the CPU's int8 dot products
  take), so a text's vector depends on its own tokens only, never on the texts batched with it
  or on their padding;
- ``MatMulIntegerToFloat`` (integer products, each column scaled back by its weight scale), then
  each row scaled back by its token's scale.

ONNX Runtime's own dynamic quantisation takes one scale for a whole batch's activations: a passage's
vector then moves with its batch mates. One scale per token costs a few more passes over the
activations and is closer to fp32 (the reason: a token with large values no longer coarsens the
others' steps). The fused attention operators keep their float weights.

On an x86 CPU without VNNI, ONNX Runtime multiplies uint8 by int8 in pairs whose sums it keeps in
16 bits, where they can saturate. There the weights are stored unsigned instead (each plus 128, with
128 as their zero point): the same integers and the same products, through its 16-bit widening path
that cannot saturate, so the vectors are those of every other machine.
"""

from __future__ import annotations

import platform

import numpy as np

from index.encoder import cpu_flags

__all__ = ["quantize_per_token", "quantize_weights", "signed_weights_safe"]

_PREFIX = "int8tok"
#: x86 flags of int8 dot products that add each product in 32 bits
_VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})
_X86 = frozenset({"x86_64", "amd64", "i386", "i686"})


def signed_weights_safe(cpuinfo: str | None = None, machine: str | None = None) -> bool:
    """Whether int8 weights can be signed on this CPU without sums saturating: anything but x86 without VNNI."""
    if (machine or platform.machine()).lower() not in _X86:
        return True
    return bool(cpu_flags(cpuinfo) & _VNNI_FLAGS)


def quantize_weights(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``w`` (K×N) as int8 and one float scale per column: ``w ≈ q * scale``."""
    scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / 127.0
    q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
    return q, scale.astype(np.float32)


def _product_nodes(helper, x: str, y: str, p: str) -> list:
    """Nodes computing ``y = x @ w`` (see the module) from the initializers named ``p`` and: ``w`` and ``wzero``
    (the stored weights and their zero point), ``scale`` (per column), ``rows`` (the shape (-1, K)), ``n`` (N)."""
    c = _PREFIX
    return [
        helper.make_node("Shape", [x], [p + "shape"]),
        helper.make_node("Reshape", [x, p + "rows"], [p + "x"]),  # (tokens, k)
        helper.make_node("Abs", [p + "x"], [p + "abs"]),
        helper.make_node("ReduceMax", [p + "abs"], [p + "max"], axes=[1], keepdims=1),
        helper.make_node("Max", [p + "max", c + "tiny"], [p + "max1"]),  # an all-zero token
        helper.make_node("Mul", [p + "max1", c + "step"], [p + "s"]),  # (tokens, 1)
        helper.make_node("Div", [p + "x", p + "s"], [p + "xs"]),
        helper.make_node("QuantizeLinear", [p + "xs", c + "one", c + "zero"], [p + "q"]),
        helper.make_node("MatMulIntegerToFloat", [p + "q", p + "w", c + "one", p + "scale", c + "zero", p + "wzero"],
                         [p + "y"], domain="com.microsoft"),
        helper.make_node("Mul", [p + "y", p + "s"], [p + "ys"]),
        helper.make_node("Slice", [p + "shape", c + "first", c + "last"], [p + "lead"]),
        helper.make_node("Concat", [p + "lead", p + "n"], [p + "out"], axis=0),
        helper.make_node("Reshape", [p + "ys", p + "out"], [y]),
    ]


def quantize_per_token(model, signed: bool = True):
    """``model`` (an ``onnx.ModelProto``, changed in place and returned) with each activation-by-weight
    ``MatMul`` in int8 as the module describes; ``signed=False`` stores the weights unsigned, for a CPU
    where ``signed_weights_safe`` is false."""
    from onnx import helper, numpy_helper

    graph = model.graph
    weights = {i.name: i for i in graph.initializer if len(i.dims) == 2}
    added = [numpy_helper.from_array(np.asarray(v), _PREFIX + name) for name, v in (
        ("tiny", np.float32(1e-12)), ("step", np.float32(1 / 127)), ("one", np.float32(1.0)),
        ("zero", np.uint8(128)), ("first", np.array([0], np.int64)), ("last", np.array([-1], np.int64)))]
    nodes, count = [], 0
    for node in graph.node:
        if node.op_type != "MatMul" or node.input[1] not in weights:
            nodes.append(node)
            continue
        w = numpy_helper.to_array(weights[node.input[1]]).astype(np.float32)
        q, scale = quantize_weights(w)
        p = f"{_PREFIX}{count}_"
        stored, zero = (q, np.int8(0)) if signed else ((q.astype(np.int16) + 128).astype(np.uint8), np.uint8(128))
        added += [numpy_helper.from_array(stored, p + "w"), numpy_helper.from_array(np.asarray(zero), p + "wzero"),
                  numpy_helper.from_array(scale, p + "scale"),
                  numpy_helper.from_array(np.array([-1, w.shape[0]], np.int64), p + "rows"),
                  numpy_helper.from_array(np.array([w.shape[1]], np.int64), p + "n")]
        nodes += _product_nodes(helper, node.input[0], node.output[0], p)
        count += 1
    used = {name for node in nodes for name in node.input}
    kept = [i for i in list(graph.initializer) + added if i.name in used]
    del graph.node[:], graph.initializer[:]
    graph.node.extend(nodes)
    graph.initializer.extend(kept)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return model
