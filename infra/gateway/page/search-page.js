// The search page's script (plain ES module, no build step). Every search is a POST /search with a
// multipart form: `q` or `file`, plus k, mode, filter lines and tenant, with the credential the user
// gave (kept in sessionStorage). Results are built with textContent only: nothing a document holds
// is ever parsed as HTML. "Watch this search" makes the last search a watch (POST /watches) and
// follows its matches (GET /watches/<id>/events, Server-Sent Events read through fetch, so the
// credential travels in the Authorization header as for /search, never in the address).

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const form = /** @type {HTMLFormElement} */ ($('search'));
const queryBox = /** @type {HTMLInputElement} */ ($('q'));
const fileInput = /** @type {HTMLInputElement} */ ($('file'));
const drop = $('drop');
const hitsList = $('hits');
const statusLine = $('status');
const errorLine = $('error');
const keyInput = /** @type {HTMLInputElement} */ ($('key'));
const tenantInput = /** @type {HTMLInputElement} */ ($('tenant'));

const uploadMaxBytes = Number(document.querySelector('meta[name="searchbus-upload-max-bytes"]')?.getAttribute('content')) || 512 * 1024;
const credentialRequired = document.querySelector('meta[name="searchbus-credential"]')?.getAttribute('content') === 'required';
const watchesServed = document.querySelector('meta[name="searchbus-watches"]')?.getAttribute('content') === 'on';
const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp'];
const AUDIO_TYPES = ['audio/wav', 'audio/x-wav', 'audio/wave', 'audio/mpeg', 'audio/ogg', 'audio/flac', 'audio/x-flac'];
const EXTENSIONS = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  flac: 'audio/flac',
};

/** The file that is the query, once chosen or dropped (possibly shrunk to the upload limit). */
let queryFile = /** @type {File | null} */ (null);
let inFlight = /** @type {AbortController | null} */ (null);
let previewUrl = '';
/** The last search that answered: what "Watch this search" watches. */
let lastSearch = /** @type {{ label: string, text: string, file: File | null, filters: string[] } | null} */ (null);

// --- access: the credential and tenant stay in this tab ---------------------------------------
keyInput.value = sessionStorage.getItem('searchbus.key') ?? '';
tenantInput.value = sessionStorage.getItem('searchbus.tenant') ?? '';
keyInput.addEventListener('input', () => sessionStorage.setItem('searchbus.key', keyInput.value.trim()));
tenantInput.addEventListener('input', () => sessionStorage.setItem('searchbus.tenant', tenantInput.value.trim()));
if (credentialRequired && keyInput.value === '') /** @type {HTMLDetailsElement} */ ($('access')).open = true;

// --- the query file ---------------------------------------------------------------------------
function typeOf(file) {
  if (file.type && file.type !== 'application/octet-stream') return file.type.toLowerCase();
  const extension = file.name.split('.').pop()?.toLowerCase() ?? '';
  return EXTENSIONS[extension] ?? '';
}

/** A photo over the limit, re-encoded smaller (the image model sees 224×224 anyway). */
async function shrink(file) {
  const bitmap = await createImageBitmap(file);
  for (const side of [1600, 1024, 640, 400]) {
    const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext('2d')?.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.9));
    if (blob && blob.size <= uploadMaxBytes) return new File([blob], file.name.replace(/\.\w+$/, '') + '.jpg', { type: 'image/jpeg' });
  }
  return null;
}

async function useFile(file) {
  clearError();
  const type = typeOf(file);
  if (!IMAGE_TYPES.includes(type) && !AUDIO_TYPES.includes(type)) {
    showError(`${file.name}: not an image or recording this search understands (JPEG, PNG, WebP; WAV, MP3, Ogg, FLAC)`);
    return;
  }
  let chosen = type === file.type ? file : new File([file], file.name, { type });
  if (chosen.size > uploadMaxBytes) {
    const smaller = IMAGE_TYPES.includes(type) ? await shrink(chosen).catch(() => null) : null;
    if (!smaller) {
      showError(`${file.name} is ${formatBytes(file.size)}; a query file may be up to ${formatBytes(uploadMaxBytes)}`);
      return;
    }
    chosen = smaller;
  }
  queryFile = chosen;
  queryBox.value = '';
  showChosen(chosen, file.name);
  await search();
}

