import { ContractError, isMediaContentError, type CollectionLayout, type WatchErrorCode, type WatchQuery } from '../../topology/index.ts';
import type { MediaEncoder } from '../embedding/index.ts';

export interface WatchEmbedders {
  /** Embeds texts as queries (with the model's query prefix), with the model of the watch collection. */
  embedQueries(texts: string[]): Promise<Float32Array[]>;
  media?: Pick<MediaEncoder, 'embed'>;
}

/**
 * A watch's query vectors, named as the documents' vectors are (`text`, `image`, `audio`), so a
 * document's own vectors search the watches. A text watch is embedded as a search query is; an
 * example as the documents' media are, with the model the collection's vector of that kind was
 * built with. A medium that cannot be decoded is a ContractError `invalid-media`.
 */
export async function embedWatch(
  query: WatchQuery,
  layout: CollectionLayout,
  embedders: WatchEmbedders,
): Promise<Record<string, number[]>> {
  if ('text' in query) {
    const [vector] = await embedders.embedQueries([query.text]);
    return { [layout.dense || 'text']: Array.from(vector!) };
  }
  const modality = 'image' in query ? 'image' : 'audio';
  const example = 'image' in query ? query.image : query.audio;
  const target = layout.media?.[modality];
  if (!target) throw new ContractError<WatchErrorCode>('invalid-media', `the collection has no ${modality} vectors to match against`);
  if (!embedders.media) throw new ContractError<WatchErrorCode>('invalid-media', `no ${modality} model is loaded here`);
  try {
    const vector = await embedders.media.embed(modality, target.model, Buffer.from(example.data, 'base64'));
    return { [target.name]: Array.from(vector) };
  } catch (error) {
    if (isMediaContentError(error))
      throw new ContractError<WatchErrorCode>('invalid-media', `query.${modality}: ${error.message}`, { cause: error });
    throw error;
  }
}
