import { isAbsolute, relative, sep } from 'node:path';

/**
 * Whether `candidate` is `root` or lies inside it, for absolute, normalised paths (e.g. both from
 * realpath). The one check behind every "only under these folders" rule: media file roots, eval-set
 * folders; relative() rather than a string prefix, so `/data` does not contain `/database`.
 */
export function isWithin(root: string, candidate: string): boolean {
  const rel = relative(root, candidate);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}
