// tree-sitter (npm `web-tree-sitter`, WebAssembly) with prebuilt grammars from npm: the grammars VS
// Code ships in `@vscode/tree-sitter-wasm` (built with the same tree-sitter 0.25 as the runtime) and
// C's own package `tree-sitter-c`. Each grammar loads once per process, on first use.
import { createRequire } from 'node:module';
import { Language, Parser, type Node, type Tree } from 'web-tree-sitter';
import type { CodeLanguage } from '../../../topology/index.ts';

export type { Node as SyntaxNode } from 'web-tree-sitter';

const resolve = createRequire(import.meta.url).resolve;

const GRAMMAR_FILES: Readonly<Record<CodeLanguage, string>> = {
  typescript: '@vscode/tree-sitter-wasm/wasm/tree-sitter-typescript.wasm',
  tsx: '@vscode/tree-sitter-wasm/wasm/tree-sitter-tsx.wasm',
  javascript: '@vscode/tree-sitter-wasm/wasm/tree-sitter-javascript.wasm',
  python: '@vscode/tree-sitter-wasm/wasm/tree-sitter-python.wasm',
  go: '@vscode/tree-sitter-wasm/wasm/tree-sitter-go.wasm',
  rust: '@vscode/tree-sitter-wasm/wasm/tree-sitter-rust.wasm',
  java: '@vscode/tree-sitter-wasm/wasm/tree-sitter-java.wasm',
  c: 'tree-sitter-c/tree-sitter-c.wasm',
  cpp: '@vscode/tree-sitter-wasm/wasm/tree-sitter-cpp.wasm',
};

/** The runtime and grammar versions: recorded in every code point's payload (`media.model`). */
export const CODE_PARSER_ID = 'web-tree-sitter-0.25.10';

let runtime: Promise<void> | null = null;
const parsers = new Map<CodeLanguage, Promise<Parser>>();

/** A parser of `language`, its grammar loaded on first use. */
function codeParser(language: CodeLanguage): Promise<Parser> {
  let parser = parsers.get(language);
  if (!parser) {
    runtime ??= Parser.init();
    parser = runtime.then(async () => {
      const loaded = new Parser();
      loaded.setLanguage(await Language.load(resolve(GRAMMAR_FILES[language])));
      return loaded;
    });
    // A failed load is not cached: the next document tries again.
    parser.catch(() => parsers.delete(language));
    parsers.set(language, parser);
  }
  return parser;
}

/** Parses `text` and hands its root to `use`; the tree (WebAssembly memory) is freed afterwards. */
export async function withSyntaxTree<T>(language: CodeLanguage, text: string, use: (root: Node) => T): Promise<T> {
  const parser = await codeParser(language);
  const tree: Tree | null = parser.parse(text);
  if (!tree) throw new TypeError(`tree-sitter returned no tree for a ${language} text`);
  try {
    return use(tree.rootNode);
  } finally {
    tree.delete();
  }
}
