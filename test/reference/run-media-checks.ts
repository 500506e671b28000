// Runs the media models' independent Python checks in a venv made by the project's setup code:
//
//   node --import tsx test/reference/run-media-checks.ts
//
// check-image-model.py: ImageNet top-1 of the fixture photos (onnxruntime on the converted ONNX,
// and a numpy forward pass of the original checkpoint); writes test/fixtures/media/image-reference.json.
// make-audio-reference.py: speech embeddings of the fixture clips; writes
// test/fixtures/media/speech-reference.json. Both are what the TypeScript unit tests compare against.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ensurePythonVenv } from '../../infra/local/python-venv.ts';
import { ensureAudioModel, ensureImageModel } from '../../infra/models/index.ts';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const fixtures = here('../fixtures/media/');

const log = (line: string): void => console.error(line);
const [python, image, audio] = await Promise.all([
  ensurePythonVenv('media-check', here('./media-check-requirements.txt'), log),
  ensureImageModel({ log }),
  ensureAudioModel({ log }),
]);

function run(args: string[]): void {
  const result = spawnSync(python, args, { stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${args[0]} failed (exit ${result.status})`);
}

run([here('./check-image-model.py'), image.onnxPath, `${fixtures}photos.json`, '--write-reference', `${fixtures}image-reference.json`]);
const clips = readdirSync(`${fixtures}speech`)
  .filter((name) => name.endsWith('.wav'))
  .sort()
  .map((name) => `${fixtures}speech/${name}`);
run([here('./make-audio-reference.py'), audio.melspectrogramPath, audio.embeddingPath, `${fixtures}speech-reference.json`, ...clips]);
