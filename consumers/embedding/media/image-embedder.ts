// Image bytes in, one L2-normalised 1280-d vector out (EfficientNet-Lite0's global average pool),
// plus the ImageNet logits for callers that want a label. Preprocessing is in image-preprocess.ts.
import * as ort from 'onnxruntime-node';
import { IMAGE_MODEL, type ImageModelSpec } from '../../../topology/media-models.ts';
import { ContractError, UnavailableError } from '../../../topology/errors.ts';
import { preprocessImage } from './image-preprocess.ts';
import { createMediaSession, floatOutput, type MediaSessionOptions } from './media-session.ts';
import { l2Normalize } from '../inference/pooling.ts';

export interface ImageEmbedding {
  /** L2-normalised, `dimension` long. */
  readonly vector: Float32Array;
  /** The 1000 ImageNet-1k logits (not softmaxed). */
  readonly logits: Float32Array;
}

export interface ImageEmbedderOptions extends MediaSessionOptions {
  /** Images per inference run; larger batches trade memory for throughput. */
  readonly batchSize?: number;
}

export class ImageEmbedder {
  private closed = false;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly spec: ImageModelSpec,
    private readonly batchSize: number,
  ) {}

  static async create(onnxPath: string, options: ImageEmbedderOptions = {}, spec: ImageModelSpec = IMAGE_MODEL): Promise<ImageEmbedder> {
    const batchSize = options.batchSize ?? 8;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new ContractError('encoder-config', `image batchSize must be a positive integer, got ${batchSize}`);
    const session = await createMediaSession(onnxPath, options);
    for (const name of [spec.embeddingOutput, spec.logitsOutput]) {
      if (!session.outputNames.includes(name)) {
        await session.release();
        throw new ContractError('encoder-config', `${onnxPath} has no output ${name} (it has ${session.outputNames.join(', ')})`);
      }
    }
    return new ImageEmbedder(session, spec, batchSize);
  }

  /** Encoded images (JPEG, PNG, WebP, GIF, TIFF, AVIF: whatever libvips reads) or file paths. */
  async embed(images: readonly (Buffer | string)[]): Promise<ImageEmbedding[]> {
    const out: ImageEmbedding[] = [];
    for (let start = 0; start < images.length; start += this.batchSize) {
      const batch = images.slice(start, start + this.batchSize);
      const pixels = await Promise.all(batch.map((image) => preprocessImage(image, this.spec)));
      out.push(...(await this.run(pixels.map((p) => p.pixels))));
    }
    return out;
  }

  /** Runs already preprocessed inputs ([3, crop, crop] each). */
  async run(inputs: readonly Float32Array[]): Promise<ImageEmbedding[]> {
    if (this.closed) throw new UnavailableError('encoder-closed', 'the image embedder is closed', { retriable: false });
    if (inputs.length === 0) return [];
    const { cropSize: size, dimension } = this.spec;
    const plane = 3 * size * size;
    const data = new Float32Array(inputs.length * plane);
    inputs.forEach((input, i) => data.set(input, i * plane));
    const feeds = { [this.spec.inputName]: new ort.Tensor('float32', data, [inputs.length, 3, size, size]) };
    const outputs = await this.session.run(feeds);
    const embedding = floatOutput(outputs, this.spec.embeddingOutput);
    const logits = floatOutput(outputs, this.spec.logitsOutput);
    const classes = logits.length / inputs.length;
    return inputs.map((_, i) => ({
      vector: l2Normalize(embedding.slice(i * dimension, (i + 1) * dimension)),
      logits: logits.slice(i * classes, (i + 1) * classes),
    }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.session.release();
  }
}
