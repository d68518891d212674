// The synth playground: drives the jco-transpiled compiler component, which runs in a Worker
// (worker.js through compiler-client.js) so the page never blocks while it compiles.
// `window.synthPlayground` exposes the same compile path to tests and benchmarks.
import { CompilerClient } from './compiler-client.js';
import {
  alignFunctions, alignedRows, assignBands, lineOfOffset, listingRows, liveAt, noteAt, renderListing,
} from './listing.js';

const $ = (id) => document.getElementById(id);

const state = {
  client: null, // the compiler Worker (compiler-client.js)
  targets: [], // the component's targets, and each one's default options
  defaults: {},
  uploadedBytes: null, // bytes of an uploaded file; null when the textarea is the input
  editor: null, // the CodeMirror editor (editor/editor.js)
  listing: null, // the virtual listing
  lastDiff: null,
  renderMillis: 0,
  timings: null, // stage times of the last compile from the page, for tests and the status
  compileRequests: 0, // bumped by each Compile: a compile whose number is stale is superseded
  running: null, // the compile running now (a promise), if any
  suppressEditEvent: false,
  lastOutput: null,
  lastBaseName: 'module',
};

function setStatus(text, kind) {
  const status = $('status');
  status.textContent = text;
  status.dataset.state = kind;
}

/**
 * Compile `input` (WAT text or wasm bytes) with `options` (WIT field names in camelCase) in the
 * Worker. Resolves to { ok: true, output, sha256, reportJson, millis } or { ok: false, error,
 * millis }; reportJson is the report in the native CLI's `--report-json` shape.
 */
function compileInput(input, options) {
  return state.client.call('compile', { input, options });
}

// Errors and listing lines carry offsets in the wasm binary; the Worker sends the WAT line map
// with each compile (worker.js: buildSourceMap).

/** The editor line of a compile error: wat's own `:line:col` for text that does not parse. */
function errorLine(error, map) {
  const fromMessage = /-->\s*\S*?:(\d+):(\d+)/.exec(error.message);
  if (fromMessage) return Number(fromMessage[1]);
  return lineOfOffset(map, error.offset);
}

// ---------------------------------------------------------------------------------------------
// Options, and the state kept in the URL and localStorage.

const OPTION_IDS = {
  boundsChecks: 'bounds-checks',
  stackCheck: 'stack-check',
  optimize: 'optimize',
  optimizeForSize: 'optimize-for-size',
  spillRealloc: 'spill-realloc',
  explainAllocation: 'explain-allocation',
};

// The allocation account triples the report of a huge module; past this size the page leaves
// it out (the "why" panel says so).
const EXPLAIN_LIMIT = 256 * 1024;

/** Whether `select` offers `value` (a link from another version may name an unknown target). */
const hasOption = (select, value) => Array.from(select.options).some((o) => o.value === value);

function optionsFromForm() {
  const pages = Number.parseInt($('max-memory-pages').value, 10);
  const options = {
    target: $('target').value,
    // Empty: what the module declares (the WIT's `none`).
    maxMemoryPages: Number.isInteger(pages) && pages >= 0 ? pages : undefined,
  };
  for (const [key, id] of Object.entries(OPTION_IDS)) options[key] = $(id).checked;
  return options;
}

function applyOptionsToForm(options) {
  if (hasOption($('target'), options.target)) $('target').value = options.target;
  for (const [key, id] of Object.entries(OPTION_IDS)) {
    if (typeof options[key] === 'boolean') $(id).checked = options[key];
  }
  $('max-memory-pages').value = Number.isInteger(options.maxMemoryPages) ? String(options.maxMemoryPages) : '';
}

/** The B options of a diff: A's memory limit, B's own target and switches. */
function diffOptionsFromForm(a) {
  const options = { ...a, target: $('diff-target').value };
  for (const [key, id] of Object.entries(OPTION_IDS)) options[key] = $(`diff-${id}`).checked;
  return options;
}

function applyDiffOptionsToForm(diff) {
  $('diff-enable').checked = Boolean(diff.enabled);
  if (hasOption($('diff-target'), diff.target)) $('diff-target').value = diff.target;
  for (const [key, id] of Object.entries(OPTION_IDS)) {
    if (typeof diff[key] === 'boolean') $(`diff-${id}`).checked = diff[key];
  }
}

