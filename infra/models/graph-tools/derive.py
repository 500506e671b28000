#!/usr/bin/env python3
"""Derives faster model files from a registry ONNX file with onnxruntime's own offline tools.

  optimize: onnxruntime.transformers.optimizer (BERT fusions: Attention, SkipLayerNormalization,
            BiasGelu/FastGelu, EmbedLayerNormalization where the pattern allows), CPU target,
            no fp16. The fused graph computes the same function with fewer, larger kernels.
  quantize: onnxruntime.quantization.quantize_dynamic, int8 weights with one scale per output
            channel (per_channel=True), activations quantised at run time.

Writes the output file and prints one JSON line describing it (op counts), so the caller can
record what was fused. Run by infra/models/derive-model.ts inside the graph-tools venv.
"""

import argparse
import collections
import json
import sys

import onnx


def op_counts(path):
    model = onnx.load(path, load_external_data=False)
    return dict(sorted(collections.Counter(node.op_type for node in model.graph.node).items()))


def optimize(source, target):
    from onnxruntime.transformers import optimizer

    # num_heads/hidden_size 0: read from the graph. opt_level 0: only the Python fusions, so the
    # file does not depend on onnxruntime's own graph passes (onnxruntime-node applies those at load).
    model = optimizer.optimize_model(
        source,
        model_type="bert",
        num_heads=0,
        hidden_size=0,
        opt_level=0,
        use_gpu=False,
        only_onnxruntime=False,
    )
    model.save_model_to_file(target, use_external_data_format=False)
    return model.get_fused_operator_statistics()


def quantize(source, target):
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        source,
        target,
        per_channel=True,
        reduce_range=False,
        weight_type=QuantType.QInt8,
        # Shape inference cannot type the outputs of fused contrib ops (Attention,
        # SkipLayerNormalization); every tensor in these models is float32.
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    return {}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["optimize", "quantize"])
    parser.add_argument("source")
    parser.add_argument("target")
    args = parser.parse_args()
    fused = optimize(args.source, args.target) if args.action == "optimize" else quantize(args.source, args.target)
    json.dump({"action": args.action, "fused": fused, "ops": op_counts(args.target)}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
