import { readFile } from 'node:fs/promises';
import { DEFAULT_WATCH_THRESHOLD } from '../../topology/index.ts';

// The search page the gateway serves at `/`: three static files from ./page/ (copied beside the
// compiled module by the build), read once at start-up. The HTML is given the gateway's upload
// limit and whether searches need a credential, so the page can say so before the first search, and
// whether it serves /watches (and a watch's default threshold), so the page offers "watch this search" only then.

export interface PageAsset {
  body: Buffer;
  type: string;
}

export interface SearchPage {
  assets: ReadonlyMap<string, PageAsset>;
}

export interface SearchPageSettings {
  /** Largest query file, in bytes; the page shrinks larger photos to fit and refuses larger recordings. */
  uploadMaxBytes: number;
  /** Whether the gateway authenticates callers (API keys or JWTs). */
  credentialRequired: boolean;
  /** Whether the gateway serves /watches; default false. */
  watches?: boolean;
}

const PAGE_DIR = new URL('./page/', import.meta.url);
/** URL path -> file in ./page/ and its content type. */
const FILES: ReadonlyArray<{ path: string; file: string; type: string }> = [
  { path: '/', file: 'index.html', type: 'text/html; charset=utf-8' },
  { path: '/page/search-page.js', file: 'search-page.js', type: 'text/javascript; charset=utf-8' },
  { path: '/page/search-page.css', file: 'search-page.css', type: 'text/css; charset=utf-8' },
];

export async function loadSearchPage(settings: SearchPageSettings): Promise<SearchPage> {
  const assets = new Map<string, PageAsset>();
  for (const { path, file, type } of FILES) {
    let body = await readFile(new URL(file, PAGE_DIR));
    if (file === 'index.html') body = Buffer.from(withSettings(body.toString('utf8'), settings));
    assets.set(path, { body, type });
  }
  return { assets };
}

export function pageAsset(page: SearchPage, pathname: string): PageAsset | undefined {
  return page.assets.get(pathname === '/index.html' ? '/' : pathname);
}

/** Fills the page's `{{name}}` placeholders (numbers and fixed words only: nothing a caller controls). */
export function withSettings(html: string, settings: SearchPageSettings): string {
  const values: Record<string, string> = {
    uploadMaxBytes: String(settings.uploadMaxBytes),
    credential: settings.credentialRequired ? 'required' : 'none',
    watches: settings.watches === true ? 'on' : 'off',
    watchThreshold: String(DEFAULT_WATCH_THRESHOLD),
  };
  return html.replace(/\{\{(\w+)\}\}/g, (placeholder, name: string) => values[name] ?? placeholder);
}