/** Everything a shared link restores. */
function currentViewState() {
  const diff = { enabled: $('diff-enable').checked, ...diffOptionsFromForm(optionsFromForm()) };
  delete diff.maxMemoryPages;
  delete diff.moduleName;
  return { v: 1, source: state.editor.getText(), options: optionsFromForm(), diff };
}

async function base64UrlDeflate(text) {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('deflate-raw'));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function inflateBase64Url(encoded) {
  const binary = atob(encoded.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  return new Response(stream).text();
}

const STORAGE_KEY = 'synth-playground-state';
const MAX_HASH_LENGTH = 1_500_000;

/** Write the view into the URL fragment (`#z=`, deflated JSON) and localStorage. */
async function saveViewState() {
  const view = currentViewState();
  const json = JSON.stringify(view);
  try {
    localStorage.setItem(STORAGE_KEY, json);
  } catch {
    // Storage full or disabled: the URL still carries the state.
  }
  const hash = `#z=${await base64UrlDeflate(json)}`;
  // Chromium takes addresses up to 2 MB; past that the link would not open, so keep the
  // state only in localStorage and say so.
  if (hash.length > MAX_HASH_LENGTH) {
    $('link-info').textContent = `the input is too large for a link (${hash.length} characters ` +
      'compressed); it is kept in this browser only';
    return null;
  }
  if (location.hash !== hash) history.replaceState(null, '', hash);
  return hash;
}

/** The state from the URL fragment, else localStorage, else null. */
async function loadViewState() {
  const match = /^#z=([A-Za-z0-9_-]+)$/.exec(location.hash);
  if (match) {
    try {
      return JSON.parse(await inflateBase64Url(match[1]));
    } catch {
      setStatus('The link\'s state could not be read; showing the last session instead.', 'error');
    }
  }
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    return stored ? JSON.parse(stored) : null;
  } catch {
    return null;
  }
}

let saveTimer = null;
function scheduleSave() {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(() => {
    saveViewState().catch(() => {});
  }, 300);
}

// ---------------------------------------------------------------------------------------------
// Rendering.

function element(tag, attributes = {}, text = undefined) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

const STAT_KEYS = ['codeSize', 'spills', 'reloads', 'moves', 'remats'];

function renderReport(report) {
  const body = $('report').querySelector('tbody');
  const foot = $('report').querySelector('tfoot');
  body.replaceChildren();
  const totals = { codeSize: 0, spills: 0, reloads: 0, moves: 0, remats: 0 };
  report.functions.forEach((f, index) => {
    const row = element('tr', { 'data-function': String(index) });
    for (const cell of [f.name, f.symbol, f.codeSize, f.spills, f.reloads, f.moves, f.remats,
      f.maxPressure, f.frameSize]) {
      row.append(element('td', {}, String(cell)));
    }
    // Reachable through a table or a funcref: call_indirect can call it.
    row.append(element('td', { title: f.indirect ? 'call_indirect can call it' : '' },
      f.indirect ? 'yes' : ''));
    row.addEventListener('click', () => state.listing?.scrollToFunction(f.symbol));
    body.append(row);
    for (const key of STAT_KEYS) totals[key] += f[key];
  });
  const total = element('tr');
  for (const cell of ['total', '', totals.codeSize, totals.spills, totals.reloads, totals.moves,
    totals.remats, '', '', '']) {
    total.append(element('td', {}, String(cell)));
  }
  foot.replaceChildren(total);
  const fp = report.footprint;
  $('footprint').textContent = `Flash ${fp.text + fp.rodata + fp.data} B (.text ${fp.text}, `
    + `.rodata ${fp.rodata}, .data ${fp.data}); RAM ${fp.data + fp.bss} B (.data ${fp.data}, `
    + `.bss ${fp.bss}: the linear memory). Before --gc-sections; the stack is not counted.`;
  renderTables(report);
}

