// Messages between OnnxEncoder and its inference worker. Typed arrays are transferred, not copied.
import type { PaddedBatch, SessionInfo } from './pooled-session.ts';

export type WorkerRequest = { type: 'run'; id: number; batch: PaddedBatch } | { type: 'close' };

export interface SerializedError {
  message: string;
  stack?: string;
}

export type WorkerReply =
  | { type: 'ready'; info: SessionInfo }
  | { type: 'init-error'; error: SerializedError }
  | { type: 'result'; id: number; vectors: Float32Array }
  | { type: 'error'; id: number; error: SerializedError };
