// Query variants for the code retrieval benchmark, made on the tree-sitter tree of a function:
// independent statements swapped where safe, comments (and Python docstrings) removed, local names
// renamed, and the code re-spaced and re-indented. What a copy-paste-and-tidy leaves of a function.
import { withSyntaxTree, type SyntaxNode } from '../../../consumers/embedding/index.ts';

export type VariantLanguage = 'javascript' | 'python';

/** Node types printed as they are: their inner text is not code. */
const ATOMIC = new Set(['string', 'template_string', 'regex', 'concatenated_string']);
/** Anything that may have an effect: statements holding one are never moved. */
const EFFECTS = /call|new_expression|assignment|update_expression|await|yield|augmented/;

function descendants(node: SyntaxNode, visit: (n: SyntaxNode) => void): void {
  visit(node);
  for (const child of node.namedChildren) if (child) descendants(child, visit);
}

/** Names a statement binds (`const a = …`, `a = …`). */
function boundNames(statement: SyntaxNode, language: VariantLanguage): string[] {
  if (language === 'javascript') {
    if (statement.type !== 'lexical_declaration' && statement.type !== 'variable_declaration') return [];
    return statement.namedChildren
      .map((d) => d?.childForFieldName('name'))
      .filter((n) => n?.type === 'identifier')
      .map((n) => n!.text);
  }
  const inner = statement.type === 'expression_statement' ? statement.namedChildren[0] : null;
  const left = inner?.type === 'assignment' ? inner.childForFieldName('left') : null;
  return left?.type === 'identifier' ? [left.text] : [];
}

function usedNames(node: SyntaxNode): Set<string> {
  const names = new Set<string>();
  descendants(node, (n) => n.type === 'identifier' && names.add(n.text));
  return names;
}

/** Whether two adjacent statements can change places: plain bindings, no effects, neither reading the other's name. */
function independent(a: SyntaxNode, b: SyntaxNode, language: VariantLanguage): boolean {
  const boundA = boundNames(a, language);
  const boundB = boundNames(b, language);
  if (boundA.length === 0 || boundB.length === 0) return false;
  const value = (s: SyntaxNode): string => (language === 'javascript' ? s.text.replace(/^[^=]*=/, '') : s.text.replace(/^[^=]*=/, ''));
  if (EFFECTS.test(descendantTypes(a, language)) || EFFECTS.test(descendantTypes(b, language))) return false;
  const usesA = usedNames(a);
  const usesB = usedNames(b);
  return !boundA.some((n) => usesB.has(n)) && !boundB.some((n) => usesA.has(n)) && value(a) !== value(b);
}

function descendantTypes(statement: SyntaxNode, language: VariantLanguage): string {
  const types: string[] = [];
  // A Python assignment statement is itself an `assignment`; only what is inside its value counts.
  const root = language === 'python' ? (statement.namedChildren[0]?.childForFieldName('right') ?? statement) : statement;
  descendants(root, (n) => types.push(n.type));
  if (language === 'javascript') types.splice(0, 1);
  return types.join(' ');
}

/** The text with the first swappable pair of statements of every block swapped. */
async function reorder(language: VariantLanguage, text: string): Promise<{ text: string; swaps: number }> {
  const swaps: Array<[SyntaxNode, SyntaxNode]> = [];
  const ranges = await withSyntaxTree(language, text, (root) => {
    descendants(root, (node) => {
      if (node.type !== 'statement_block' && node.type !== 'block') return;
      const statements = node.namedChildren.filter((c): c is SyntaxNode => c !== null && !c.type.includes('comment'));
      for (let i = 0; i + 1 < statements.length; i++) {
        const [a, b] = [statements[i]!, statements[i + 1]!];
        if (a.endPosition.row < b.startPosition.row && independent(a, b, language)) {
          swaps.push([a, b]);
          break;
        }
      }
    });
    return swaps.map(([a, b]) => ({ a: [a.startIndex, a.endIndex], b: [b.startIndex, b.endIndex] }));
  });
  // Offsets are UTF-16 here only for ASCII; functions with other characters are not reordered.
  if (!/^[\x00-\x7f]*$/.test(text)) return { text, swaps: 0 };
  let out = text;
  for (const { a, b } of ranges.sort((x, y) => y.a[0]! - x.a[0]!)) {
    const [as, ae, bs, be] = [a[0]!, a[1]!, b[0]!, b[1]!];
    out = out.slice(0, as) + out.slice(bs, be) + out.slice(ae, bs) + out.slice(as, ae) + out.slice(be);
  }
  return { text: out, swaps: ranges.length };
}

