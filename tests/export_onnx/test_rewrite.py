"""Exact graph rewrites before quantisation: sub-pixel convolutions for ConvTranspose."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from export_onnx.rewrite import conv_transpose_to_subpixel, subpixel_kernel


@pytest.mark.parametrize(("c_in", "c_out", "height", "width"), [(5, 3, 6, 7), (16, 8, 4, 4), (2, 1, 1, 3)])
def test_subpixel_kernel_equals_the_transposed_convolution(c_in, c_out, height, width):
    generator = torch.Generator().manual_seed(c_in * 100 + c_out)
    weight = torch.randn(c_in, c_out, 4, 4, generator=generator)
    x = torch.randn(2, c_in, height, width, generator=generator)
    expected = torch.nn.functional.conv_transpose2d(x, weight, stride=2, padding=1)
    kernel = torch.from_numpy(subpixel_kernel(weight.numpy()))
    got = torch.nn.functional.pixel_shuffle(torch.nn.functional.conv2d(x, kernel, padding=1), 2)
    assert got.shape == expected.shape == (2, c_out, 2 * height, 2 * width)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_subpixel_kernel_refuses_other_kernel_sizes():
    with pytest.raises(ValueError, match="4x4"):
        subpixel_kernel(np.zeros((2, 2, 3, 3), dtype=np.float32))


def _decoder_graph() -> onnx.ModelProto:
    """ConvTranspose(k4 s2 p1) -> Relu -> ConvTranspose(k4 s2 p1) [graph output] and a
    stride-1 ConvTranspose (not rewritable) on the side."""
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.standard_normal((6, 4, 4, 4)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "b1"),
        numpy_helper.from_array(rng.standard_normal((4, 3, 4, 4)).astype(np.float32), "w2"),
        numpy_helper.from_array(rng.standard_normal((6, 2, 3, 3)).astype(np.float32), "w3"),
    ]
    nodes = [
        helper.make_node("ConvTranspose", ["x", "w1", "b1"], ["up1"], name="up1",
                         kernel_shape=[4, 4], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["up1"], ["act1"], name="relu1"),
        helper.make_node("ConvTranspose", ["act1", "w2"], ["image"], name="up2",
                         kernel_shape=[4, 4], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("ConvTranspose", ["x", "w3"], ["side"], name="side", kernel_shape=[3, 3]),
    ]
    graph = helper.make_graph(
        nodes, "decoder", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6, 5, 5])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 20, 20]),
         helper.make_tensor_value_info("side", TensorProto.FLOAT, [1, 2, 7, 7])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def _run(model: onnx.ModelProto, x: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})


def test_conv_transpose_to_subpixel_keeps_the_function_and_moves_the_activation():
    model = _decoder_graph()
    x = np.random.default_rng(1).standard_normal((1, 6, 5, 5)).astype(np.float32)
    expected = _run(model, x)
    assert conv_transpose_to_subpixel(model) == 2
    onnx.checker.check_model(model, full_check=True)
    got = _run(model, x)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-5)
    ops = [node.op_type for node in model.graph.node]
    # the activation sits between the 3x3 Conv and the pixel shuffle (quantiser fuses Conv + Relu)
    assert ops == ["Conv", "Relu", "DepthToSpace", "Conv", "DepthToSpace", "ConvTranspose"]
    assert {t.name for t in model.graph.initializer} >= {"w3"}  # the side layer's weights stay
    assert not {"w1", "b1", "w2"} & {t.name for t in model.graph.initializer}  # replaced ones go


def test_graph_without_rewritable_layers_is_left_unchanged():
    model = _decoder_graph()
    del model.graph.node[:3]
    del model.graph.output[0]
    before = model.SerializeToString()
    assert conv_transpose_to_subpixel(model) == 0
    assert model.SerializeToString() == before
