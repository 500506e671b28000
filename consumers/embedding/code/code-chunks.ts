// A source file -> one segment per function, method or class (by the parser's syntax tree), plus
// the code between them (imports, top-level statements). A class holding methods gives one segment
// per method (symbol `Class.method`) and segments for the rest of its body; a segment longer than
// the model's window is split further by the text chunker, each window keeping its lines. Comments
// directly above a definition (doc comments, decorators) belong to it.
import type { CodeLanguage } from '../../../topology/index.ts';
import { withSyntaxTree, type SyntaxNode } from './code-parser.ts';

export interface CodeSegment {
  text: string;
  /** The function's or class's name (`Class.method` for a method); absent for code between definitions. */
  symbol?: string;
  /** 1-based, inclusive lines of the file. */
  startLine: number;
  endLine: number;
  /** A function, method or class without members, rather than code between them. */
  definition: boolean;
}

type Role = 'function' | 'container';

const C_LIKE: Readonly<Record<string, Role>> = {
  function_definition: 'function',
  class_specifier: 'container',
  struct_specifier: 'container',
  namespace_definition: 'container',
};

const JS_LIKE: Readonly<Record<string, Role>> = {
  function_declaration: 'function',
  generator_function_declaration: 'function',
  method_definition: 'function',
  function_signature: 'function',
  interface_declaration: 'function',
  type_alias_declaration: 'function',
  enum_declaration: 'function',
  class_declaration: 'container',
  abstract_class_declaration: 'container',
  internal_module: 'container',
  // `const f = () => ...`: a function if its value is one (see definitionRole).
  lexical_declaration: 'function',
  variable_declaration: 'function',
};

/** Syntax node types that define something, per language. */
const DEFINITIONS: Readonly<Record<CodeLanguage, Readonly<Record<string, Role>>>> = {
  typescript: JS_LIKE,
  tsx: JS_LIKE,
  javascript: JS_LIKE,
  python: { function_definition: 'function', class_definition: 'container', decorated_definition: 'function' },
  go: { function_declaration: 'function', method_declaration: 'function', type_declaration: 'function' },
  rust: {
    function_item: 'function',
    struct_item: 'function',
    enum_item: 'function',
    trait_item: 'container',
    impl_item: 'container',
    mod_item: 'container',
  },
  java: {
    method_declaration: 'function',
    constructor_declaration: 'function',
    class_declaration: 'container',
    interface_declaration: 'container',
    enum_declaration: 'container',
    record_declaration: 'container',
  },
  c: C_LIKE,
  cpp: { ...C_LIKE, template_declaration: 'function' },
};

const FUNCTION_VALUES = new Set(['arrow_function', 'function_expression', 'function', 'generator_function', 'class']);

/** A definition's role, or null: a JS/TS variable counts only when it holds a function or class, a C struct only with a body. */
function definitionRole(language: CodeLanguage, node: SyntaxNode): Role | null {
  if (node.type === 'export_statement') {
    const declaration = node.childForFieldName('declaration');
    return declaration ? definitionRole(language, declaration) : null;
  }
  const role = DEFINITIONS[language][node.type];
  if (!role) return null;
  if (node.type === 'lexical_declaration' || node.type === 'variable_declaration') {
    const declarators = node.namedChildren.filter((c) => c?.type === 'variable_declarator');
    const value = declarators.length === 1 ? declarators[0]!.childForFieldName('value') : null;
    return value && FUNCTION_VALUES.has(value.type) ? 'function' : null;
  }
  if ((node.type === 'struct_specifier' || node.type === 'class_specifier') && !node.childForFieldName('body')) return null;
  if (node.type === 'decorated_definition') {
    const inner = node.childForFieldName('definition');
    return inner ? definitionRole(language, inner) : 'function';
  }
  return role;
}

/** The definition inside a wrapper: a Python decorator, a JS/TS `export`. */
function unwrap(node: SyntaxNode): SyntaxNode {
  return node.childForFieldName('definition') ?? (node.type === 'export_statement' ? node.childForFieldName('declaration') : null) ?? node;
}

