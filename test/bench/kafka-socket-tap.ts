// A tap on a Kafka client socket: every request written and every response read, timestamped on
// the clock the benchmarks compare with the broker's LogAppendTime (epoch ms, sub-ms resolution).
// kafkajs writes one request per socket.write (size, apiKey, apiVersion, correlationId first);
// responses are framed by their size and carry the correlation id.
import type net from 'node:net';

/** Epoch ms with sub-ms resolution, comparable with the broker's LogAppendTime. */
export const now = (): number => performance.timeOrigin + performance.now();

const API = { 1: 'Fetch', 8: 'OffsetCommit', 12: 'Heartbeat', 0: 'Produce', 3: 'Metadata' } as Record<number, string>;

export interface Exchange {
  api: string;
  version: number;
  correlationId: number;
  written: number;
  firstByte?: number;
  lastByte?: number;
}

/** Records each request `socket` writes and the arrival of its response in `exchanges`. */
export function tapSocket(socket: net.Socket, exchanges: Exchange[]): void {
  const byId = new Map<number, Exchange>();
  const write = socket.write.bind(socket) as (chunk: unknown, ...rest: unknown[]) => boolean;
  socket.write = (chunk: unknown, ...rest: unknown[]) => {
    if (Buffer.isBuffer(chunk) && chunk.length >= 12) {
      const e: Exchange = {
        api: API[chunk.readInt16BE(4)] ?? `api${chunk.readInt16BE(4)}`,
        version: chunk.readInt16BE(6),
        correlationId: chunk.readInt32BE(8),
        written: now(),
      };
      byId.set(e.correlationId, e);
      exchanges.push(e);
    }
    return write(chunk, ...rest);
  };
  // Response framing: 4-byte size, then the body, whose first 4 bytes are the correlation id.
  let header = Buffer.alloc(0);
  let remaining = 0;
  let current: Exchange | undefined;
  socket.prependListener('data', (data: Buffer) => {
    const at = now();
    let offset = 0;
    while (offset < data.length) {
      if (remaining === 0) {
        const need = 8 - header.length;
        header = Buffer.concat([header, data.subarray(offset, offset + need)]);
        offset += Math.min(need, data.length - offset);
        if (header.length < 8) return;
        remaining = header.readInt32BE(0) - 4;
        current = byId.get(header.readInt32BE(4));
        byId.delete(header.readInt32BE(4));
        header = Buffer.alloc(0);
        if (current) current.firstByte = at;
        if (remaining === 0 && current) current.lastByte = at;
        continue;
      }
      const take = Math.min(remaining, data.length - offset);
      remaining -= take;
      offset += take;
      if (remaining === 0 && current) current.lastByte = at;
    }
  });
}

/** The Fetch whose response ended last at or before `at`: the one that carried a record delivered then. */
export function fetchBefore(exchanges: Exchange[], at: number): Exchange | undefined {
  for (let i = exchanges.length - 1; i >= 0; i--) {
    const e = exchanges[i]!;
    if (e.api === 'Fetch' && e.lastByte !== undefined && e.lastByte <= at) return e;
  }
  return undefined;
}