function showChosen(file, name) {
  const preview = /** @type {HTMLImageElement} */ ($('preview'));
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = '';
  if (file.type.startsWith('image/')) {
    previewUrl = URL.createObjectURL(file);
    preview.src = previewUrl;
    preview.alt = `query: ${name}`;
    preview.hidden = false;
  } else {
    preview.hidden = true;
    preview.removeAttribute('src');
  }
  $('chosen-name').textContent = `Searching by ${file.type.startsWith('image/') ? 'image' : 'recording'}: ${name}`;
  $('chosen').hidden = false;
  $('drop-label').hidden = true;
}

function clearFile() {
  queryFile = null;
  fileInput.value = '';
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = '';
  $('chosen').hidden = true;
  $('drop-label').hidden = false;
}

fileInput.addEventListener('change', () => {
  const file = fileInput.files?.[0];
  if (file) void useFile(file);
});
$('clear-file').addEventListener('click', () => {
  clearFile();
  fileInput.focus();
});
drop.addEventListener('dragover', (event) => {
  event.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (event) => {
  event.preventDefault();
  drop.classList.remove('over');
  const file = event.dataTransfer?.files?.[0];
  if (file) void useFile(file);
});
// A file dropped anywhere else must not make the browser leave the page to show it.
window.addEventListener('dragover', (event) => event.preventDefault());
window.addEventListener('drop', (event) => {
  // The drop zone handled its own drop already.
  if (event.defaultPrevented) return;
  event.preventDefault();
  const file = event.dataTransfer?.files?.[0];
  if (file) void useFile(file);
});
// A pasted screenshot or copied photo is a query too.
document.addEventListener('paste', (event) => {
  const file = [...(event.clipboardData?.files ?? [])][0];
  if (file) {
    event.preventDefault();
    void useFile(file);
  }
});

// --- searching ----------------------------------------------------------------------------------
form.addEventListener('submit', (event) => {
  event.preventDefault();
  if (queryBox.value.trim() !== '') clearFile();
  void search();
});

async function search() {
  const text = queryBox.value.trim();
  if (text === '' && !queryFile) {
    showError('Type a query, or drop an image or a recording.');
    queryBox.focus();
    return;
  }
  const body = new FormData();
  if (queryFile) body.append('file', queryFile, queryFile.name);
  else body.append('q', text);
  const k = /** @type {HTMLInputElement} */ ($('k')).value.trim();
  if (k !== '') body.append('k', k);
  const mode = /** @type {HTMLSelectElement} */ ($('mode')).value;
  if (mode !== '' && !queryFile) body.append('mode', mode);
  const filters = filterLines();
  for (const line of filters) body.append('filter', line);
  const tenant = tenantInput.value.trim();
  if (tenant !== '') body.append('tenant', tenant);
  const headers = credentialHeaders();
  const asked = { label: queryFile ? queryFile.name : text, text, file: queryFile, filters };

  inFlight?.abort();
  const controller = new AbortController();
  inFlight = controller;
  clearError();
  document.body.setAttribute('aria-busy', 'true');
  statusLine.textContent = 'Searching…';
  try {
    const response = await fetch('/search', { method: 'POST', body, headers, signal: controller.signal });
    const answer = await response
      .json()
      .catch(() => ({ error: { code: 'invalid-response', message: `the gateway answered ${response.status} without JSON` } }));
    if (controller.signal.aborted) return;
    if (!response.ok || answer.error) {
      failed(response.status, answer.error ?? { code: 'error', message: `HTTP ${response.status}` });
      return;
    }
    render(answer, asked.label);
    lastSearch = asked;
    offerWatch();
    // A text search goes into the address, to share; a file cannot, so its address is the page's.
    history.replaceState(null, '', queryFile ? location.pathname : `?q=${encodeURIComponent(text)}`);
  } catch (error) {
    if (controller.signal.aborted) return;
    failed(0, {
      code: 'unavailable',
      message: `the gateway cannot be reached (${error instanceof Error ? error.message : String(error)})`,
    });
  } finally {
    if (inFlight === controller) {
      inFlight = null;
      document.body.removeAttribute('aria-busy');
    }
  }
}

function failed(status, error, clearResults = true) {
  if (clearResults) {
    statusLine.textContent = '';
    hitsList.replaceChildren();
  }
  showError(`${error.message} (${error.code}${status ? `, HTTP ${status}` : ''})`);
  if (status === 401 || status === 403 || (status === 400 && /tenant/.test(error.message))) {
    const access = /** @type {HTMLDetailsElement} */ ($('access'));
    access.open = true;
    (status === 401 ? keyInput : tenantInput).focus();
  }
}

function render(result, asked) {
  const hits = result.hits ?? [];
  const count = hits.length === 1 ? '1 result' : `${hits.length} results`;
  // The reply's model is the text model; a query by example is embedded by its modality's model.
  const model = queryFile ? null : result.model;
  statusLine.textContent = [`${count} for ${asked}`, result.mode, model, `${Math.round(result.latencyMs ?? result.tookMs ?? 0)} ms`]
    .filter(Boolean)
    .join(' · ');
  hitsList.replaceChildren(...hits.map((hit, i) => renderHit(hit, i)));
}

/** Seconds as m:ss.s (a video hit's moment). */
function clock(seconds) {
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${(seconds - minutes * 60).toFixed(1).padStart(4, '0')}`;
}

function renderHit(hit, index) {
  const item = document.createElement('li');
  item.className = 'hit';
  const media = hit.media ?? null;
  if (media?.thumbnail && /^data:image\/(webp|jpeg|png);base64,/.test(media.thumbnail)) {
    const image = document.createElement('img');
    image.className = 'thumb';
    image.src = media.thumbnail;
    image.alt = '';
    image.loading = 'lazy';
    item.append(image);
  } else if (media) {
    const badge = document.createElement('span');
    badge.className = 'thumb badge';
    badge.textContent = { audio: '♪', video: '▶', document: '▤' }[media.modality] ?? '▣';
    badge.setAttribute('aria-hidden', 'true');
    item.append(badge);
  }
  const body = document.createElement('div');
  body.className = 'hit-body';
  const heading = document.createElement('h2');
  const open = document.createElement('button');
  open.type = 'button';
  open.className = 'hit-title';
  open.textContent = hit.title || hit.docId;
  const detailsId = `hit-details-${index}`;
  open.setAttribute('aria-expanded', 'false');
  open.setAttribute('aria-controls', detailsId);
  heading.append(open);
  body.append(heading);

  const facts = document.createElement('p');
  facts.className = 'facts';
  const page = hit.page ?? hit.metadata?.page;
  facts.textContent = [
    `score ${Number(hit.score).toFixed(3)}`,
    media ? media.modality : null,
    page !== undefined && page !== null ? `page ${page}` : null,
    // A transcript hit's moment is what was said (matchedBy), not the frame stored beside it.
    typeof media?.at === 'number' && hit.textSource !== 'transcript' ? `at ${clock(media.at)}` : null,
    matchedBy(hit),
    hit.docId,
  ]
    .filter(Boolean)
    .join(' · ');
  body.append(facts);
  // The embedded text starts with the title (a photo's is often nothing else): say it once.
  const text = hit.title && hit.snippet.startsWith(hit.title) ? hit.snippet.slice(hit.title.length).trim() : hit.snippet;
  if (text) {
    const snippet = document.createElement('p');
    snippet.className = 'snippet';
    snippet.textContent = text;
    body.append(snippet);
  }
  if ((media?.modality === 'audio' || media?.modality === 'video') && typeof media.uri === 'string' && /^https?:\/\//.test(media.uri)) {
    const player = document.createElement(media.modality);
    player.controls = true;
    player.preload = 'none';
    // A transcript hit plays from what was said (a media fragment: the browser seeks before playing).
    player.src = typeof hit.startMs === 'number' ? `${media.uri}#t=${(hit.startMs / 1000).toFixed(1)}` : media.uri;
    player.setAttribute('aria-label', `play ${hit.title || hit.docId}`);
    body.append(player);
  }
  const details = document.createElement('dl');
  details.className = 'details';
  details.id = detailsId;
  details.hidden = true;
  const rows = [
    ['document', hit.docId],
    ['chunk', String(hit.chunk)],
  ];
  if (media) rows.push(['medium', media.type], ...(media.uri ? [['uri', media.uri]] : []));
  for (const [name, value] of Object.entries(hit.metadata ?? {}))
    rows.push([name, Array.isArray(value) ? value.join(', ') : String(value)]);
  for (const [name, value] of rows) {
    const term = document.createElement('dt');
    term.textContent = name;
    const description = document.createElement('dd');
    description.textContent = value;
    details.append(term, description);
  }
  body.append(details);
  open.addEventListener('click', () => {
    const expanded = open.getAttribute('aria-expanded') === 'true';
    open.setAttribute('aria-expanded', String(!expanded));
    details.hidden = expanded;
  });
  item.append(body);
  return item;
}

