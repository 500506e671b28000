"""Writes topology/imagenet-classes.ts: the 1000 ImageNet-1k classes in the index order of the
image model's logits, each with its WordNet 3.0 lemmas (the class name and its synonyms) and its
gloss. Source: the PyPI wheel timm 1.0.22 (Apache-2.0), files
timm/data/_info/imagenet_synsets.txt and imagenet_synset_to_lemma.txt / _to_definition.txt; the
lemmas and glosses themselves are WordNet 3.0 (Princeton University, WordNet licence).

Run from the repository root:  python3 test/reference/make-imagenet-classes.py
(needs pip and PyPI; the wheel is checked against its sha256 before it is read)."""

import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL = "timm-1.0.22-py3-none-any.whl"
WHEEL_SHA256 = "888981753e65cbaacfc07494370138b1700a27b1f0af587f4f9b47bc024161d0"
OUT = Path("topology/imagenet-classes.ts")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "timm==1.0.22", "--no-deps", "-q", "-d", tmp], check=True)
        wheel = Path(tmp) / WHEEL
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        if digest != WHEEL_SHA256:
            sys.exit(f"{WHEEL}: sha256 {digest}, expected {WHEEL_SHA256}")
        with zipfile.ZipFile(wheel) as z:
            read = lambda name: z.read(f"timm/data/_info/{name}").decode("utf-8")
            synsets = read("imagenet_synsets.txt").split()
            lemmas = dict(line.split("\t", 1) for line in read("imagenet_synset_to_lemma.txt").splitlines() if line)
            glosses = dict(line.split("\t", 1) for line in read("imagenet_synset_to_definition.txt").splitlines() if line)
    if len(synsets) != 1000:
        sys.exit(f"expected 1000 synsets, got {len(synsets)}")
    rows = [f"  [{json.dumps(lemmas[s].strip())}, {json.dumps(glosses[s].strip())}]," for s in synsets]
    OUT.write_text(
        "// The 1000 ImageNet-1k classes in the order of the image model's logits: each class's WordNet 3.0\n"
        "// lemmas (its name, then its synonyms, comma-separated) and its gloss. Written by\n"
        "// test/reference/make-imagenet-classes.py from the PyPI wheel timm 1.0.22 (Apache-2.0,\n"
        "// timm/data/_info/); the lemmas and glosses are WordNet 3.0, Copyright 2006 Princeton University,\n"
        "// under the WordNet licence (docs/credits.md). Data, not code: regenerate rather than edit.\n"
        "export const IMAGENET_CLASSES: ReadonlyArray<readonly [lemmas: string, gloss: string]> = [\n"
        + "\n".join(rows)
        + "\n];\n"
    )
    print(f"wrote {OUT} ({len(rows)} classes)")


main()
