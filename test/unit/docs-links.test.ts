import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

// Every relative link and anchor in README.md and docs/**/*.md must resolve: a link to a file or
// folder names one that exists, and `#anchor` (in the same page or another .md file) names a
// heading there, by GitHub's slug rules, or an HTML id. Links with a scheme (https:, mailto:) are
// not fetched.
//
// Why a parser of our own: no markdown parser or slugger is among the dependencies (not marked,
// github-slugger, remark/mdast or micromark), and adding one is a devDependency decision. So this
// is a small parser for what these pages use, written carefully against CommonMark/GFM:
// - fenced code blocks (``` and ~~~, closed by a fence of the same character at least as long),
//   inline code spans and HTML comments are not scanned for links;
// - inline links and images `[text](dest "title")`, `<dest>` destinations, one level of brackets
//   inside the text, backslash escapes; reference links `[text][ref]` / `[ref][]` and their
//   definitions `[ref]: dest`; raw HTML `href="…"` and `src="…"`;
// - ATX headings (`## Text`, optional closing #s) and setext headings (a paragraph line underlined
//   with = or -); `id="…"` / `name="…"` in raw HTML as anchors too;
// - slugs as github-slugger 2.0 makes them (GitHub's own rule): the heading's rendered text (code
//   spans, links and images reduced to their text, emphasis markers dropped), lower-cased, every
//   character removed that is not a letter, mark, decimal or letter number, connector punctuation
//   (`_`), `-` or a space, spaces turned into `-`, and `-1`, `-2`, … appended to repeats.
// Indented code blocks are not recognised (these pages use fences), so a link in one would be
// checked: that fails safe.

export interface DocLink {
  file: string;
  line: number;
  target: string;
}

interface ParsedMarkdown {
  anchors: Set<string>;
  links: DocLink[];
}

/** GitHub's slug of a heading's rendered text, before the repeat suffix. */
export function githubSlug(renderedText: string): string {
  return renderedText
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{Nd}\p{Nl}\p{Pc}\p{Alphabetic} -]/gu, '')
    .replace(/ /g, '-');
}