// --- watch this search ---------------------------------------------------------------------------
const watchSection = $('watch');
const watchStart = /** @type {HTMLButtonElement} */ ($('watch-start'));
const watchStop = /** @type {HTMLButtonElement} */ ($('watch-stop'));
const watchThreshold = /** @type {HTMLInputElement} */ ($('watch-threshold'));
const watchStatus = $('watch-status');
const watchList = $('watch-matches');
/** The watch this page follows: its id and tenant, and the controller that ends its stream. */
let watching = /** @type {{ id: string, tenant: string, label: string, stream: AbortController } | null} */ (null);
const RECONNECT_MS = 3000;

function offerWatch() {
  if (!watchesServed) return;
  watchSection.hidden = false;
}

/** The watch's query: the words, or the example file inline (base64), as POST /watches takes it. */
async function watchQuery(search) {
  if (!search.file) return { text: search.text };
  const bytes = new Uint8Array(await search.file.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  const example = { type: search.file.type, data: btoa(binary) };
  return search.file.type.startsWith('image/') ? { image: example } : { audio: example };
}

async function startWatch() {
  if (!lastSearch || watching) return;
  const threshold = Number(watchThreshold.value);
  if (watchThreshold.value.trim() === '' || !Number.isFinite(threshold) || threshold < -1 || threshold > 1) {
    showError('The lowest score is a number from -1 to 1.');
    watchThreshold.focus();
    return;
  }
  clearError();
  const search = lastSearch;
  const tenant = tenantInput.value.trim();
  const body = {
    query: await watchQuery(search),
    threshold,
    ...(search.filters.length > 0 ? { filter: search.filters } : {}),
    ...(tenant !== '' ? { tenant } : {}),
  };
  watchStart.disabled = true;
  watchStatus.textContent = 'Creating the watch…';
  try {
    const response = await fetch('/watches', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...credentialHeaders() },
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({}));
    if (response.status !== 201 || typeof answer.id !== 'string') {
      watchStatus.textContent = '';
      failed(response.status, answer.error ?? { code: 'error', message: `HTTP ${response.status}` }, false);
      return;
    }
    watching = { id: answer.id, tenant: answer.tenant, label: search.label, stream: new AbortController() };
    watchList.replaceChildren();
    watchStart.hidden = true;
    watchStop.hidden = false;
    watchSection.dataset.watchId = answer.id;
    watchStatus.textContent = `Watch ${answer.id} created for ${search.label} (score ${answer.threshold} or more); connecting…`;
    watchStop.focus();
    void follow(watching);
  } catch (error) {
    watchStatus.textContent = '';
    failed(
      0,
      { code: 'unavailable', message: `the gateway cannot be reached (${error instanceof Error ? error.message : String(error)})` },
      false,
    );
  } finally {
    watchStart.disabled = false;
  }
}

