// HTML -> text with html-to-text (an htmlparser2 DOM): block elements become line breaks, scripts,
// styles, images and link targets are dropped, entities are decoded. Malformed markup is parsed as
// browsers would, so HTML never fails here; bytes that are not UTF-8 do (see plain-text.ts).

const OPTIONS = {
  wordwrap: false as const,
  selectors: [
    { selector: 'a', options: { ignoreHref: true } },
    { selector: 'img', format: 'skip' },
    { selector: 'script', format: 'skip' },
    { selector: 'style', format: 'skip' },
    { selector: 'noscript', format: 'skip' },
    { selector: 'template', format: 'skip' },
    { selector: 'h1', options: { uppercase: false } },
    { selector: 'h2', options: { uppercase: false } },
    { selector: 'h3', options: { uppercase: false } },
    { selector: 'h4', options: { uppercase: false } },
    { selector: 'h5', options: { uppercase: false } },
    { selector: 'h6', options: { uppercase: false } },
    { selector: 'table', format: 'dataTable', options: { uppercaseHeaderCells: false } },
  ],
};

export async function htmlText(html: string): Promise<string> {
  // Loaded on first use, like every extractor.
  const { convert } = await import('html-to-text');
  return convert(html, OPTIONS)
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
