import { parseArgs } from 'node:util';
import { ensureKafkaClasspath, ensureQdrantEdgeVenv, ensureRedisServer } from '../../index.ts';
import { ensureAllEncoderFiles, ensureAudioModel, ensureImageModel, ensureSpeechModel } from '../../models/index.ts';
import { getModelSpec, loadConfig } from '../../../topology/index.ts';
import { defineCommand } from '../command.ts';
import type { Output } from '../output.ts';

export async function setupCommand(out: Output): Promise<void> {
  const log = (line: string): void => out.info(line);
  const { model, media } = loadConfig();
  await Promise.all([
    ensureKafkaClasspath(log),
    ensureQdrantEdgeVenv(log),
    ensureRedisServer(log),
    ensureAllEncoderFiles(model, { log }),
    ensureImageModel({ log }),
    ensureAudioModel({ log }),
    ensureSpeechModel({ log }, media.speechModel),
  ]);
  out.info(
    `Kafka, Redis, the Qdrant Edge engine, the ${model.id} model (with its optimised and per-channel int8 files), the image and audio models and the ${media.speechModel.id} speech model are installed.`,
  );
}

/**
 * Only the models (default: SEARCHBUS_MODEL), each verified against its sha256 pin, with their
 * derived files (optimised graph, per-channel int8), the image and audio models and the speech model
 * (SEARCHBUS_SPEECH_MODEL): what an image bakes in, so that a read-only image never needs Python to
 * derive a file at run time.
 */
export async function setupModelsCommand(out: Output, modelIds: readonly string[]): Promise<void> {
  const log = (line: string): void => out.info(line);
  const specs = modelIds.length > 0 ? modelIds.map((id) => getModelSpec(id)) : [loadConfig().model];
  for (const spec of specs) {
    const files = await ensureAllEncoderFiles(spec, { log });
    for (const f of files) out.result(`${f.modelId} (${f.variant}): ${f.onnxPath}`);
  }
  const [image, audio, speech] = await Promise.all([
    ensureImageModel({ log }),
    ensureAudioModel({ log }),
    ensureSpeechModel({ log }, loadConfig().media.speechModel),
  ]);
  out.result(`${image.modelId} (image): ${image.onnxPath}`);
  out.result(`${audio.modelId} (audio): ${audio.melspectrogramPath}, ${audio.embeddingPath}`);
  out.result(`${speech.modelId} (speech to text): ${speech.encoderPath}, ${speech.decoderPath}, ${speech.tokenizerPath}`);
}

export const command = defineCommand({
  name: 'setup',
  parse(argv): { modelsOnly: boolean; models: string[] } {
    const { values } = parseArgs({
      args: argv,
      options: { 'models-only': { type: 'boolean', default: false }, model: { type: 'string', multiple: true, default: [] } },
    });
    return { modelsOnly: values['models-only'], models: values.model };
  },
  async run({ modelsOnly, models }, { out }) {
    if (modelsOnly) await setupModelsCommand(out, models);
    else await setupCommand(out);
    return 0;
  },
});