/** The text GitHub renders for a heading's markdown source (what the slug is made from). */
export function headingText(source: string): string {
  let text = source;
  text = text.replace(/(`+)([\s\S]*?[^`])\1(?!`)/g, (_m, _ticks: string, code: string) => code.replace(/^ (.*) $/, '$1'));
  text = text.replace(/!\[((?:[^[\]]|\[[^[\]]*\])*)\]\([^)]*\)/g, '$1');
  text = text.replace(/\[((?:[^[\]]|\[[^[\]]*\])*)\]\([^)]*\)/g, '$1');
  text = text.replace(/\[((?:[^[\]]|\[[^[\]]*\])*)\]\[[^\]]*\]/g, '$1');
  text = text.replace(/<(https?:[^>\s]+)>/g, '$1');
  text = text.replace(/<\/?[A-Za-z][^>]*>/g, '');
  // Emphasis markers: * always (a symbol the slug drops anyway), _ only at the edge of a word.
  text = text.replace(/\*+/g, '');
  text = text.replace(/(^|[^\p{L}\p{N}])_+(?=\S)/gu, '$1').replace(/(?<=\S)_+(?=$|[^\p{L}\p{N}_])/gu, '');
  text = text.replace(/\\([!-/:-@[-`{-~])/g, '$1');
  text = text.replace(/&(amp|lt|gt|quot|#39);/g, (_m, name: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[name] ?? '');
  return text.trim();
}

/** Replaces every character of `s` but newlines with spaces (keeps offsets and line numbers). */
const blank = (s: string): string => s.replace(/[^\n]/g, ' ');

export function parseMarkdown(file: string, text: string): ParsedMarkdown {
  const lines = text.split('\n');
  // 1. Fenced code blocks out, line by line.
  let fence: { char: string; length: number } | null = null;
  const prose = lines.map((line) => {
    const open = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (fence === null) {
      if (open?.[1] && !(open[1][0] === '`' && line.slice(open.index + open[0].length).includes('`'))) {
        fence = { char: open[1][0] ?? '`', length: open[1].length };
        return '';
      }
      return line;
    }
    const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(line);
    if (close?.[1] && close[1][0] === fence.char && close[1].length >= fence.length) fence = null;
    return '';
  });
  // 2. HTML comments out (offsets kept): neither their headings nor their links count.
  const visible = prose.join('\n').replace(/<!--[\s\S]*?-->/g, blank);
  const proseLines = visible.split('\n');
  // Escaped characters and (below) code spans are blanked only for finding links.
  const body = visible.replace(/\\[!-/:-@[-`{-~]/g, '  ');
  const lineOf = (offset: number): number => body.slice(0, offset).split('\n').length;

  // 3. Headings and HTML ids (headings keep their code spans and escapes for their text).
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const addHeading = (source: string): void => {
    const base = githubSlug(headingText(source));
    let slug = base;
    // github-slugger: a repeat gets -1, -2, …, skipping any slug already taken.
    while (seen.has(slug)) {
      const count = (seen.get(base) ?? 0) + 1;
      seen.set(base, count);
      slug = `${base}-${count}`;
    }
    seen.set(slug, 0);
    anchors.add(slug);
  };
  proseLines.forEach((line, i) => {
    const atx = /^ {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/.exec(line);
    if (atx) return addHeading(atx[1] ?? '');
    const previous = proseLines[i - 1];
    if (
      i > 0 &&
      /^ {0,3}(=+|-+)[ \t]*$/.test(line) &&
      previous !== undefined &&
      /^ {0,3}[^\s#>|*+\-\d<`~]/.test(previous) &&
      (proseLines[i - 2] ?? '').trim() === ''
    ) {
      addHeading(previous.trim());
    }
  });
  for (const m of body.matchAll(/<[A-Za-z][^>]*?\s(?:id|name)\s*=\s*["']([^"']+)["'][^>]*>/g)) if (m[1]) anchors.add(m[1]);

  // 4. Links. Code spans become filler so that `[`x`](y)` is still a link but `[a](b)` inside code is not.
  const scan = body.replace(/(`+)([^\n]|\n(?!\s*\n))*?\1(?!`)/g, (m) => m.replace(/[^\n]/g, 'x'));
  const links: DocLink[] = [];
  const definitions = new Map<string, string>();
  for (const m of scan.matchAll(/^ {0,3}\[([^\]\n]+)\]:[ \t]*(<[^>\n]*>|\S+)/gm)) {
    const target = (m[2] ?? '').replace(/^<|>$/g, '');
    definitions.set(normaliseLabel(m[1] ?? ''), target);
    links.push({ file, line: lineOf(m.index), target });
  }
  const inline = /!?\[((?:[^[\]]|\[[^[\]]*\])*)\]\([ \t\n]*(<[^>\n]*>|[^\s)]*)(?:[ \t\n]+(?:"[^"]*"|'[^']*'|\([^)]*\)))?[ \t\n]*\)/g;
  for (const m of scan.matchAll(inline)) links.push({ file, line: lineOf(m.index), target: (m[2] ?? '').replace(/^<|>$/g, '') });
  const withoutInline = scan.replace(inline, blank);
  for (const m of withoutInline.matchAll(/\[((?:[^[\]]|\[[^[\]]*\])+)\]\[([^\]\n]*)\]/g)) {
    const label = normaliseLabel(m[2] === '' ? (m[1] ?? '') : (m[2] ?? ''));
    const target = definitions.get(label);
    links.push({ file, line: lineOf(m.index), target: target ?? `[undefined reference "${label}"]` });
  }
  for (const m of scan.matchAll(/<(?:a|img|link|script|source)\b[^>]*?\s(?:href|src)\s*=\s*["']([^"']*)["']/gi)) {
    links.push({ file, line: lineOf(m.index), target: m[1] ?? '' });
  }
  return { anchors, links };
}

