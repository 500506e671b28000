import { EncoderConsumer } from '../../consumers/encoder/index.ts';
import { documentEncoder, mediaEncoderSettings, type MediaEncoder, type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { cachedMediaEncoder } from '../../infra/models/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { IngestProducer } from '../../producers/ingest/index.ts';
import { closeAll, type CleanupStep } from '../../topology/index.ts';
import type { Harness } from './harness.ts';
import { startQueryStack, type QueryStack } from './query-stack.ts';

// What every media test runs on one namespace, as the encoder role runs it: the text model, a media
// encoder made from the settings (SEARCHBUS_MEDIA_*, SEARCHBUS_OCR_*: set them in the harness's env),
// a text group and a media group on the ingest topic, a producer, and the query path with media.

export interface MediaStackOptions {
  /** Directories a file:// uri may also point into, besides SEARCHBUS_MEDIA_FILE_ROOTS (e.g. the fixtures, for queries by uri). */
  extraFileRoots?: readonly string[];
  /**
   * OCR of images. Absent: as configured (SEARCHBUS_OCR_IMAGES, on by default), as the role does.
   * Tests whose images hold no text turn it off: Tesseract costs time per image and adds nothing.
   */
  ocr?: boolean;
  /** The search client's timeout; long by default, as the first query by example loads a model. */
  queryTimeoutMs?: number;
}

export interface MediaStack {
  text: OnnxEncoder;
  media: MediaEncoder;
  /** The `<ns>.encoder` group (documents without media) and the `<ns>.encoder.media` group. */
  consumers: readonly EncoderConsumer[];
  producer: IngestProducer;
  query: QueryStack;
  /** Stops everything started here, in reverse order; every step runs even when one throws. */
  close(): Promise<void>;
}

/** A media encoder as the role makes it from the settings, with the test's extra file roots and OCR choice. */
export function testMediaEncoder(h: Harness, options: Pick<MediaStackOptions, 'extraFileRoots' | 'ocr'> = {}): MediaEncoder {
  const { fileRoots, ocr } = h.config.media;
  return cachedMediaEncoder({
    ...mediaEncoderSettings(h.config.media),
    fileRoots: [...fileRoots, ...(options.extraFileRoots ?? [])],
    ocr: { ...ocr, enabled: options.ocr ?? ocr.enabled },
  });
}

export async function startMediaStack(h: Harness, options: MediaStackOptions = {}): Promise<MediaStack> {
  const steps: CleanupStep[] = [];
  const close = (): Promise<void> => closeAll('the media test stack', steps.splice(0).reverse());
  try {
    const text = await loadEncoder(h.config.model);
    steps.push({ name: 'close the text encoder', run: () => text.close() });
    const media = testMediaEncoder(h, options);
    steps.push({ name: 'close the media encoder', run: () => media.close() });
    const consumers: EncoderConsumer[] = [];
    for (const modality of ['text', 'media'] as const) {
      const consumer = new EncoderConsumer({
        kafka: h.kafka,
        qdrant: h.qdrant,
        topology: h.topology,
        config: h.config,
        encoder: () => Promise.resolve(documentEncoder(text)),
        modality,
        media,
      });
      steps.push({ name: `close the ${modality} encoder group`, run: () => consumer.close() });
      await consumer.start();
      consumers.push(consumer);
    }
    const producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
    steps.push({ name: 'close the producer', run: () => producer.close() });
    const query = await startQueryStack(h, [text], { media, timeoutMs: options.queryTimeoutMs ?? 60_000 });
    steps.push({ name: 'close the query stack', run: () => query.close() });
    return { text, media, consumers, producer, query, close };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}
