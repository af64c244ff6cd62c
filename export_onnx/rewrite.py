"""Exact graph rewrites that make an exported fast path quantise better.

The decoder's upsampling layers are ``ConvTranspose2d(kernel 4, stride 2, padding 1)``
(BatchNorm folded in by the exporter). onnxruntime's CPU provider has no int8 kernel
for a QDQ ``ConvTranspose``: after static quantisation it dequantises the layer's
weights on every call and runs it in fp32, which measured 0.9 of the 1.4 ms a static
int8 call took back to back. :func:`conv_transpose_to_subpixel` rewrites each such layer
as the *sub-pixel convolution* it is equal to (Shi et al., 2016, "Real-Time Single Image
and Video Super-Resolution Using an Efficient Sub-Pixel Convolutional Neural Network"):
a 3x3 ``Conv`` (padding 1) to ``4 x C_out`` channels, one group of ``C_out`` per output
pixel phase, then ``DepthToSpace(blocksize=2, mode="CRD")``. Same function (the fp32
graphs agree to float rounding), and a ``Conv`` that the quantiser turns into a real
``QLinearConv``.

Only the int8_static variant is rewritten: in fp32 the 3x3 form computes 2.25x the
multiply-adds (5 of its 9 taps per phase are zero) and was slower than ``ConvTranspose``
on the CPU (3.6 vs 2.9 ms per call), and GPU providers have fast transposed convolutions.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

logger = logging.getLogger(__name__)

#: One-input elementwise activations: they commute with DepthToSpace, so they move before
#: it, where the quantiser can fuse them into the convolution.
_ELEMENTWISE_ACTIVATIONS = frozenset({"Relu", "Tanh", "Sigmoid", "LeakyRelu"})
#: Recorded in the variant's metadata (``FastPathMetadata.rewrites``); a graph quantised
#: without it is stale.
SUBPIXEL_REWRITE = "conv_transpose_k4s2p1_to_subpixel"
#: The rewrites each precision's variant is built with.
REWRITES_FOR_PRECISION: dict[str, tuple[str, ...]] = {"int8_static": (SUBPIXEL_REWRITE,)}


def subpixel_kernel(weight: np.ndarray, padding: int = 1) -> np.ndarray:
    """The 3x3 convolution kernel equal to a stride-2, 4x4 transposed convolution.

    Output pixel ``(2m + a, 2n + b)`` of the transposed convolution reads inputs
    ``m + d`` (rows) for ``d`` in {-1, 0, 1} through kernel tap ``a + padding - 2d``
    when that tap exists; the 3x3 kernel holds these taps at ``d + 1``.

    Parameters
    ----------
    weight : np.ndarray
        (C_in, C_out, 4, 4) ``ConvTranspose`` weights (ONNX / torch layout).
    padding : int
        The transposed convolution's padding (1 for the decoder's layers).

    Returns
    -------
    np.ndarray
        (4 * C_out, C_in, 3, 3) ``Conv`` weights, output channel ``c * 4 + a * 2 + b``
        (the order ``DepthToSpace`` mode CRD expects).
    """
    c_in, c_out, k_h, k_w = weight.shape
    if (k_h, k_w) != (4, 4):
        raise ValueError(f"expected a 4x4 transposed-convolution kernel, got {k_h}x{k_w}")
    kernel = np.zeros((c_out, 2, 2, c_in, 3, 3), dtype=weight.dtype)
    for a in (0, 1):
        for d_row in (-1, 0, 1):
            k_row = a + padding - 2 * d_row
            if not 0 <= k_row < 4:
                continue
            for b in (0, 1):
                for d_col in (-1, 0, 1):
                    k_col = b + padding - 2 * d_col
                    if 0 <= k_col < 4:
                        kernel[:, a, b, :, d_row + 1, d_col + 1] = weight[:, :, k_row, k_col].T
    return kernel.reshape(4 * c_out, c_in, 3, 3)


def _attributes(node: onnx.NodeProto) -> dict[str, Any]:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _copy(node: onnx.NodeProto) -> onnx.NodeProto:
    copied = onnx.NodeProto()
    copied.CopyFrom(node)
    return copied


def _rewritable(node: onnx.NodeProto, initializers: dict[str, onnx.TensorProto]) -> bool:
    """A 2-D, 4x4, stride-2, padding-1, ungrouped ConvTranspose with constant weights."""
    if node.op_type != "ConvTranspose" or node.domain not in ("", "ai.onnx"):
        return False
    attrs = _attributes(node)
    weight = initializers.get(node.input[1])
    if weight is None or tuple(weight.dims[2:]) != (4, 4) or len(weight.dims) != 4:
        return False
    if len(node.input) > 2 and node.input[2] and node.input[2] not in initializers:
        return False
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    return (
        list(attrs.get("strides", [1, 1])) == [2, 2]
        and list(attrs.get("pads", [0, 0, 0, 0])) == [1, 1, 1, 1]
        and list(attrs.get("dilations", [1, 1])) == [1, 1]
        and int(attrs.get("group", 1)) == 1
        and list(attrs.get("output_padding", [0, 0])) == [0, 0]
        and "output_shape" not in attrs
        and auto_pad in (b"NOTSET", "NOTSET")
    )


def conv_transpose_to_subpixel(model: onnx.ModelProto) -> int:
    """Rewrite every 4x4 / stride 2 / padding 1 ``ConvTranspose`` as Conv + DepthToSpace.

    In place. An elementwise activation that is the layer's only consumer moves between
    the ``Conv`` and the ``DepthToSpace`` (it commutes with the pixel shuffle), so that
    quantisation fuses it. Other ``ConvTranspose`` layers are left as they are.

    Parameters
    ----------
    model : onnx.ModelProto
        An fp32 graph (weights as initializers).

    Returns
    -------
    int
        How many layers were rewritten.
    """
    graph = model.graph
    initializers = {t.name: t for t in graph.initializer}
    outputs = {o.name for o in graph.output}
    nodes = [_copy(node) for node in graph.node]  # detached from the graph we rebuild
    consumers: dict[str, list[int]] = {}
    for index, node in enumerate(nodes):
        for name in node.input:
            consumers.setdefault(name, []).append(index)
    new_nodes: list[onnx.NodeProto] = []
    moved: set[int] = set()  # activation nodes already emitted with their layer
    stale_values: set[str] = set()
    rewritten = 0
    for index, node in enumerate(nodes):
        if index in moved:
            continue
        if not _rewritable(node, initializers):
            new_nodes.append(node)
            continue
        weight = numpy_helper.to_array(initializers[node.input[1]])
        c_out = weight.shape[1]
        bias = (numpy_helper.to_array(initializers[node.input[2]])
                if len(node.input) > 2 and node.input[2] else np.zeros(c_out, dtype=weight.dtype))
        base = node.name or node.output[0]
        kernel_name, bias_name = f"{base}_subpixel_weight", f"{base}_subpixel_bias"
        graph.initializer.extend([
            numpy_helper.from_array(subpixel_kernel(weight).astype(weight.dtype), kernel_name),
            numpy_helper.from_array(np.repeat(bias, 4).astype(weight.dtype), bias_name),
        ])
        conv_out = f"{base}_subpixel_conv"
        new_nodes.append(helper.make_node(
            "Conv", [node.input[0], kernel_name, bias_name], [conv_out], name=f"{base}_subpixel_conv",
            kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]))
        shuffle_in, final_out = conv_out, node.output[0]
        users = consumers.get(node.output[0], [])
        if (len(users) == 1 and users[0] > index and nodes[users[0]].op_type in _ELEMENTWISE_ACTIVATIONS
                and node.output[0] not in outputs and len(nodes[users[0]].input) == 1):
            activation = nodes[users[0]]
            activated = f"{base}_subpixel_activated"
            moved_activation = _copy(activation)
            del moved_activation.input[:]
            moved_activation.input.append(conv_out)
            del moved_activation.output[:]
            moved_activation.output.append(activated)
            new_nodes.append(moved_activation)
            moved.add(users[0])
            shuffle_in, final_out = activated, activation.output[0]
            stale_values.update({node.output[0], activation.output[0]})
        else:
            stale_values.add(node.output[0])
        new_nodes.append(helper.make_node(
            "DepthToSpace", [shuffle_in], [final_out], name=f"{base}_subpixel_shuffle",
            blocksize=2, mode="CRD"))
        rewritten += 1
    if not rewritten:
        return 0
    del graph.node[:]
    graph.node.extend(new_nodes)
    # Shapes recorded for the replaced tensors no longer hold; shape inference redoes them.
    kept = [v for v in graph.value_info if v.name not in stale_values]
    del graph.value_info[:]
    graph.value_info.extend(kept)
    used = {name for node in graph.node for name in node.input}
    unused = [t for t in graph.initializer if t.name not in used]
    for tensor in unused:
        graph.initializer.remove(tensor)
    logger.debug("rewrote %d ConvTranspose layer(s) as sub-pixel convolutions", rewritten)
    return rewritten