/** Reads the watch's event stream until it is stopped; reconnects after a break (matches during the break are not replayed). */
async function follow(watch) {
  const path = `/watches/${encodeURIComponent(watch.id)}/events?tenant=${encodeURIComponent(watch.tenant)}`;
  // This loop's own signal: a retry after a failed stop gives the watch a new controller and a new loop.
  const signal = watch.stream.signal;
  while (watching === watch && !signal.aborted) {
    try {
      const response = await fetch(path, { headers: credentialHeaders(), signal });
      if (response.status === 404) {
        ended(watch, `Watch ${watch.id} no longer exists; not watching.`);
        return;
      }
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      await readEvents(response.body, watch);
      if (watching === watch) watchStatus.textContent = `The live stream of watch ${watch.id} ended; reconnecting…`;
    } catch (error) {
      if (signal.aborted) return;
      watchStatus.textContent = `The live stream of watch ${watch.id} broke (${error instanceof Error ? error.message : String(error)}); reconnecting…`;
    }
    await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
  }
}

/** Server-Sent Events: blocks separated by a blank line; `event:` names one, `data:` lines carry it, `:` starts a comment. */
async function readEvents(stream, watch) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffered += value;
    const blocks = buffered.split(/\r?\n\r?\n/);
    buffered = blocks.pop() ?? '';
    for (const block of blocks) {
      const lines = block.split(/\r?\n/);
      if (lines.some((line) => line.startsWith(': following')))
        watchStatus.textContent = `Watching ${watch.label} (watch ${watch.id}): new matches appear below.`;
      const event =
        lines
          .find((line) => line.startsWith('event:'))
          ?.slice(6)
          .trim() ?? 'message';
      const data = lines
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n');
      if (event === 'match' && data !== '') showMatch(JSON.parse(data));
    }
  }
}

