import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { chmod, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { ConfigError, hasErrorCode, TENANT_PATTERN } from '../../topology/index.ts';

// API keys of the gateway. A key reads `sbk_<id>_<secret>`: the id (not secret) finds its entry
// in O(1), the secret (32 random bytes) is checked against a salted scrypt hash. The keys file
// holds one JSON entry per line and never a key itself, so a leaked file opens nothing.

export const API_KEY_PREFIX = 'sbk_';
const KEY_PATTERN = /^sbk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const KEY_ID_PATTERN = /^[0-9a-f]{16}$/;
/** OWASP's scrypt floor (N=2^17 r=8 p=1) costs 128 MiB per check; 2^15 keeps a check near 50 ms and 32 MiB. */
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, keyLength: 32, saltLength: 16 } as const;

export interface RateLimit {
  perSecond: number;
  burst: number;
}

/** What a key may do beyond searching its tenants: `admin` opens the gateway's /admin/ endpoints for them. */
export type ApiKeyScope = 'admin';
const API_KEY_SCOPES: readonly ApiKeyScope[] = ['admin'];

export interface ApiKeyEntry {
  id: string;
  /** `scrypt$<N>$<r>$<p>$<salt base64url>$<hash base64url>` */
  hash: string;
  tenants: string[];
  /** Absent or empty: search only. */
  scopes?: ApiKeyScope[];
  rateLimit?: RateLimit;
  label?: string;
  created: string;
}

export interface NewApiKey {
  /** Shown once; only its hash is stored. */
  key: string;
  entry: ApiKeyEntry;
}

export async function createApiKey(options: {
  tenants: string[];
  scopes?: ApiKeyScope[];
  rateLimit?: RateLimit;
  label?: string;
}): Promise<NewApiKey> {
  if (options.tenants.length === 0) throw new Error('an API key needs at least one tenant');
  for (const tenant of options.tenants) {
    if (!TENANT_PATTERN.test(tenant)) throw new Error(`tenant "${tenant}" must match ${String(TENANT_PATTERN)}`);
  }
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const salt = randomBytes(SCRYPT.saltLength);
  const hash = await scryptAsync(secret, salt, SCRYPT.keyLength, scryptOptions(SCRYPT.N, SCRYPT.r, SCRYPT.p));
  const entry: ApiKeyEntry = {
    id,
    hash: `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64url')}$${hash.toString('base64url')}`,
    tenants: [...new Set(options.tenants)],
    ...(options.scopes && options.scopes.length > 0 ? { scopes: [...new Set(options.scopes)] } : {}),
    ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
    ...(options.label ? { label: options.label } : {}),
    created: new Date().toISOString(),
  };
  return { key: `${API_KEY_PREFIX}${id}_${secret}`, entry };
}

export function parseApiKey(presented: string): { id: string; secret: string } | null {
  const match = KEY_PATTERN.exec(presented);
  return match ? { id: match[1]!, secret: match[2]! } : null;
}

/** The keys file's text -> entries; throws a ConfigError `invalid-keys-file` naming the line of the first problem. */
export function parseKeysFile(text: string, source: string, setting: string): ApiKeyEntry[] {
  const entries: ApiKeyEntry[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const fail = (message: string): never => {
      throw new ConfigError(setting, `${source} line ${index + 1}: ${message}`, { code: 'invalid-keys-file' });
    };
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (error) {
      fail(`not JSON (${(error as Error).message})`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('must be a JSON object');
    const entry = raw as Record<string, unknown>;
    if (typeof entry.id !== 'string' || !KEY_ID_PATTERN.test(entry.id)) fail('id must be 16 hex digits');
    if (typeof entry.hash !== 'string' || parseHash(entry.hash) === null) fail('hash must be scrypt$N$r$p$salt$hash');
    if (!Array.isArray(entry.tenants) || entry.tenants.length === 0) fail('tenants must be a non-empty array');
    for (const tenant of entry.tenants as unknown[]) {
      if (typeof tenant !== 'string' || !TENANT_PATTERN.test(tenant))
        fail(`tenant ${JSON.stringify(tenant)} must match ${String(TENANT_PATTERN)}`);
    }
    if (
      entry.scopes !== undefined &&
      (!Array.isArray(entry.scopes) ||
        !(entry.scopes as unknown[]).every((scope) => (API_KEY_SCOPES as readonly unknown[]).includes(scope)))
    ) {
      fail(`scopes must be an array of ${API_KEY_SCOPES.map((scope) => JSON.stringify(scope)).join(', ')}`);
    }
    if (entry.rateLimit !== undefined) {
      const limit = entry.rateLimit as Record<string, unknown> | null;
      const positive = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v > 0;
      if (
        typeof limit !== 'object' ||
        limit === null ||
        !positive(limit.perSecond) ||
        !positive(limit.burst) ||
        (limit.burst as number) < 1
      ) {
        fail('rateLimit must be { perSecond: number > 0, burst: number >= 1 }');
      }
    }
    const id = entry.id as string;
    if (seen.has(id)) fail(`key id ${id} appears twice`);
    seen.add(id);
    entries.push({
      id,
      hash: entry.hash as string,
      tenants: entry.tenants as string[],
      ...(Array.isArray(entry.scopes) && entry.scopes.length > 0 ? { scopes: entry.scopes as ApiKeyScope[] } : {}),
      ...(entry.rateLimit !== undefined ? { rateLimit: entry.rateLimit as RateLimit } : {}),
      ...(typeof entry.label === 'string' ? { label: entry.label } : {}),
      created: typeof entry.created === 'string' ? entry.created : '',
    });
  });
  return entries;
}

export async function readKeysFile(path: string, setting: string): Promise<ApiKeyEntry[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new ConfigError(setting, `the keys file ${path} does not exist (create a key with \`searchbus gateway key add\`)`, {
        code: 'keys-file-missing',
      });
    throw new ConfigError(setting, `cannot read the keys file ${path}: ${(error as Error).message}`, {
      code: 'keys-file-unreadable',
      cause: error,
    });
  }
  return parseKeysFile(text, path, setting);
}

