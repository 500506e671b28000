// A code text's sparse terms (topology's CODE_ANALYZER_ID). Identifier pieces are stemmed like
// words, so a word query finds `parseHeader`; the structure terms carry what renaming leaves intact.
import { stemmer } from 'stemmer';
import type { CodeLanguage } from '../../../topology/index.ts';
import type { SparseAnalyzer } from '../text/sparse-analyzer.ts';
import { withSyntaxTree, type SyntaxNode } from './code-parser.ts';

/** Names that stand for the receiver in every method: no more telling than a keyword. */
const RECEIVERS = new Set(['self', 'this', 'cls', 'super']);
/** Structure terms start with a character no word or identifier piece has. */
const STRUCTURE = '§';
/** Child types listed in a node's shape term; longer child lists are cut (a block of 40 statements). */
const MAX_SHAPE_CHILDREN = 6;
const PIECES = /[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+/g;

/** `parseHTTPHeader2` -> parse, http, header, 2 (lowercase). */
export function identifierPieces(identifier: string): string[] {
  return (identifier.match(PIECES) ?? []).map((piece) => piece.toLowerCase());
}

function isIdentifier(type: string): boolean {
  return type.includes('identifier') || type === 'name';
}

function isText(type: string): boolean {
  return type.includes('comment') || type === 'string_content' || type === 'string_fragment' || type === 'escape_sequence';
}

/** The terms of one code text, in tree order (duplicates kept: BM25 counts them). */
export async function codeTerms(language: CodeLanguage, text: string, words: SparseAnalyzer): Promise<string[]> {
  return withSyntaxTree(language, text, (root) => treeTerms(root, words));
}

function treeTerms(root: SyntaxNode, words: SparseAnalyzer): string[] {
  const terms: string[] = [];
  const visit = (node: SyntaxNode, parentType: string | null): void => {
    const type = node.type;
    if (isText(type)) {
      terms.push(...words.terms(node.text));
      return;
    }
    const children = node.namedChildren.filter((c): c is SyntaxNode => c !== null && !c.type.includes('comment'));
    if (parentType !== null && type !== 'ERROR') terms.push(`${STRUCTURE}${parentType}>${type}`);
    if (children.length > 0) {
      terms.push(
        `${STRUCTURE}${type}(${children
          .slice(0, MAX_SHAPE_CHILDREN)
          .map((c) => c.type)
          .join(',')})`,
      );
    } else if (isIdentifier(type)) {
      const name = node.text;
      if (!RECEIVERS.has(name)) {
        const pieces = identifierPieces(name);
        terms.push(...pieces.filter((p) => p.length > 1 || /\d/.test(p)).map((p) => stemmer(p)));
        if (pieces.length > 1) terms.push(name.toLowerCase());
      }
    } else if (type.includes('number') || type.includes('integer') || type.includes('float')) {
      terms.push(`#${node.text.toLowerCase()}`);
    }
    // Comments inside a node still give their words, outside the structure.
    for (const child of node.namedChildren) if (child?.type.includes('comment')) visit(child, null);
    for (const child of children) visit(child, type);
  };
  visit(root, null);
  return terms;
}
