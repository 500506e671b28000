"""Independent baselines for the media retrieval benchmark, on the very files the pipeline indexed
and queried (test/bench/media-retrieval.ts writes the manifest and reads the result):

  image: imagehash's perceptual hash (pHash, DCT of a 32x32 grey image) and difference hash (dHash),
         64 bits each, ranked by Hamming distance;
  audio: librosa MFCCs (c1..c19 of 40 mel bands, 25 ms windows), either pooled (mean and standard
         deviation, cosine distance) or compared frame by frame with dynamic time warping (cosine
         cost, mean-normalised per clip, path cost over the clips' total length).

For each query it writes where its target landed: how many candidates were strictly nearer
(`closer`) and how many at the same distance (`tied`); the TypeScript side scores both systems with
the same code. Run by the benchmark, in the venv of baseline-requirements.txt:
  python baselines.py MANIFEST.json RESULT.json
"""

import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from importlib.metadata import version

import numpy as np

SAMPLE_RATE = 16000
N_MFCC = 20
N_MELS = 40
WINDOW = 400  # 25 ms
POOL_HOP = 160  # 10 ms
DTW_HOP = 320  # 20 ms: a quarter of the cells of a 10 ms hop, for the same path shape


def placements(distances, targets):
    """distances[q, c]; targets[q] = the index of query q's own candidate."""
    out = []
    for q, t in enumerate(targets):
        own = distances[q, t]
        row = distances[q]
        out.append({"closer": int(np.sum(row < own)), "tied": int(np.sum(row == own)) - 1})
    return out


def image_hashes(paths, method):
    import imagehash
    from PIL import Image

    bits = []
    for path in paths:
        with Image.open(path) as image:
            bits.append(method(image).hash.flatten())
    return np.array(bits, dtype=bool)


def image_baselines(manifest):
    import imagehash

    cand_paths = [c["path"] for c in manifest["candidates"]]
    query_paths = [q["path"] for q in manifest["queries"]]
    targets = target_indices(manifest)
    methods = {}
    for name, method in (("imagehash-phash", imagehash.phash), ("imagehash-dhash", imagehash.dhash)):
        started = time.perf_counter()
        cands = image_hashes(cand_paths, method)
        queries = image_hashes(query_paths, method)
        # Hamming distance of every query hash to every candidate hash.
        distances = (queries[:, None, :] != cands[None, :, :]).sum(axis=2)
        methods[name] = {"placements": placements(distances, targets), "seconds": time.perf_counter() - started}
    return methods


def mfcc(path, hop):
    import librosa

    y, _ = librosa.load(path, sr=SAMPLE_RATE, mono=True)
    m = librosa.feature.mfcc(y=y, sr=SAMPLE_RATE, n_mfcc=N_MFCC, n_fft=WINDOW, hop_length=hop, n_mels=N_MELS)
    return m[1:].astype(np.float64)  # c0 is loudness: left out, as usual for matching


def pooled(path):
    m = mfcc(path, POOL_HOP)
    v = np.concatenate([m.mean(axis=1), m.std(axis=1)])
    return v / (np.linalg.norm(v) or 1.0)


def dtw_frames(path):
    m = mfcc(path, DTW_HOP)
    m = m - m.mean(axis=1, keepdims=True)
    return (m / np.maximum(np.linalg.norm(m, axis=0, keepdims=True), 1e-9)).T  # frames x coefficients


def dtw_row(args):
    import librosa

    query, candidates = args
    row = np.empty(len(candidates))
    for j, cand in enumerate(candidates):
        cost = 1.0 - query @ cand.T
        acc = librosa.sequence.dtw(C=cost, backtrack=False)
        row[j] = acc[-1, -1] / (query.shape[0] + cand.shape[0])
    return row


def audio_baselines(manifest, workers):
    cand_paths = [c["path"] for c in manifest["candidates"]]
    query_paths = [q["path"] for q in manifest["queries"]]
    targets = target_indices(manifest)
    methods = {}

    started = time.perf_counter()
    cands = np.array([pooled(p) for p in cand_paths])
    queries = np.array([pooled(p) for p in query_paths])
    methods["librosa-mfcc-pooled"] = {"placements": placements(1.0 - queries @ cands.T, targets), "seconds": time.perf_counter() - started}

    if not manifest.get("dtw", True):
        return methods
    started = time.perf_counter()
    cand_frames = [dtw_frames(p) for p in cand_paths]
    query_frames = [dtw_frames(p) for p in query_paths]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        rows = list(pool.map(dtw_row, [(q, cand_frames) for q in query_frames], chunksize=8))
    methods["librosa-mfcc-dtw"] = {"placements": placements(np.array(rows), targets), "seconds": time.perf_counter() - started}
    return methods


def target_indices(manifest):
    index = {c["id"]: i for i, c in enumerate(manifest["candidates"])}
    return [index[q["target"]] for q in manifest["queries"]]


def main():
    manifest_path, result_path = sys.argv[1], sys.argv[2]
    with open(manifest_path, encoding="utf-8") as f:
        manifest = json.load(f)
    if manifest["kind"] == "image":
        methods = image_baselines(manifest)
        libraries = {name: version(name) for name in ("ImageHash", "pillow", "numpy")}
    elif manifest["kind"] == "audio":
        methods = audio_baselines(manifest, int(manifest.get("workers", 2)))
        libraries = {name: version(name) for name in ("librosa", "numba", "numpy")}
    else:
        raise SystemExit(f"unknown manifest kind {manifest['kind']!r}")
    with open(result_path, "w", encoding="utf-8") as f:
        json.dump({"methods": methods, "libraries": libraries}, f)


if __name__ == "__main__":
    main()
