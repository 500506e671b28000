import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

// The metric names a Grafana dashboard's PromQL uses, and the names a /metrics page exports, so a
// test can show that the dashboard asks for nothing the roles do not export.

export const DASHBOARD_PATH = fileURLToPath(new URL('../../infra/grafana/searchbus.json', import.meta.url));

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'and',
  'or',
  'unless',
  'inf',
  'nan',
]);

/** Metric names in one PromQL expression: identifiers that are not functions, keywords or labels. */
export function promqlMetricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, ' ') // string literals
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // range selectors
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\$\{?\w+\}?/g, ' '); // dashboard variables
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(?=\s*(\(?))/g)) {
    const name = match[0];
    if (match[1] === '(' || KEYWORDS.has(name.toLowerCase())) continue;
    if (/^\d/.test(name)) continue;
    names.add(name);
  }
  return [...names];
}

/** Every PromQL expression of a dashboard: panel targets (rows included) and query variables. */
export function dashboardExpressions(dashboard: unknown): string[] {
  const found: string[] = [];
  const visit = (node: unknown, key: string): void => {
    if (typeof node === 'string') {
      if (key === 'expr' || key === 'query' || key === 'definition') found.push(node);
      return;
    }
    if (Array.isArray(node)) {
      for (const item of node) visit(item, key);
      return;
    }
    if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) visit(v, k);
  };
  const d = dashboard as { panels?: unknown; templating?: { list?: Array<{ type?: string; query?: unknown; definition?: unknown }> } };
  visit(d.panels, '');
  for (const variable of d.templating?.list ?? [])
    if (variable.type === 'query') visit({ query: variable.query, definition: variable.definition }, '');
  return found.map((e) => e.replace(/^label_values\(\s*([^,)]+)\s*,[^)]*\)$/, '$1'));
}

export async function dashboardMetricNames(path = DASHBOARD_PATH): Promise<string[]> {
  const dashboard: unknown = JSON.parse(await readFile(path, 'utf8'));
  return [...new Set(dashboardExpressions(dashboard).flatMap(promqlMetricNames))].sort();
}

/** Names a Prometheus text page exports: every sample's name, and each declared family with its histogram/summary series. */
export function exportedMetricNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      const [, name = '', kind] = type;
      names.add(name);
      if (kind === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
      if (kind === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
    } else if (line && !line.startsWith('#')) {
      names.add(line.split(/[{ ]/, 1)[0] ?? '');
    }
  }
  names.delete('');
  return names;
}
