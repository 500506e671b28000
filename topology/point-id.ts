import { createHash } from 'node:crypto';
import { documentKey } from './document-identity.ts';

// Point ids are UUIDv5 (RFC 9562) of "<tenant>/<document id>#<chunk>" in a fixed namespace, so a
// re-delivered batch overwrites its own points instead of adding duplicates, and the same id in
// two tenants gives two sets of points. The name is unambiguous: the tenant ends at the first "/"
// (a tenant has none) and the chunk, digits only, follows the last "#". Any language reproduces it,
// e.g. Python's uuid.uuid5(uuid.UUID(POINT_ID_NAMESPACE), f"{tenant}/{id}#{chunk}").

/**
 * The searchbus namespace for UUIDv5 point ids. Changing it orphans every existing point. It is not
 * the namespace of the id-only point ids before tenants were part of the identity, so no point of
 * a collection built then can share an id with a point written now.
 */
export const POINT_ID_NAMESPACE = 'bb885359-0681-4db4-87b3-25cd63046164';

export function pointId(tenant: string, documentId: string, chunk: number): string {
  if (!Number.isSafeInteger(chunk) || chunk < 0) throw new TypeError(`chunk must be a whole number >= 0, got ${chunk}`);
  return uuidV5(`${documentKey(tenant, documentId)}#${chunk}`, POINT_ID_NAMESPACE);
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