/** Identifiers a function declares: its name, parameters and local bindings. */
function localNames(root: SyntaxNode, language: VariantLanguage): Set<string> {
  const names = new Set<string>();
  descendants(root, (node) => {
    if (node.type !== 'identifier') return;
    const parent = node.parent;
    if (!parent) return;
    const field = (name: string): boolean => parent.childForFieldName(name)?.id === node.id;
    if (language === 'javascript') {
      if (
        (parent.type === 'variable_declarator' && field('name')) ||
        ((parent.type === 'function_declaration' ||
          parent.type === 'function_expression' ||
          parent.type === 'generator_function_declaration') &&
          field('name')) ||
        parent.type === 'formal_parameters' ||
        (parent.type === 'assignment_pattern' && field('left')) ||
        parent.type === 'array_pattern' ||
        parent.type === 'rest_pattern' ||
        (parent.type === 'arrow_function' && field('parameter')) ||
        (parent.type === 'catch_clause' && field('parameter')) ||
        (parent.type === 'for_in_statement' && field('left'))
      )
        names.add(node.text);
    } else if (
      parent.type === 'parameters' ||
      (parent.type === 'default_parameter' && field('name')) ||
      (parent.type === 'typed_parameter' && parent.namedChildren[0]?.id === node.id) ||
      (parent.type === 'typed_default_parameter' && field('name')) ||
      (parent.type === 'function_definition' && field('name')) ||
      (parent.type === 'assignment' && field('left')) ||
      (parent.type === 'for_statement' && field('left')) ||
      parent.type === 'pattern_list' ||
      parent.type === 'as_pattern_target'
    )
      names.add(node.text);
  });
  for (const reserved of ['self', 'cls', 'this', 'arguments']) names.delete(reserved);
  return names;
}

/** Whether an identifier is a name of the function's own (not an attribute or a keyword argument). */
function renamable(node: SyntaxNode, language: VariantLanguage): boolean {
  const parent = node.parent;
  if (!parent || language !== 'python') return true;
  if (parent.type === 'attribute' && parent.childForFieldName('attribute')?.id === node.id) return false;
  if (parent.type === 'keyword_argument' && parent.childForFieldName('name')?.id === node.id) return false;
  return true;
}

/** Comments and docstrings gone, locals renamed, one space between tokens, indentation doubled. */
async function rewrite(language: VariantLanguage, text: string): Promise<{ text: string; renamed: number }> {
  return withSyntaxTree(language, text, (root) => {
    const locals = localNames(root, language);
    const renames = new Map([...locals].map((name, i) => [name, `${language === 'python' ? 'v' : 'v'}${i + 1}`]));
    const docstrings = new Set<number>();
    if (language === 'python')
      descendants(root, (n) => {
        const first = n.type === 'block' ? n.namedChildren.find((c) => c && !c.type.includes('comment')) : null;
        if (first?.type === 'expression_statement' && first.namedChildren[0]?.type === 'string' && n.namedChildren.length > 1)
          docstrings.add(first.id);
      });
    const lines: string[] = [];
    let row = -1;
    let line = '';
    const emit = (token: string, node: SyntaxNode): void => {
      if (node.startPosition.row !== row) {
        if (line.trim() !== '') lines.push(line);
        const indent = node.startPosition.column;
        line = ' '.repeat(indent * 2) + token;
      } else line += ` ${token}`;
      row = node.endPosition.row;
    };
    const visit = (node: SyntaxNode): void => {
      if (node.type.includes('comment') || docstrings.has(node.id)) return;
      if (node.type === 'identifier' && renames.has(node.text) && renamable(node, language)) return emit(renames.get(node.text)!, node);
      if (
        (node.type === 'shorthand_property_identifier' || node.type === 'shorthand_property_identifier_pattern') &&
        renames.has(node.text)
      )
        return emit(`${node.text}: ${renames.get(node.text)!}`, node);
      if (node.childCount === 0 || ATOMIC.has(node.type)) return emit(node.text, node);
      for (const child of node.children) if (child) visit(child);
    };
    visit(root);
    if (line.trim() !== '') lines.push(line);
    return { text: lines.join('\n'), renamed: renames.size };
  });
}

export interface Variant {
  text: string;
  renamed: number;
  swaps: number;
}

export async function variantOf(language: VariantLanguage, text: string): Promise<Variant> {
  const reordered = await reorder(language, text);
  const rewritten = await rewrite(language, reordered.text);
  return { text: rewritten.text, renamed: rewritten.renamed, swaps: reordered.swaps };
}