const normaliseLabel = (label: string): string => label.trim().replace(/\s+/g, ' ').toLowerCase();

/**
 * Every problem with the links of `files` (paths relative to `root`): a missing file or folder, a
 * link out of the repository, an anchor no heading makes, an undefined reference. Empty when all resolve.
 */
export function checkLinks(root: string, files: readonly string[]): string[] {
  const problems: string[] = [];
  const parsed = new Map<string, ParsedMarkdown>();
  const parse = (absolute: string): ParsedMarkdown => {
    let result = parsed.get(absolute);
    if (!result) {
      result = parseMarkdown(relative(root, absolute), readFileSync(absolute, 'utf8'));
      parsed.set(absolute, result);
    }
    return result;
  };
  for (const file of files) {
    const absolute = resolve(root, file);
    for (const link of parse(absolute).links) {
      const where = `${link.file}:${link.line}`;
      const { target } = link;
      if (target.startsWith('[undefined reference')) {
        problems.push(`${where}: ${target.slice(1, -1)}`);
        continue;
      }
      if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(target) || target.startsWith('//')) continue; // https:, mailto:, …
      const hash = target.indexOf('#');
      let pathPart = hash >= 0 ? target.slice(0, hash) : target;
      const fragmentRaw = hash >= 0 ? target.slice(hash + 1) : '';
      pathPart = pathPart.replace(/\?.*$/, '');
      let path: string;
      let fragment: string;
      try {
        path = decodeURIComponent(pathPart);
        fragment = decodeURIComponent(fragmentRaw);
      } catch {
        problems.push(`${where}: "${target}" is not valid percent-encoding`);
        continue;
      }
      if (target === '') {
        problems.push(`${where}: empty link`);
        continue;
      }
      const resolved = path === '' ? absolute : path.startsWith('/') ? join(root, path) : resolve(dirname(absolute), path);
      if (resolved !== root && !resolved.startsWith(root + sep)) {
        problems.push(`${where}: "${target}" points outside the repository`);
        continue;
      }
      if (!existsSync(resolved)) {
        problems.push(`${where}: "${target}": no such file or folder (${relative(root, resolved)})`);
        continue;
      }
      if (hash < 0) continue;
      if (resolved.endsWith('.md') && statSync(resolved).isFile()) {
        if (fragment !== '' && !parse(resolved).anchors.has(fragment)) {
          problems.push(`${where}: "${target}": no heading or id makes the anchor #${fragment} in ${relative(root, resolved)}`);
        }
      } else if (!/^L\d+(-L\d+)?$/.test(fragment)) {
        problems.push(
          `${where}: "${target}": an anchor into ${relative(root, resolved)}, which is not a markdown file (only #L<line> anchors are checked there)`,
        );
      }
    }
  }
  return problems;
}

/** README.md and every .md file under docs/, relative to `root`. */
export function docFiles(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.md')) found.push(path);
    }
  };
  if (existsSync(join(root, 'docs'))) walk('docs');
  return ['README.md', ...found.sort()];
}

const ROOT = resolve(fileURLToPath(new URL('../../', import.meta.url)));

describe('docs links', () => {
  it('every relative link and anchor in README.md and docs/ resolves', () => {
    const files = docFiles(ROOT);
    assert.ok(files.length > 1, 'docs/ holds pages');
    assert.deepEqual(checkLinks(ROOT, files), []);
  });

  it('every page under docs/ is linked from another page (none is orphaned)', () => {
    const files = docFiles(ROOT);
    const linked = new Set<string>();
    for (const file of files) {
      for (const link of parseMarkdown(file, readFileSync(join(ROOT, file), 'utf8')).links) {
        if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(link.target)) continue;
        const path = link.target.split('#')[0] ?? '';
        if (path !== '') linked.add(relative(ROOT, resolve(ROOT, dirname(file), decodeURIComponent(path))));
      }
    }
    assert.deepEqual(
      files.filter((f) => f !== 'README.md' && !linked.has(f)),
      [],
    );
  });
});

