// What is in a photo, in words: the image model's ImageNet logits through a softmax, the confident
// classes named with their WordNet lemmas (name and synonyms) and gloss. The words join the image's
// text, so a text query ("a ladybird on a leaf") finds a photo whatever its file is called.
import { IMAGENET_CLASSES } from '../../../topology/imagenet-classes.ts';
import { ContractError } from '../../../topology/errors.ts';

export interface ImageLabel {
  /** The class's first lemma ("ladybug"). */
  readonly name: string;
  /** Its other lemmas ("ladybeetle", "lady beetle", "ladybird", "ladybird beetle"). */
  readonly synonyms: readonly string[];
  /** The class's softmax probability, 0-1. */
  readonly score: number;
  /** Its ImageNet-1k index. */
  readonly index: number;
}

export interface ImageLabelOptions {
  /** At most this many labels (0: none). */
  readonly max: number;
  /** Only classes whose probability is at least this percentage. */
  readonly minPercent: number;
}

/** The confident classes of one image's 1000 logits, most probable first. */
export function imageLabels(logits: Float32Array, options: ImageLabelOptions): ImageLabel[] {
  if (logits.length !== IMAGENET_CLASSES.length)
    throw new ContractError('encoder-config', `expected ${IMAGENET_CLASSES.length} ImageNet logits, got ${logits.length}`);
  if (options.max === 0) return [];
  const probabilities = softmax(logits);
  const floor = options.minPercent / 100;
  return Array.from(probabilities, (score, index) => ({ score, index }))
    .filter((c) => c.score >= floor)
    .sort((a, b) => b.score - a.score)
    .slice(0, options.max)
    .map(({ score, index }) => {
      const [name = '', ...synonyms] = IMAGENET_CLASSES[index]![0].split(',').map((lemma) => lemma.trim());
      return { name, synonyms, score, index };
    });
}

/** The labels as the text indexed beside the image's title: one sentence each, lemmas then gloss. */
export function labelText(labels: readonly ImageLabel[]): string {
  return labels.map((l) => `${[l.name, ...l.synonyms].join(', ')}: ${IMAGENET_CLASSES[l.index]![1]}.`).join('\n');
}

function softmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const x of logits) if (x > max) max = x;
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i]! - max);
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}
