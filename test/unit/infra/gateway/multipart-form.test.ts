import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { readMultipartForm, type MultipartLimits } from '../../../../infra/gateway/multipart-form.ts';

const LIMITS: MultipartLimits = { maxFileBytes: 1_000, maxBodyBytes: 4_000, maxFieldBytes: 200 };

/** A form as a browser's fetch would send it (undici's own multipart serializer). */
async function encode(form: FormData): Promise<{ headers: Record<string, string>; body: Buffer }> {
  const request = new Request('http://gateway/search', { method: 'POST', body: form });
  return { headers: { 'content-type': request.headers.get('content-type')! }, body: Buffer.from(await request.arrayBuffer()) };
}

async function read(form: FormData, limits = LIMITS) {
  const { headers, body } = await encode(form);
  return readMultipartForm(headers, Readable.from([body]), limits);
}

const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);

describe('readMultipartForm', () => {
  it('reads text fields (a name may repeat) and one file with its type and modality', async () => {
    const form = new FormData();
    form.append('k', '5');
    form.append('filter', 'topic=astronomy');
    form.append('filter', 'year>=2022');
    form.append('file', new Blob([JPEG], { type: 'image/jpeg' }), 'ladybird.jpg');
    const parsed = await read(form);
    assert.ok(!('kind' in parsed), JSON.stringify(parsed));
    assert.deepEqual(Object.fromEntries(parsed.fields), { k: ['5'], filter: ['topic=astronomy', 'year>=2022'] });
    assert.deepEqual(parsed.file, { bytes: JPEG, type: 'image/jpeg', modality: 'image', filename: 'ladybird.jpg' });
  });

  it('answers parts with an empty name (name="") with a typed failure; busboy hands their name over as undefined', async () => {
    // Found by the gateway fuzz (seed -219002670): a file part named "" threw in the part's end
    // handler, outside any promise, and took the gateway process down.
    const raw = (parts: string[]): Buffer => Buffer.from(`${parts.map((p) => `--XyZ\r\n${p}\r\n`).join('')}--XyZ--\r\n`);
    const headers = { 'content-type': 'multipart/form-data; boundary=XyZ' };
    const file = await readMultipartForm(
      headers,
      Readable.from([raw(['Content-Disposition: form-data; name=""; filename="b.WAV"\r\nContent-Type: audio/wav\r\n\r\ndense'])]),
      LIMITS,
    );
    assert.deepEqual(file, { kind: 'invalid', message: 'unexpected file field ""; send the query file as "file"' });
    const field = await readMultipartForm(headers, Readable.from([raw(['Content-Disposition: form-data; name=""\r\n\r\ncells'])]), LIMITS);
    assert.ok(!('kind' in field), JSON.stringify(field));
    assert.deepEqual(Object.fromEntries(field.fields), { '': ['cells'] });
  });

  it('takes the type from the file name when the client sent a generic one', async () => {
    const form = new FormData();
    form.append('file', new Blob([Buffer.from('RIFF....WAVE')], { type: 'application/octet-stream' }), 'phrase1.WAV');
    const parsed = await read(form);
    assert.ok(!('kind' in parsed));
    assert.deepEqual([parsed.file?.type, parsed.file?.modality], ['audio/wav', 'audio']);
  });

  it('a form without a file is fine', async () => {
    const form = new FormData();
    form.append('q', 'how do stars die');
    const parsed = await read(form);
    assert.ok(!('kind' in parsed));
    assert.equal(parsed.file, null);
    assert.deepEqual(parsed.fields.get('q'), ['how do stars die']);
  });

  it('refuses a file over the file limit as too large, naming the limit', async () => {
    const form = new FormData();
    form.append('file', new Blob([Buffer.alloc(1_001, 7)], { type: 'image/png' }), 'big.png');
    assert.deepEqual(await read(form), { kind: 'too-large', message: 'the file is larger than 1000 bytes' });
  });

  it('refuses a body over the body limit as too large, whatever it holds', async () => {
    const form = new FormData();
    for (let i = 0; i < 30; i += 1) form.append(`f${i}`, 'x'.repeat(190));
    const parsed = await read(form);
    assert.deepEqual(parsed, { kind: 'too-large', message: 'the body is larger than 4000 bytes' });
  });

  it('refuses a file of a type the encoders do not decode', async () => {
    const form = new FormData();
    form.append('file', new Blob([Buffer.from('%PDF-1.7')], { type: 'application/pdf' }), 'paper.pdf');
    const parsed = await read(form);
    assert.equal('kind' in parsed && parsed.kind, 'unsupported-type');
    assert.match('message' in parsed ? parsed.message : '', /"application\/pdf" is not an image or recording/);
  });

  it('refuses a video: a query by example is a frame (an image) or a clip, and the list it gives has no video type', async () => {
    const form = new FormData();
    form.append('file', new Blob([Buffer.from('....ftypisom')], { type: 'video/mp4' }), 'holiday.mp4');
    const parsed = await read(form);
    assert.equal('kind' in parsed && parsed.kind, 'unsupported-type');
    const message = 'message' in parsed ? parsed.message : '';
    assert.match(message, /"video\/mp4" is not an image or recording searchbus decodes \(\.jpg, .*\.flac\)$/);
    assert.doesNotMatch(message, /\.mp4|\.webm/);
  });

  it('refuses two files, an empty file, a file under another name and an overlong field', async () => {
    const cases: Array<[(form: FormData) => void, RegExp]> = [
      [
        (f) => (
          f.append('file', new Blob([JPEG], { type: 'image/jpeg' }), 'a.jpg'),
          f.append('file', new Blob([JPEG], { type: 'image/jpeg' }), 'b.jpg')
        ),
        /one file/,
      ],
      [(f) => f.append('file', new Blob([], { type: 'image/jpeg' }), 'empty.jpg'), /the file is empty/],
      [(f) => f.append('image', new Blob([JPEG], { type: 'image/jpeg' }), 'a.jpg'), /unexpected file field "image"/],
      [(f) => f.append('q', 'y'.repeat(201)), /form field "q" is longer than 200 bytes/],
    ];
    for (const [fill, pattern] of cases) {
      const form = new FormData();
      fill(form);
      const parsed = await read(form);
      assert.ok('kind' in parsed && parsed.kind === 'invalid', JSON.stringify(parsed));
      assert.match(parsed.message, pattern);
    }
  });

  it('refuses a malformed body: no boundary, or a body cut short', async () => {
    const noBoundary = await readMultipartForm({ 'content-type': 'multipart/form-data' }, Readable.from([Buffer.from('x')]), LIMITS);
    assert.ok('kind' in noBoundary && noBoundary.kind === 'invalid', JSON.stringify(noBoundary));
    const form = new FormData();
    form.append('file', new Blob([JPEG], { type: 'image/jpeg' }), 'a.jpg');
    const { headers, body } = await encode(form);
    const cut = await readMultipartForm(headers, Readable.from([body.subarray(0, body.length - 20)]), LIMITS);
    assert.ok('kind' in cut && cut.kind === 'invalid', JSON.stringify(cut));
    assert.match(cut.message, /cannot be read/);
  });
});
