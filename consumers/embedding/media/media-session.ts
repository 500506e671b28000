// An onnxruntime session for the media models, with the same thread settings as the text encoder.
import * as ort from 'onnxruntime-node';
import { UnavailableError } from '../../../topology/errors.ts';

export interface MediaSessionOptions {
  readonly intraOpNumThreads?: number;
  /** Let idle onnxruntime pool threads busy-wait for work (onnxruntime's default). */
  readonly allowSpinning?: boolean;
}

export async function createMediaSession(onnxPath: string, options: MediaSessionOptions = {}): Promise<ort.InferenceSession> {
  const spin = options.allowSpinning ? '1' : '0';
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    // As for the text encoder: spinning pool threads would take the cores the consumers need.
    extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } },
  };
  if (options.intraOpNumThreads !== undefined) sessionOptions.intraOpNumThreads = options.intraOpNumThreads;
  try {
    return await ort.InferenceSession.create(onnxPath, sessionOptions);
  } catch (error) {
    throw new UnavailableError('encoder-failed', `could not load ONNX model ${onnxPath}`, { cause: error, retriable: false });
  }
}

/** The output's data as a Float32Array, or an UnavailableError (`encoder-failed`) naming what the model returned instead. */
export function floatOutput(outputs: ort.InferenceSession.OnnxValueMapType, name: string): Float32Array {
  const data = outputs[name]?.data;
  if (!(data instanceof Float32Array))
    throw new UnavailableError('encoder-failed', `the model has no float output ${name}`, { retriable: false });
  return data;
}