describe('the link checker itself', () => {
  it("makes GitHub's slugs", () => {
    const slug = (source: string): string => githubSlug(headingText(source));
    assert.equal(slug('Benchmark report (`npm run bench`)'), 'benchmark-report-npm-run-bench');
    assert.equal(slug('Media retrieval (`test/bench/media-retrieval.ts`)'), 'media-retrieval-testbenchmedia-retrievalts');
    assert.equal(slug('Admin endpoints: eval sets and gated rebuilds'), 'admin-endpoints-eval-sets-and-gated-rebuilds');
    assert.equal(slug('`topology apply` and drift'), 'topology-apply-and-drift');
    assert.equal(slug("A search without searchbus' client"), 'a-search-without-searchbus-client');
    assert.equal(slug('Throughput × baseline → 2.0'), 'throughput--baseline--20');
    assert.equal(slug('SEARCHBUS_MODEL and **bold** _words_'), 'searchbus_model-and-bold-words');
    assert.equal(slug('See [the page](other.md#x) and ![logo](logo.png)'), 'see-the-page-and-logo');
    assert.equal(slug('Übersicht, naïve café'), 'übersicht-naïve-café');
    assert.equal(slug('Emoji 🚀 gone'), 'emoji--gone');
  });

  it('finds a broken link, a broken anchor in the same page and in another, and an undefined reference, and nothing else', () => {
    const root = mkdtempSync(join(tmpdir(), 'docs-links-'));
    try {
      mkdirSync(join(root, 'docs', 'ops'), { recursive: true });
      writeFileSync(join(root, 'code.ts'), '');
      writeFileSync(
        join(root, 'README.md'),
        [
          '# Title',
          '',
          'See [the guide](docs/guide.md), [its setup](docs/guide.md#set-up-quickly) and [config](docs/ops/config.md#the-x-setting).',
          'A [missing page](docs/nope.md), a [wrong anchor](docs/guide.md#no-such-heading) and [here](#nothing-here).',
          'Fine: [top](#title), [code](code.ts), [lines](code.ts#L3-L5), [folder](docs/ops), [web](https://example.com/#x).',
          'Wrapped: [a link over',
          'two lines](docs/guide.md#repeat-1).',
          'Ignored: `[not a link](nowhere.md)` and <!-- [nor this](gone.md) -->.',
          '',
          '```md',
          '[inside a fence](fenced.md)',
          '```',
          '',
          'Reference: [ok][guide] and [broken][nodef].',
          '',
          '[guide]: docs/guide.md#repeat',
        ].join('\n'),
      );
      writeFileSync(
        join(root, 'docs', 'guide.md'),
        [
          '# Guide',
          '',
          '## Set up quickly',
          '',
          '## Repeat',
          '',
          '## Repeat',
          '',
          'Back [up](../README.md#title) or [broken](../README.md#titel).',
          '',
          'Setext heading',
          '---',
          '',
          '<a id="custom"></a>[self](#custom) [setext](#setext-heading)',
        ].join('\n'),
      );
      writeFileSync(
        join(root, 'docs', 'ops', 'config.md'),
        '# Config\n\n### The `X` setting\n\n[up](../../code.ts) [gone](../../gone.ts) [out](../../../outside.md)\n',
      );

      const problems = checkLinks(root, docFiles(root));
      const expected = [
        'README.md:4: "docs/nope.md": no such file or folder (docs/nope.md)',
        'README.md:4: "docs/guide.md#no-such-heading": no heading or id makes the anchor #no-such-heading in docs/guide.md',
        'README.md:4: "#nothing-here": no heading or id makes the anchor #nothing-here in README.md',
        'README.md:14: undefined reference "nodef"',
        'docs/guide.md:9: "../README.md#titel": no heading or id makes the anchor #titel in README.md',
        'docs/ops/config.md:5: "../../gone.ts": no such file or folder (gone.ts)',
        'docs/ops/config.md:5: "../../../outside.md" points outside the repository',
      ];
      assert.deepEqual([...problems].sort(), [...expected].sort());
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