/** A definition's name: its `name` field, or where C declarators and JS variables keep it. */
function symbolOf(node: SyntaxNode): string | undefined {
  const inner = unwrap(node);
  const named = inner.childForFieldName('name');
  if (named) return named.text;
  if (inner.type === 'impl_item') {
    const type = inner.childForFieldName('type')?.text;
    const trait = inner.childForFieldName('trait')?.text;
    return type && trait ? `${trait} for ${type}` : type;
  }
  if (inner.type === 'type_declaration') return inner.namedChildren[0]?.childForFieldName('name')?.text;
  if (inner.type === 'template_declaration') {
    const templated = inner.namedChildren.find((c) => c !== null && c.type !== 'template_parameter_list');
    return templated ? symbolOf(templated) : undefined;
  }
  if (inner.type === 'lexical_declaration' || inner.type === 'variable_declaration') {
    return inner.namedChildren.find((c) => c?.type === 'variable_declarator')?.childForFieldName('name')?.text;
  }
  // C and C++: type declarator(s) ... function_declarator -> declarator (identifier, qualified name).
  let declarator = inner.childForFieldName('declarator');
  while (declarator && declarator.type !== 'function_declarator') declarator = declarator.childForFieldName('declarator');
  return declarator?.childForFieldName('declarator')?.text;
}

/** The body whose children a container's members are. */
function bodyOf(node: SyntaxNode): SyntaxNode {
  const inner = unwrap(node);
  return inner.childForFieldName('body') ?? inner;
}

interface LineRange {
  start: number;
  end: number;
  symbol?: string;
  definition?: true;
}

/**
 * Ranges (0-based rows) of the definitions among `parent`'s children, recursing into containers;
 * a container's own lines outside its members are returned as its `rest`.
 */
function definitionRanges(language: CodeLanguage, parent: SyntaxNode, scope: string | undefined, out: LineRange[]): void {
  let leadingComment: number | null = null;
  let previousEnd = -1;
  for (const child of parent.namedChildren) {
    if (!child) continue;
    const start = child.startPosition.row;
    if (child.type.includes('comment')) {
      // A comment block directly above a definition is its doc comment.
      if (leadingComment === null || start > previousEnd + 1) leadingComment = start;
      previousEnd = child.endPosition.row;
      continue;
    }
    const role = definitionRole(language, child);
    const adjacent = leadingComment !== null && start <= previousEnd + 1 ? leadingComment : start;
    leadingComment = null;
    previousEnd = child.endPosition.row;
    if (!role) continue;
    const name = symbolOf(child);
    const symbol = scope && name ? `${scope}.${name}` : (name ?? scope);
    const range = { start: adjacent, end: child.endPosition.row, ...(symbol !== undefined ? { symbol } : {}) };
    if (role === 'function') {
      out.push({ ...range, definition: true });
      continue;
    }
    const members: LineRange[] = [];
    definitionRanges(language, bodyOf(child), symbol, members);
    if (members.length === 0) {
      out.push({ ...range, definition: true });
      continue;
    }
    out.push(...members);
    // The class's header, fields and closing lines: each run between members as its own segment.
    for (const gap of gaps(range.start, range.end, members)) out.push({ ...gap, ...(symbol !== undefined ? { symbol } : {}) });
  }
}

/** The runs of lines in [start, end] not covered by `covered`. */
function gaps(start: number, end: number, covered: readonly LineRange[]): LineRange[] {
  const runs: LineRange[] = [];
  let line = start;
  for (const range of [...covered].sort((a, b) => a.start - b.start)) {
    if (range.start > line) runs.push({ start: line, end: range.start - 1 });
    line = Math.max(line, range.end + 1);
  }
  if (line <= end) runs.push({ start: line, end });
  return runs;
}

/** A run holding no word (a lone closing brace) is not worth a chunk. */
const HAS_WORD = /[\p{L}\p{N}_]/u;

export async function codeSegments(language: CodeLanguage, text: string): Promise<CodeSegment[]> {
  const lines = text.split('\n');
  const ranges = await withSyntaxTree(language, text, (root) => {
    const found: LineRange[] = [];
    definitionRanges(language, root, undefined, found);
    return [...found, ...gaps(0, lines.length - 1, found)];
  });
  return ranges
    .sort((a, b) => a.start - b.start || a.end - b.end)
    .map((range) => ({
      text: lines.slice(range.start, range.end + 1).join('\n'),
      ...(range.symbol !== undefined ? { symbol: range.symbol } : {}),
      startLine: range.start + 1,
      endLine: range.end + 1,
      definition: range.definition === true,
    }))
    .filter((segment) => HAS_WORD.test(segment.text));
}