/** Each table the object holds, with the functions call_indirect through it can reach. */
function renderTables(report) {
  const list = $('tables');
  list.replaceChildren();
  const bySymbolName = new Map(report.functions.map((f) => [f.name, f.symbol]));
  for (const t of report.tables) {
    const item = element('li', { 'data-table': t.symbol });
    const nulls = t.nullEntries > 0 ? `, ${t.nullEntries} null` : '';
    item.append(element('strong', {}, t.name),
      element('span', { class: 'muted' },
        ` ${t.symbol}: ${t.elementType}, ${t.size} entries (room for ${t.capacity})${nulls}`));
    if (t.functions.length > 0) {
      item.append(document.createTextNode('; call_indirect reaches '));
      t.functions.forEach((name, i) => {
        if (i > 0) item.append(document.createTextNode(', '));
        const symbol = bySymbolName.get(name);
        if (symbol === undefined) {
          item.append(element('span', { title: 'imported' }, name));
        } else {
          const link = element('a', { href: '#', 'data-symbol': symbol }, name);
          link.addEventListener('click', (event) => {
            event.preventDefault();
            state.listing?.scrollToFunction(symbol);
          });
          item.append(link);
        }
      });
    }
    list.append(item);
  }
  $('tables-section').hidden = report.tables.length === 0;
}

/** Machine instructions of a function: listing lines that are not data. */
const instructionCount = (f) => f.listing.reduce((n, line) => n + (line.kind === 'data' ? 0 : 1), 0);

const signed = (n) => (n > 0 ? `+${n}` : String(n));

/** Per-function deltas B − A; also returned as data for tests and benchmarks. */
function diffReports(a, b) {
  const zero = { codeSize: 0, spills: 0, reloads: 0, moves: 0, remats: 0, instructions: 0 };
  const stats = (f) => (f ? { ...Object.fromEntries(STAT_KEYS.map((k) => [k, f[k]])), instructions: instructionCount(f) } : zero);
  return alignFunctions(a, b).map(([fa, fb]) => {
    const sa = stats(fa);
    const sb = stats(fb);
    const delta = Object.fromEntries(Object.keys(zero).map((k) => [k, sb[k] - sa[k]]));
    return { symbol: (fa ?? fb).symbol, name: (fa ?? fb).name, a: sa, b: sb, delta, onlyIn: fa ? (fb ? null : 'A') : 'B' };
  });
}

function renderDiff(rows, captionText) {
  $('diff-caption').textContent = captionText;
  const body = $('diff').querySelector('tbody');
  body.replaceChildren();
  const total = { codeSize: 0, spills: 0, reloads: 0, moves: 0, remats: 0, instructions: 0 };
  const totalA = { codeSize: 0 };
  const totalB = { codeSize: 0 };
  const deltaCell = (n) => element('td', { class: n > 0 ? 'worse' : n < 0 ? 'better' : 'same' }, signed(n));
  for (const row of rows) {
    const tr = element('tr', { 'data-symbol': row.symbol });
    tr.append(element('td', {}, row.onlyIn ? `${row.symbol} (only in ${row.onlyIn})` : row.symbol),
      element('td', {}, String(row.a.codeSize)), element('td', {}, String(row.b.codeSize)));
    for (const key of Object.keys(total)) {
      tr.append(deltaCell(row.delta[key]));
      total[key] += row.delta[key];
    }
    totalA.codeSize += row.a.codeSize;
    totalB.codeSize += row.b.codeSize;
    tr.addEventListener('click', () => state.listing?.scrollToFunction(row.symbol));
    body.append(tr);
  }
  const tr = element('tr');
  tr.append(element('td', {}, 'total'), element('td', {}, String(totalA.codeSize)),
    element('td', {}, String(totalB.codeSize)));
  for (const key of Object.keys(total)) tr.append(deltaCell(total[key]));
  $('diff').querySelector('tfoot').replaceChildren(tr);
}

function renderError(error, line) {
  const parts = [`${error.kind}: ${error.message}`];
  if (line !== null) parts.push(`WAT line: ${line}`);
  if (error.offset !== null) parts.push(`wasm offset: 0x${error.offset.toString(16)} (${error.offset})`);
  if (error.function !== null) parts.push(`function: ${error.function}`);
  $('error').textContent = parts.join('\n');
  $('error').hidden = false;
}

