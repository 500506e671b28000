#!/usr/bin/env python3
"""Reference speech embeddings for the TypeScript audio embedder's unit tests (no TypeScript involved).

    python make-audio-reference.py <melspectrogram.onnx> <embedding_model.onnx> <out.json> <clip.wav>...

Framing as in openWakeWord's AudioFeatures (batch path): the 16 kHz mono clip, as int16 sample
values in float32 (not scaled to [-1, 1]), goes through the mel model in one run; its output
(frames x 32) is mapped by x / 10 + 2; windows of 76 frames start every 8 frames and only full
windows are kept; each window gives a 96-d embedding. The clip vector is the mean of its windows.
WAV files are read with the standard library, so no decoder is shared with the TypeScript side.
"""

import json
import sys
import wave
from pathlib import Path

import numpy as np
import onnxruntime as ort

WINDOW, STEP = 76, 8


def read_wav(path):
    with wave.open(str(path), "rb") as w:
        if w.getframerate() != 16000 or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise SystemExit(f"{path}: expected 16 kHz mono 16-bit PCM")
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def embed(mel_session, emb_session, samples):
    mel = mel_session.run(None, {"input": samples.astype(np.float32)[None, :]})[0]
    mel = np.squeeze(mel) / 10 + 2
    windows = [mel[i : i + WINDOW] for i in range(0, mel.shape[0], STEP) if mel[i : i + WINDOW].shape[0] == WINDOW]
    batch = np.stack(windows)[..., None].astype(np.float32)
    vectors = emb_session.run(None, {"input_1": batch})[0].reshape(len(windows), 96)
    return mel.shape[0], vectors


def main():
    mel_path, emb_path, out_path, *clips = sys.argv[1:]
    mel_session = ort.InferenceSession(mel_path, providers=["CPUExecutionProvider"])
    emb_session = ort.InferenceSession(emb_path, providers=["CPUExecutionProvider"])
    out = {"framing": "openWakeWord: int16-valued float audio, mel x/10+2, 76-frame windows every 8 frames, full windows only", "clips": []}
    for clip in clips:
        samples = read_wav(clip)
        frames, vectors = embed(mel_session, emb_session, samples)
        mean = vectors.mean(axis=0)
        out["clips"].append({
            "file": Path(clip).name,
            "samples": int(samples.shape[0]),
            "melFrames": int(frames),
            "windows": int(vectors.shape[0]),
            "mean": [float(f"{v:.7g}") for v in mean],
            "firstWindow": [float(f"{v:.7g}") for v in vectors[0]],
            "lastWindow": [float(f"{v:.7g}") for v in vectors[-1]],
        })
        print(f"{Path(clip).name}: {samples.shape[0]} samples, {frames} mel frames, {vectors.shape[0]} windows")
    Path(out_path).write_text(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
