// The programming languages whose source files are documents: each language's file extensions, its
// MIME type (how an ingest message's `media.type` names it) and the tree-sitter grammar that reads it.
// A code file's chunks are its functions and classes (consumers/embedding/code).

export const CODE_LANGUAGES = ['typescript', 'tsx', 'javascript', 'python', 'go', 'rust', 'java', 'c', 'cpp'] as const;
export type CodeLanguage = (typeof CODE_LANGUAGES)[number];

/** MIME type of each language's source files. */
export const CODE_TYPES: Readonly<Record<CodeLanguage, string>> = {
  typescript: 'text/x-typescript',
  tsx: 'text/x-tsx',
  javascript: 'text/javascript',
  python: 'text/x-python',
  go: 'text/x-go',
  rust: 'text/x-rust',
  java: 'text/x-java',
  c: 'text/x-c',
  cpp: 'text/x-c++',
};

/** File extension -> MIME type of the source files `searchbus ingest <folder>` parses as code. */
export const CODE_EXTENSIONS: Readonly<Record<string, string>> = {
  '.ts': CODE_TYPES.typescript,
  '.mts': CODE_TYPES.typescript,
  '.cts': CODE_TYPES.typescript,
  '.tsx': CODE_TYPES.tsx,
  '.js': CODE_TYPES.javascript,
  '.mjs': CODE_TYPES.javascript,
  '.cjs': CODE_TYPES.javascript,
  '.jsx': CODE_TYPES.javascript,
  '.py': CODE_TYPES.python,
  '.go': CODE_TYPES.go,
  '.rs': CODE_TYPES.rust,
  '.java': CODE_TYPES.java,
  '.c': CODE_TYPES.c,
  '.h': CODE_TYPES.c,
  '.cc': CODE_TYPES.cpp,
  '.cpp': CODE_TYPES.cpp,
  '.cxx': CODE_TYPES.cpp,
  '.hh': CODE_TYPES.cpp,
  '.hpp': CODE_TYPES.cpp,
  '.hxx': CODE_TYPES.cpp,
};

const BY_TYPE: ReadonlyMap<string, CodeLanguage> = new Map(CODE_LANGUAGES.map((language) => [CODE_TYPES[language], language]));

/** The language of a source file's MIME type (parameters ignored), else undefined. */
export function codeLanguageOf(type: string): CodeLanguage | undefined {
  return BY_TYPE.get((type.split(';')[0] ?? '').trim().toLowerCase());
}

export function isCodeLanguage(value: unknown): value is CodeLanguage {
  return typeof value === 'string' && (CODE_LANGUAGES as readonly string[]).includes(value);
}