/** Appends one entry; creates the file (mode 0600) when missing. */
export async function appendKey(path: string, entry: ApiKeyEntry, setting: string): Promise<void> {
  const existing = await readKeysFile(path, setting).catch((error: unknown) => {
    if (hasErrorCode(error, 'keys-file-missing')) return [];
    throw error;
  });
  await writeKeys(path, [...existing, entry]);
}

/** Removes a key; false when there is no such id. */
export async function revokeKey(path: string, id: string, setting: string): Promise<boolean> {
  const entries = await readKeysFile(path, setting);
  const kept = entries.filter((e) => e.id !== id);
  if (kept.length === entries.length) return false;
  await writeKeys(path, kept);
  return true;
}

// Written whole and renamed into place, so a gateway reloading the file never reads half of it.
async function writeKeys(path: string, entries: ApiKeyEntry[]): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, entries.map((e) => `${JSON.stringify(e)}\n`).join(''), { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, path);
}

interface ParsedHash {
  options: ScryptOptions;
  salt: Buffer;
  hash: Buffer;
}

function parseHash(text: string): ParsedHash | null {
  const parts = text.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((n) => Number.isSafeInteger(n) && n > 0) || (N & (N - 1)) !== 0 || N > 2 ** 20 || r > 32 || p > 16) return null;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const hash = Buffer.from(parts[5]!, 'base64url');
  if (salt.length < 8 || hash.length < 16) return null;
  return { options: scryptOptions(N, r, p), salt, hash };
}

/**
 * Entries by id, each checked with scrypt the first time its key is shown. A key that passed is
 * remembered by its SHA-256 so later requests cost a hash, not a KDF (the secret has 256 bits of
 * entropy, so the digest reveals nothing a brute force could use). Wrong secrets are never
 * remembered: each one pays the full scrypt, on the thread pool, off the event loop.
 */
export class ApiKeyStore {
  private byId = new Map<string, { entry: ApiKeyEntry; hash: ParsedHash }>();
  private verified = new Map<string, Buffer>();

  constructor(entries: readonly ApiKeyEntry[] = []) {
    this.replace(entries);
  }

  get size(): number {
    return this.byId.size;
  }

  /** Swaps in a new set of entries (a reload); a revoked or changed key stops working at once. */
  replace(entries: readonly ApiKeyEntry[]): void {
    const next = new Map<string, { entry: ApiKeyEntry; hash: ParsedHash }>();
    for (const entry of entries) {
      const hash = parseHash(entry.hash);
      if (hash) next.set(entry.id, { entry, hash });
    }
    const verified = new Map<string, Buffer>();
    for (const [id, digest] of this.verified) {
      if (next.get(id)?.entry.hash === this.byId.get(id)?.entry.hash) verified.set(id, digest);
    }
    this.byId = next;
    this.verified = verified;
  }

  /** The entry a presented key belongs to, or null for an unknown, malformed or wrong key. */
  async verify(presented: string): Promise<ApiKeyEntry | null> {
    const parsed = parseApiKey(presented);
    if (!parsed) return null;
    const found = this.byId.get(parsed.id);
    if (!found) return null;
    const digest = createHash('sha256').update(presented).digest();
    const known = this.verified.get(parsed.id);
    if (known) return timingSafeEqual(known, digest) ? found.entry : null;
    const { options, salt, hash } = found.hash;
    const computed = await scryptAsync(parsed.secret, salt, hash.length, options);
    if (!timingSafeEqual(computed, hash)) return null;
    // The store may have been reloaded while scrypt ran.
    if (this.byId.get(parsed.id) === found) this.verified.set(parsed.id, digest);
    return found.entry;
  }
}

/** scrypt needs 128·N·r bytes; Node's default cap (32 MiB) is just below that for N=2^15, r=8. */
function scryptOptions(N: number, r: number, p: number): ScryptOptions {
  return { N, r, p, maxmem: 2 * 128 * N * r };
}

function scryptAsync(secret: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(secret, salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key))));
}

/**
 * Loads the keys file into the store (throwing, at start-up, if it cannot be used), then re-reads
 * it whenever it changes, so `key add` and `key revoke` need no restart. A broken file met on a
 * reload keeps the keys loaded before it and is reported once per change. close() stops watching
 * (idempotent).
 */
export async function loadAndWatchKeysFile(options: {
  path: string;
  setting: string;
  store: ApiKeyStore;
  intervalMs: number;
  onReload: (count: number) => void;
  onError: (error: Error) => void;
}): Promise<{ close(): void }> {
  let last = '';
  const check = async (): Promise<void> => {
    const info = await stat(options.path).catch(() => null);
    const signature = info ? `${info.mtimeMs}:${info.size}:${info.ino}` : 'missing';
    if (signature === last) return;
    const first = last === '';
    last = signature;
    const entries = await readKeysFile(options.path, options.setting);
    options.store.replace(entries);
    if (!first) options.onReload(entries.length);
  };
  await check();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    check()
      .catch((error: unknown) => options.onError(error as Error))
      .finally(() => (busy = false));
  }, options.intervalMs);
  timer.unref();
  return { close: () => clearInterval(timer) };
}
