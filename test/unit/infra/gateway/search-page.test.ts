import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadSearchPage, pageAsset, withSettings } from '../../../../infra/gateway/search-page.ts';

describe('search page assets', () => {
  it('serves the page at / (and /index.html), its script and its stylesheet, with their types', async () => {
    const page = await loadSearchPage({ uploadMaxBytes: 524_288, credentialRequired: true, watches: true });
    const html = pageAsset(page, '/')!;
    assert.equal(html.type, 'text/html; charset=utf-8');
    assert.equal(pageAsset(page, '/index.html'), html);
    assert.equal(pageAsset(page, '/page/search-page.js')?.type, 'text/javascript; charset=utf-8');
    assert.equal(pageAsset(page, '/page/search-page.css')?.type, 'text/css; charset=utf-8');
    assert.equal(pageAsset(page, '/page/../package.json'), undefined, 'nothing but the three files');
    assert.equal(pageAsset(page, '/page/'), undefined);
    const text = html.body.toString('utf8');
    assert.match(text, /<meta name="searchbus-upload-max-bytes" content="524288">/);
    assert.match(text, /<meta name="searchbus-credential" content="required">/);
    assert.match(text, /<meta name="searchbus-watches" content="on">/);
    assert.match(text, /<input id="watch-threshold"[^>]* value="0\.6"/, "the watch threshold starts at the watches' default");
    assert.doesNotMatch(text, /\{\{\w+\}\}/, 'every placeholder filled');
    // The CSP the gateway sends allows no inline script or style: the page has none.
    assert.doesNotMatch(text, /<script(?![^>]*\ssrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=/i);
  });

  it('fills only the known placeholders', () => {
    assert.equal(
      withSettings('{{uploadMaxBytes}} {{credential}} {{watches}} {{other}}', { uploadMaxBytes: 10, credentialRequired: false }),
      '10 none off {{other}}',
    );
  });
});
