import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends bytes as they are to an HTTP server and reads the answer until the server closes the
 * connection. For inputs fetch() would refuse to send (bad header bytes, broken request lines).
 * Rejects if no complete answer arrives within `timeoutMs`: a hang, for the test that calls it.
 */
export function rawRequest(port: number, request: Buffer | string, timeoutMs: number): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // The server may close while we are still writing (an early 413); what it answered counts.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const head = text.indexOf('\r\n\r\n');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (head < 0 || !match) {
        reject(
          new Error(`no HTTP answer (${chunks.length === 0 ? 'connection closed without a byte' : JSON.stringify(text.slice(0, 200))})`),
        );
        return;
      }
      const headers: Record<string, string> = {};
      for (const line of text.slice(0, head).split('\r\n').slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(match[1]), headers, body: text.slice(head + 4) });
    });
    socket.write(request);
  });
}

/** An HTTP/1.1 request with the right Content-Length, closing the connection after the answer. */
export function buildRequest(method: string, target: string, headers: Array<[string, string]>, body: Buffer | string = ''): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const lines = [`${method} ${target} HTTP/1.1`, 'host: 127.0.0.1', 'connection: close', ...headers.map(([k, v]) => `${k}: ${v}`)];
  if (bytes.length > 0 || method === 'POST') lines.push(`content-length: ${bytes.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8'), bytes]);
}