function showMatch(match) {
  const item = document.createElement('li');
  item.className = 'match';
  const open = document.createElement('button');
  open.type = 'button';
  open.className = 'hit-title';
  open.textContent = `new: ${match.title || match.id} score ${Number(match.score).toFixed(2)}`;
  const detailsId = `match-details-${watchList.childElementCount}`;
  open.setAttribute('aria-expanded', 'false');
  open.setAttribute('aria-controls', detailsId);
  const details = document.createElement('dl');
  details.className = 'details';
  details.id = detailsId;
  details.hidden = true;
  for (const [name, value] of [
    ['document', match.id],
    ['score', Number(match.score).toFixed(3)],
    ['version', `partition ${match.partition}, offset ${match.offset}`],
    ['matched at', new Date(match.matchedAt).toLocaleString()],
  ]) {
    const term = document.createElement('dt');
    term.textContent = name;
    const description = document.createElement('dd');
    description.textContent = value;
    details.append(term, description);
  }
  open.addEventListener('click', () => {
    const expanded = open.getAttribute('aria-expanded') === 'true';
    open.setAttribute('aria-expanded', String(!expanded));
    details.hidden = expanded;
  });
  item.append(open, details);
  watchList.prepend(item);
}

function ended(watch, message) {
  if (watching !== watch) return;
  watch.stream.abort();
  watching = null;
  delete watchSection.dataset.watchId;
  watchStop.hidden = true;
  watchStart.hidden = false;
  watchStatus.textContent = message;
}

async function stopWatch() {
  const watch = watching;
  if (!watch) return;
  // The stream first: no match arrives after "stop".
  watch.stream.abort();
  watchStop.disabled = true;
  try {
    const response = await fetch(`/watches/${encodeURIComponent(watch.id)}?tenant=${encodeURIComponent(watch.tenant)}`, {
      method: 'DELETE',
      headers: credentialHeaders(),
    });
    if (response.ok || response.status === 404) {
      ended(watch, `Stopped watching: watch ${watch.id} removed.`);
      watchStart.focus();
    } else {
      const answer = await response.json().catch(() => ({}));
      failed(response.status, answer.error ?? { code: 'error', message: `HTTP ${response.status}` }, false);
      // Still stored: follow it again, so the page and the gateway agree.
      watch.stream = new AbortController();
      void follow(watch);
    }
  } catch (error) {
    showError(`the watch could not be removed: ${error instanceof Error ? error.message : String(error)}`);
    watch.stream = new AbortController();
    void follow(watch);
  } finally {
    watchStop.disabled = false;
  }
}

watchStart.addEventListener('click', () => void startWatch());
watchStop.addEventListener('click', () => void stopWatch());

// --- keyboard -----------------------------------------------------------------------------------
function resultButtons() {
  return [...hitsList.querySelectorAll('button.hit-title')];
}

document.addEventListener('keydown', (event) => {
  const target = /** @type {HTMLElement} */ (event.target);
  const typing = target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement;
  if (event.key === '/' && !typing) {
    event.preventDefault();
    queryBox.focus();
    queryBox.select();
    return;
  }
  const buttons = resultButtons();
  if (buttons.length === 0) return;
  const at = buttons.indexOf(/** @type {HTMLButtonElement} */ (target));
  if (event.key === 'ArrowDown' && (target === queryBox || at >= 0)) {
    event.preventDefault();
    buttons[Math.min(at + 1, buttons.length - 1)]?.focus();
  } else if (event.key === 'ArrowUp' && at >= 0) {
    event.preventDefault();
    (at === 0 ? queryBox : buttons[at - 1])?.focus();
  } else if (event.key === 'Escape' && at >= 0) {
    queryBox.focus();
  }
});

// --- helpers ------------------------------------------------------------------------------------
function filterLines() {
  return /** @type {HTMLTextAreaElement} */ ($('filters')).value
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

function credentialHeaders() {
  const key = keyInput.value.trim();
  return key !== '' ? { authorization: `Bearer ${key}` } : {};
}

function showError(message) {
  errorLine.textContent = message;
  errorLine.hidden = false;
}

function clearError() {
  errorLine.textContent = '';
  errorLine.hidden = true;
}

function formatBytes(bytes) {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`;
}

// A shared link `/?q=…` runs its search.
const initial = new URLSearchParams(location.search).get('q');
if (initial) {
  queryBox.value = initial;
  void search();
}
document.documentElement.dataset.ready = 'true';

/** Why a hit matched when its text was read from its medium. */
function matchedBy(hit) {
  if (hit.textSource === 'labels') return `label: ${(hit.media?.labels ?? []).map((l) => l.name).join(', ')}`;
  if (hit.textSource === 'ocr') return 'text in image';
  if (hit.textSource === 'transcript' && typeof hit.startMs === 'number') return `transcript at ${clock(hit.startMs / 1000)}`;
  return null;
}