function download(bytesOrText, fileName, mimeType) {
  const url = URL.createObjectURL(new Blob([bytesOrText], { type: mimeType }));
  const link = element('a', { href: url, download: fileName });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

const describeOptions = (o) => `${o.target}${Object.entries(OPTION_IDS)
  .filter(([key]) => !o[key]).map(([, id]) => ` no-${id}`).join('')}`;

/** Epoch milliseconds, comparable with the Worker's (each has its own performance clock). */
const now = () => performance.timeOrigin + performance.now();

/** The status line while a compile runs: elapsed time and the stage, refreshed every 100 ms. */
const progress = {
  timer: null,
  started: 0,
  stage: '',
  start(started) {
    this.started = started;
    clearInterval(this.timer);
    this.timer = setInterval(() => this.paint(), 100);
  },
  show(stage) {
    this.stage = stage;
    $('status').dataset.stage = stage;
    this.paint();
  },
  paint() {
    const seconds = ((performance.now() - this.started) / 1000).toFixed(1);
    setStatus(`Compiling… ${seconds} s · ${this.stage}`, 'busy');
  },
  stop() {
    clearInterval(this.timer);
    this.timer = null;
    delete $('status').dataset.stage;
  },
};

/**
 * Compile what the page shows. The newest request wins: while one compile runs, a new one
 * waits for it and its result is dropped; of several waiting, only the newest runs.
 */
async function compileFromForm() {
  state.compileRequests += 1;
  const request = state.compileRequests;
  const clickedAt = now();
  // What the user compiled is what the page showed at the click.
  const text = state.editor.getText();
  const job = {
    input: state.uploadedBytes ?? text,
    text,
    options: optionsFromForm(),
    optionsB: null,
  };
  if ($('diff-enable').checked) job.optionsB = diffOptionsFromForm(job.options);
  const inputSize = typeof job.input === 'string' ? job.input.length : job.input.byteLength;
  state.explainSkipped = job.options.explainAllocation && inputSize > EXPLAIN_LIMIT;
  if (state.explainSkipped) {
    job.options = { ...job.options, explainAllocation: false };
    if (job.optionsB) job.optionsB = { ...job.optionsB, explainAllocation: false };
  }
  $('error').hidden = true;
  $('result').hidden = true;
  state.editor.setDiagnostics([]);
  progress.start(performance.now());
  progress.show(state.running ? 'waiting for the previous compile (its result will be dropped)' : 'starting');
  saveViewState().catch(() => {});
  while (state.running) await state.running.catch(() => {});
  if (request !== state.compileRequests) return; // a newer request came while this one waited
  const run = runCompile(request, job, clickedAt);
  state.running = run;
  try {
    await run;
  } finally {
    if (state.running === run) state.running = null;
  }
}

async function runCompile(request, job, clickedAt) {
  const current = () => request === state.compileRequests;
  const stages = {};
  const onStage = (name, at) => {
    stages[name] = at - clickedAt;
    if (current()) progress.show(name);
  };
  try {
    if (!state.client.loaded) {
      onStage('loading the component', now());
      await state.client.ready;
    }
    const reply = await state.client.call('compileView', {
      input: job.input,
      // The map of a binary input comes from the printed text the editor shows.
      text: typeof job.input === 'string' ? undefined : job.text,
      options: job.options,
      optionsB: job.optionsB,
    }, { onStage });
    if (!current()) return; // superseded: a newer compile owns the page
    const receivedAt = now();
    onStage('rendering', receivedAt);
    // Let the stage paint before rendering takes the thread.
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (!current()) return;
    renderCompile(reply, job, { clickedAt, receivedAt, stages });
  } catch (error) {
    if (!current()) return;
    progress.stop();
    setStatus(`The compiler failed: ${error.message}`, 'error');
  }
}

/** The "why" panel: the hovered row's edit reason, live values, pressure and the slot map. */
function renderWhy(row, map) {
  const panel = $('why');
  if (!row) {
    panel.replaceChildren(element('p', { class: 'muted' }, state.explainSkipped
      ? `The allocation account is left out for inputs over ${EXPLAIN_LIMIT / 1024} KiB.`
      : $('explain-allocation').checked
        ? 'Point at a listing row to see the values live there, where each is, and why an allocator edit is there.'
        : 'Tick "explain allocation" to see the live values and the reason of each spill, reload and move.'));
    return;
  }
  const { line, account, index } = row;
  if (!account) return;
  const parts = [element('p', { class: 'why-line' }, `+0x${line.offset.toString(16)}  ${line.text}`)];
  const note = noteAt(account, index);
  if (note) {
    const value = note.value !== null && note.value !== undefined ? account.values[note.value].name : 'a value';
    parts.push(element('p', { class: `why-reason kind-${line.kind}` }, `${line.kind} of ${value}: ${note.reason}`));
  }
  const pressure = account.pressure[index] ?? 0;
  const block = account.blocks.find((b) => b.firstLine <= index && index < b.endLine);
  parts.push(element('p', { class: 'why-pressure' }, `${pressure} values live here` +
    (block ? `; block ${block.label} peaks at ${block.maxPressure}` : '') +
    `; ${account.classes.map((c) => `${c.registers} ${c.name} registers`).join(', ')}`));
  const table = element('table', { class: 'why-live' });
  const head = element('tr');
  for (const h of ['value', 'where', 'from']) head.append(element('th', {}, h));
  table.append(head);
  for (const { value, locations } of liveAt(account, index)) {
    const tr = element('tr');
    const defLine = lineOfOffset(map, value.wasmOffset);
    tr.append(element('td', {}, value.name), element('td', {}, locations.join(', ')),
      element('td', {}, value.origin + (defLine !== null ? ` (L${defLine})` : '')));
    if (note && account.values[note.value] === value) tr.classList.add('why-subject');
    table.append(tr);
  }
  parts.push(table);
  const shared = account.slots.filter((s) => s.values.length > 0);
  if (shared.length > 0) {
    const details = element('details', { class: 'why-slots' });
    details.append(element('summary', {}, `stack slots (${shared.length})`));
    for (const slot of shared) {
      details.append(element('div', {}, `${slot.location}: ${slot.values.map((v) => account.values[v].name).join(', ')}`));
    }
    parts.push(details);
  }
  panel.replaceChildren(...parts);
  panel.dataset.line = String(index);
}

/** Show a compileView reply: the error, or the object, report, diff, listing and bands. */
function renderCompile({ a: result, b: other, map, mapMillis }, job, timing) {
  progress.stop();
  if (!result.ok) {
    const line = errorLine(result.error, map);
    renderError(result.error, line);
    state.editor.setDiagnostics([{
      line: line ?? 1,
      message: `${result.error.kind}: ${result.error.message}` +
        (line === null && result.error.offset !== null ? ` (wasm offset 0x${result.error.offset.toString(16)}, no WAT line)` : ''),
    }]);
    state.editor.setBands([]);
    $('editor').dataset.errorLine = String(line ?? '');
    setStatus(`Compilation failed (${result.error.kind}).`, 'error');
    return;
  }
  delete $('editor').dataset.errorLine;
  state.lastOutput = result.output;
  $('sha256').textContent = result.sha256;
  $('object-size').textContent = String(result.output.object.length);
  $('header').textContent = result.output.header;
  renderReport(result.output.report);
  let diffShown = false;
  if (job.optionsB && other && !other.ok) {
    renderError({ ...other.error, message: `B (${describeOptions(job.optionsB)}): ${other.error.message}` }, null);
  } else if (job.optionsB && other) {
    state.lastDiff = diffReports(result.output.report, other.output.report);
    renderDiff(state.lastDiff, `A: ${describeOptions(job.options)} · B: ${describeOptions(job.optionsB)}`);
    diffShown = true;
  }
  $('diff-section').hidden = !diffShown;
  if (!diffShown) state.lastDiff = null;
  $('result').hidden = false;
  const started = performance.now();
  const columns = diffShown
    ? alignedRows(result.output.report, other.output.report, map)
    : listingRows(result.output.report, map);
  const { bands, rowsOfLine } = assignBands(columns);
  state.listing = renderListing($('listing'), columns, {
    titles: diffShown ? ['A', 'B'] : null,
    rowsOfLine,
    onRowHover: (line) => state.editor.markLine(line),
    onRowClick: (line) => state.editor.revealLine(line),
    onRowInspect: (row) => renderWhy(row, map),
  });
  renderWhy(null, map);
  const firstRowsAt = now();
  state.editor.setBands(bands);
  state.renderMillis = performance.now() - started;
  const compileFinishedAt = diffShown ? other.finishedAt : result.finishedAt;
  state.timings = {
    ...timing,
    compileFinishedAt,
    firstRowsAt,
    compileMillis: result.millis,
    compileMillisB: diffShown ? other.millis : null,
    mapMillis,
    renderMillis: state.renderMillis,
    // From the end of the (last) compile in the Worker to the listing's first rows in the DOM:
    // the WAT line map, the transfer to the page and the rendering.
    firstRowsAfterCompile: firstRowsAt - compileFinishedAt,
    total: firstRowsAt - timing.clickedAt,
    bandedLines: bands.length,
  };
  $('compile-time').textContent = `compiled in ${result.millis.toFixed(1)} ms` +
    (diffShown ? ` (B in ${other.millis.toFixed(1)} ms)` : '') +
    ` · WAT lines in ${mapMillis.toFixed(1)} ms · listing in ${state.renderMillis.toFixed(1)} ms` +
    ` · first rows ${state.timings.firstRowsAfterCompile.toFixed(0)} ms after the compile,` +
    ` ${state.timings.total.toFixed(0)} ms after the click`;
  setStatus(`Compiled for ${result.output.report.target}.`, 'done');
}

const isWasmBinary = (bytes) => bytes.length >= 4 && bytes[0] === 0 && bytes[1] === 0x61 &&
  bytes[2] === 0x73 && bytes[3] === 0x6d;

async function loadFile(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  state.lastBaseName = file.name.replace(/\.(wat|wasm)$/i, '') || 'module';
  let text;
  let info;
  let binary = null;
  if (isWasmBinary(bytes)) {
    binary = bytes;
    let printed = null;
    setStatus(`Printing ${file.name} as WAT…`, 'busy');
    const reply = await state.client.call('printWat', { bytes });
    setStatus('Ready.', 'ready');
    if (reply.ok) {
      printed = reply.text;
    } else {
      info = `${file.name}: wasm binary, ${bytes.length} bytes; it could not be printed as WAT ` +
        `(${reply.message}), compiling the binary as it is`;
    }
    text = printed ?? `;; binary module ${file.name} (${bytes.length} bytes) is the input;\n` +
      ';; it could not be printed as WAT. Edit this text to compile the text instead.\n';
    info ??= `${file.name}: wasm binary, ${bytes.length} bytes, shown as WAT printed from it ` +
      '((;@offset;) comments); the binary is the input until you edit the text';
  } else {
    text = new TextDecoder().decode(bytes);
    info = `${file.name}: text, ${bytes.length} bytes`;
  }
  state.suppressEditEvent = true;
  state.editor.setText(text);
  state.suppressEditEvent = false;
  state.uploadedBytes = binary;
  $('upload-info').textContent = info;
  scheduleSave();
}

/** A copy of the component's default options for `target`. */
const defaultOptions = (target) => structuredClone(state.defaults[target]);
// The form explains allocation by default (the library's default leaves it out for speed).
const formDefaults = (target) => ({ ...defaultOptions(target), explainAllocation: true });

function fillTargets(select, targets) {
  for (const info of targets) select.append(element('option', { value: info.target }, info.name));
}

async function main() {
  // The Worker loads the component while the page loads the editor.
  state.client = new CompilerClient();
  let editorModule;
  try {
    editorModule = await import('./dist/editor.js');
  } catch (error) {
    setStatus('The editor bundle is missing or failed to load: run `npm run build` in web/ ' +
      `(after building synth.wasm). Details: ${error.message}`, 'error');
    throw error;
  }
  const saved = await loadViewState();
  const initialText = typeof saved?.source === 'string' ? saved.source : DEFAULT_SOURCE;
  state.editor = editorModule.createEditor($('editor'), initialText, {
    onChange: () => {
      if (state.suppressEditEvent) return;
      state.uploadedBytes = null;
      $('upload-info').textContent = '';
      $('upload').value = '';
      scheduleSave();
    },
    onCompile: () => $('compile').click(),
    // The other way round from a listing row's hover: a WAT line shows its machine code.
    onLineFocus: (line) => state.listing?.highlightLine(line, 'if-hidden'),
    onBandClick: (line) => state.listing?.highlightLine(line, 'first'),
  });
  $('editor').dataset.loaded = 'true';

  try {
    ({ targets: state.targets, defaults: state.defaults } = await state.client.ready);
  } catch (error) {
    setStatus('The compiler component is missing or failed to load in its Worker: run ' +
      `\`npm run build\` in web/ (after building synth.wasm). Details: ${error.message}`, 'error');
    throw error;
  }
  const { targets } = state;
  fillTargets($('target'), targets);
  fillTargets($('diff-target'), targets);
  const describeTarget = () => {
    const info = targets.find((t) => t.target === $('target').value);
    $('target-description').textContent = info ? info.description : '';
  };

  // Defaults first, then what was saved: a saved state from an older page misses nothing.
  applyOptionsToForm(formDefaults($('target').value));
  const diffDefaults = formDefaults($('target').value);
  applyDiffOptionsToForm({ ...diffDefaults, spillRealloc: !diffDefaults.spillRealloc, enabled: false });
  if (saved?.options) applyOptionsToForm(saved.options);
  if (saved?.diff) applyDiffOptionsToForm(saved.diff);
  describeTarget();

  // A target change keeps every other option as the user set it.
  $('target').addEventListener('change', () => {
    describeTarget();
    scheduleSave();
  });
  for (const id of ['bounds-checks', 'stack-check', 'optimize', 'optimize-for-size', 'spill-realloc',
    'max-memory-pages', 'diff-enable', 'diff-target', 'diff-bounds-checks', 'diff-stack-check',
    'diff-optimize', 'diff-optimize-for-size', 'diff-spill-realloc']) {
    $(id).addEventListener('change', scheduleSave);
  }
  $('upload').addEventListener('change', () => {
    const file = $('upload').files[0];
    if (file) loadFile(file).catch((error) => setStatus(`Could not read the file: ${error.message}`, 'error'));
  });
  const dropZone = $('editor');
  // Capture phase: a dropped file is the input, CodeMirror must not insert it as text.
  dropZone.addEventListener('dragover', (event) => {
    event.preventDefault();
    dropZone.classList.add('dragging');
  }, true);
  dropZone.addEventListener('dragleave', () => dropZone.classList.remove('dragging'));
  dropZone.addEventListener('drop', (event) => {
    const file = event.dataTransfer?.files?.[0];
    if (!file) return;
    event.preventDefault();
    event.stopPropagation();
    dropZone.classList.remove('dragging');
    loadFile(file).catch((error) => setStatus(`Could not read the file: ${error.message}`, 'error'));
  }, true);
  $('compile').addEventListener('click', () => {
    compileFromForm().catch((error) => setStatus(`Unexpected failure: ${error.message}`, 'error'));
  });
  $('copy-link').addEventListener('click', async () => {
    const hash = await saveViewState();
    if (hash === null) return;
    const url = `${location.origin}${location.pathname}${hash}`;
    try {
      await navigator.clipboard.writeText(url);
      $('link-info').textContent = `link copied (${url.length} characters)`;
    } catch {
      $('link-info').textContent = 'the address bar holds the link';
    }
  });
  $('download-object').addEventListener('click', () => {
    if (state.lastOutput) download(state.lastOutput.object, `${state.lastBaseName}.o`, 'application/x-elf');
  });
  $('download-header').addEventListener('click', () => {
    if (state.lastOutput) download(state.lastOutput.header, `${state.lastBaseName}.h`, 'text/x-c');
  });
  $('compile').disabled = false;
  setStatus('Ready.', 'ready');
  return { targets };
}

const DEFAULT_SOURCE = `(module
  (func (export "add") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.add))
`;

const ready = main();

window.synthPlayground = {
  /** Resolves once the component is loaded (rejects when it cannot be). */
  ready,
  targets: () => state.targets,
  defaultOptions,
  compile: compileInput,
  /** The editor's text, and replacing it (as an edit: the text becomes the input). */
  getSource: () => state.editor.getText(),
  setSource: (text) => state.editor.setText(text),
  /** The last diff's per-function rows ({ symbol, a, b, delta }), or null. */
  lastDiff: () => state.lastDiff,
  /** Milliseconds the last listing took to render, and how many rows it holds. */
  lastRender: () => ({ millis: state.renderMillis, rows: state.listing?.totalRows ?? 0 }),
  /** Stage times of the last compile from the page (milliseconds; see renderCompile). */
  lastTimings: () => state.timings,
  /** How often the compiler Worker was replaced after a crash or an internal error. */
  workerRestarts: () => state.client.restarts,
  /** Time `iterations` compiles of one input in the Worker without rendering; for benchmarks. */
  benchmark: (input, options, iterations) => state.client.call('benchmark', { input, options, iterations }),
};
