import { createHash } from 'node:crypto';

// Point ids are UUIDv5 (RFC 9562) of "<document id>#<chunk>" in a fixed namespace, so a
// re-delivered batch overwrites its own points instead of adding duplicates.

/** The searchbus namespace for UUIDv5 point ids. Changing it orphans every existing point. */
export const POINT_ID_NAMESPACE = '6f0b6a39-2f1e-4d53-9f6a-5a1c0e7d2b44';

export function pointId(documentId: string, chunk: number): string {
  return uuidV5(`${documentId}#${chunk}`, POINT_ID_NAMESPACE);
}

export function uuidV5(name: string, namespace: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  if (ns.length !== 16) throw new TypeError(`namespace must be a UUID, got "${namespace}"`);
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
