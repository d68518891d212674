// The synth playground: loads the jco-transpiled compiler component and drives it from the page.
// `window.synthPlayground` exposes the same compile path to tests and benchmarks.

const $ = (id) => document.getElementById(id);

const state = {
  compiler: null, // the component's `synth:compiler/compile` interface
  uploadedBytes: null, // bytes of an uploaded file; null when the textarea is the input
  editor: null, // the CodeMirror editor (editor/editor.js)
  listing: null, // the virtual listing
  lastDiff: null,
  renderMillis: 0,
  suppressEditEvent: false,
  lastOutput: null,
  lastBaseName: 'module',
};

function setStatus(text, kind) {
  const status = $('status');
  status.textContent = text;
  status.dataset.state = kind;
}

/** Lowercase hex of a byte array. */
function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

async function sha256Hex(bytes) {
  return hex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
}

/**
 * The report in the native CLI's `--report-json` shape (same keys, bytes as hex, absent wasm
 * offsets as null), so page and native reports compare directly.
 */
function reportToNativeJson(report) {
  const functions = report.functions.map((f) => ({
    name: f.name,
    symbol: f.symbol,
    code_size: f.codeSize,
    spills: f.spills,
    reloads: f.reloads,
    moves: f.moves,
    remats: f.remats,
    max_pressure: f.maxPressure,
    frame_size: f.frameSize,
    indirect: f.indirect,
    listing: f.listing.map((line) => ({
      offset: line.offset,
      bytes: hex(line.bytes),
      text: line.text,
      wasm_offset: line.wasmOffset ?? null,
      kind: line.kind,
    })),
  }));
  const { text, rodata, data, bss } = report.footprint;
  return {
    target: report.target,
    total_code_size: functions.reduce((sum, f) => sum + f.code_size, 0),
    footprint: { text, rodata, data, bss },
    functions,
    tables: report.tables.map((t) => ({
      name: t.name,
      symbol: t.symbol,
      element_type: t.elementType,
      size: t.size,
      capacity: t.capacity,
      null_entries: t.nullEntries,
      functions: t.functions,
    })),
  };
}

/** A typed compile error as plain data, or an internal error for anything else thrown. */
function describeFailure(thrown) {
  const payload = thrown && Object.prototype.hasOwnProperty.call(thrown, 'payload')
    ? thrown.payload
    : null;
  if (payload && typeof payload.kind === 'string') {
    return {
      kind: payload.kind,
      message: payload.message,
      offset: payload.offset === undefined ? null : Number(payload.offset),
      function: payload.function ?? null,
    };
  }
  // A trap inside the component is a compiler bug; the instance may be unusable afterwards.
  return {
    kind: 'internal',
    message: `the compiler component failed: ${thrown instanceof Error ? thrown.message : String(thrown)}` +
      ' (reload the page before compiling again)',
    offset: null,
    function: null,
  };
}

/**
 * Compile `input` (WAT text or wasm bytes) with `options` (WIT field names in camelCase).
 * Resolves to { ok: true, output, sha256, reportJson, millis } or { ok: false, error, millis }.
 */
async function compileInput(input, options) {
  if (!state.compiler) throw new Error('the compiler component is not loaded');
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : new Uint8Array(input);
  const started = performance.now();
  let output;
  try {
    output = state.compiler.compile(bytes, options);
  } catch (thrown) {
    return { ok: false, error: describeFailure(thrown), millis: performance.now() - started };
  }
  const millis = performance.now() - started;
  return {
    ok: true,
    output,
    sha256: await sha256Hex(output.object),
    reportJson: reportToNativeJson(output.report),
    millis,
  };
}

// ---------------------------------------------------------------------------------------------
// WAT lines of wasm offsets.
//
// Errors and listing lines carry offsets in the wasm binary. For WAT text the compiler's
// `source-map` gives, for the binary the text encodes to, the line of every operator and
// function body; for a binary input the editor shows `print-wat`'s text, whose `(;@hex;)`
// comments name the offset of each line, so that text is its own map.

/** Sorted { offsets, lines } of the current input, or null when there is none. */
function buildSourceMap(input, text) {
  if (typeof input !== 'string') return printedSourceMap(text);
  const points = state.compiler.sourceMap(new TextEncoder().encode(input));
  if (points.length === 0) return null;
  return {
    offsets: Uint32Array.from(points, (p) => p.wasmOffset),
    lines: Uint32Array.from(points, (p) => p.line),
  };
}

/** The map of WAT printed with offsets: `(;@1f  ;)` at the start of a line. */
function printedSourceMap(text) {
  const pairs = [];
  text.split('\n').forEach((line, index) => {
    const match = /^\s*\(;@([0-9a-f]+)\s*;\)/.exec(line);
    if (match) pairs.push([Number.parseInt(match[1], 16), index + 1]);
  });
  if (pairs.length === 0) return null;
  pairs.sort((a, b) => a[0] - b[0]);
  return { offsets: Uint32Array.from(pairs, (p) => p[0]), lines: Uint32Array.from(pairs, (p) => p[1]) };
}

/** The line of the last map point at or before `offset`, or null. */
function lineOfOffset(map, offset) {
  if (!map || offset === null || offset === undefined) return null;
  let lo = 0;
  let hi = map.offsets.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (map.offsets[mid] <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? null : map.lines[lo - 1];
}

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
  spillRealloc: 'spill-realloc',
};

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

/** Functions of A and B aligned by symbol (A's order, then B's extras). */
function alignFunctions(a, b) {
  const bySymbol = new Map(b.functions.map((f) => [f.symbol, f]));
  const pairs = a.functions.map((f) => {
    const other = bySymbol.get(f.symbol) ?? null;
    bySymbol.delete(f.symbol);
    return [f, other];
  });
  for (const f of bySymbol.values()) pairs.push([null, f]);
  return pairs;
}

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

// The listing is virtualised: all rows live in arrays, the DOM holds only the rows in view
// (plus a margin), each ROW_HEIGHT pixels high, inside a spacer as tall as the whole listing.
const ROW_HEIGHT = 20;
const OVERSCAN = 20;

/** Listing rows of one report: a header per function, then its lines. */
function listingRows(report, map) {
  const rows = [];
  for (const f of report.functions) {
    rows.push({ header: `${f.symbol}  (${f.name})`, symbol: f.symbol });
    for (const line of f.listing) rows.push(lineRow(line, map));
  }
  return rows;
}

function lineRow(line, map) {
  const watLine = lineOfOffset(map, line.wasmOffset);
  return {
    kind: line.kind,
    offset: line.offset.toString(16).padStart(4, '0'),
    bytes: hex(line.bytes),
    text: line.text,
    wasm: line.wasmOffset === undefined ? '' : (watLine !== null ? `L${watLine}` : `0x${line.wasmOffset.toString(16)}`),
    wasmTitle: line.wasmOffset === undefined ? '' : `wasm offset 0x${line.wasmOffset.toString(16)}`,
    watLine,
  };
}

/** Two reports' rows with each function padded to the longer of its two versions. */
function alignedRows(a, b, map) {
  const left = [];
  const right = [];
  for (const [fa, fb] of alignFunctions(a, b)) {
    const symbol = (fa ?? fb).symbol;
    left.push({ header: fa ? `${fa.symbol}  (${fa.name})` : `${symbol}: not in A`, symbol });
    right.push({ header: fb ? `${fb.symbol}  (${fb.name})` : `${symbol}: not in B`, symbol });
    const la = fa ? fa.listing : [];
    const lb = fb ? fb.listing : [];
    const n = Math.max(la.length, lb.length);
    for (let i = 0; i < n; i += 1) {
      left.push(i < la.length ? lineRow(la[i], map) : { pad: true });
      right.push(i < lb.length ? lineRow(lb[i], map) : { pad: true });
    }
  }
  return [left, right];
}

function renderRow(row) {
  if (row.header !== undefined) {
    return element('div', { class: 'lrow function-name', 'data-symbol': row.symbol }, row.header);
  }
  if (row.pad) return element('div', { class: 'lrow pad' });
  const div = element('div', { class: `lrow kind-${row.kind}`, title: row.kind });
  div.append(
    element('span', { class: 'offset' }, row.offset),
    element('span', { class: 'bytes' }, row.bytes),
    element('span', { class: 'text' }, row.text),
    element('span', { class: 'wasm', title: row.wasmTitle }, row.wasm),
  );
  if (row.watLine !== null) {
    div.dataset.watLine = String(row.watLine);
    div.addEventListener('click', () => state.editor.revealLine(row.watLine));
    div.addEventListener('mouseenter', () => state.editor.markLine(row.watLine));
    div.addEventListener('mouseleave', () => state.editor.markLine(null));
  }
  return div;
}

/** A virtual list over `columns` (one or two arrays of rows of equal length), scroll-synced. */
function renderListing(columns, titles) {
  const container = $('listing');
  const total = columns[0].length;
  const panes = columns.map((rows, index) => {
    const pane = element('div', { class: 'listing-pane' });
    if (titles) pane.append(element('div', { class: 'pane-title' }, titles[index]));
    const header = element('div', { class: 'lrow listing-head' });
    for (const t of ['offset', 'bytes', 'instruction', 'wat']) header.append(element('span', { class: t === 'instruction' ? 'text' : t === 'wat' ? 'wasm' : t }, t));
    const viewport = element('div', { class: 'listing-viewport', 'data-total-rows': String(total) });
    const spacer = element('div', { class: 'listing-spacer' });
    spacer.style.height = `${total * ROW_HEIGHT}px`;
    const window_ = element('div', { class: 'listing-window' });
    spacer.append(window_);
    viewport.append(spacer);
    pane.append(header, viewport);
    return { rows, viewport, window_, first: -1, last: -1 };
  });
  const draw = (scrollTop, height) => {
    const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(total, Math.ceil((scrollTop + height) / ROW_HEIGHT) + OVERSCAN);
    for (const pane of panes) {
      if (pane.first === first && pane.last === last) continue;
      pane.first = first;
      pane.last = last;
      pane.window_.style.transform = `translateY(${first * ROW_HEIGHT}px)`;
      const nodes = [];
      for (let i = first; i < last; i += 1) nodes.push(renderRow(pane.rows[i]));
      pane.window_.replaceChildren(...nodes);
    }
  };
  let syncing = false;
  for (const pane of panes) {
    pane.viewport.addEventListener('scroll', () => {
      if (syncing) return;
      syncing = true;
      for (const other of panes) if (other !== pane) other.viewport.scrollTop = pane.viewport.scrollTop;
      syncing = false;
      draw(pane.viewport.scrollTop, pane.viewport.clientHeight);
    });
  }
  container.replaceChildren(...panes.map((p) => p.viewport.parentNode));
  container.classList.toggle('two', panes.length === 2);
  draw(0, panes[0].viewport.clientHeight || 600);
  const scrollToRow = (index) => {
    for (const pane of panes) pane.viewport.scrollTop = index * ROW_HEIGHT;
    draw(index * ROW_HEIGHT, panes[0].viewport.clientHeight || 600);
  };
  return {
    totalRows: total,
    scrollToFunction(symbol) {
      const index = columns[0].findIndex((row) => row.header !== undefined && row.symbol === symbol);
      if (index >= 0) scrollToRow(index);
    },
  };
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

async function compileFromForm() {
  const button = $('compile');
  button.disabled = true;
  $('error').hidden = true;
  $('result').hidden = true;
  state.editor.setDiagnostics([]);
  setStatus('Compiling…', 'busy');
  saveViewState().catch(() => {});
  // Let the status paint before the synchronous compile blocks the main thread.
  await new Promise((resolve) => setTimeout(resolve, 0));
  try {
    const text = state.editor.getText();
    const input = state.uploadedBytes ?? text;
    const options = optionsFromForm();
    const result = await compileInput(input, options);
    const mapStarted = performance.now();
    const map = buildSourceMap(input, text);
    const mapMillis = performance.now() - mapStarted;
    if (!result.ok) {
      const line = errorLine(result.error, map);
      renderError(result.error, line);
      state.editor.setDiagnostics([{
        line: line ?? 1,
        message: `${result.error.kind}: ${result.error.message}` +
          (line === null && result.error.offset !== null ? ` (wasm offset 0x${result.error.offset.toString(16)}, no WAT line)` : ''),
      }]);
      $('editor').dataset.errorLine = String(line ?? '');
      setStatus(`Compilation failed (${result.error.kind}).`, 'error');
      return;
    }
    delete $('editor').dataset.errorLine;
    state.lastOutput = result.output;
    $('sha256').textContent = result.sha256;
    $('object-size').textContent = String(result.output.object.length);
    $('compile-time').textContent = `compiled in ${result.millis.toFixed(1)} ms`;
    $('header').textContent = result.output.header;
    renderReport(result.output.report);
    let other = null;
    if ($('diff-enable').checked) {
      const optionsB = diffOptionsFromForm(options);
      other = await compileInput(input, optionsB);
      if (!other.ok) {
        renderError({ ...other.error, message: `B (${describeOptions(optionsB)}): ${other.error.message}` }, null);
        other = null;
      } else {
        state.lastDiff = diffReports(result.output.report, other.output.report);
        renderDiff(state.lastDiff, `A: ${describeOptions(options)} · B: ${describeOptions(optionsB)}`);
      }
    }
    $('diff-section').hidden = other === null;
    if (other === null) state.lastDiff = null;
    $('result').hidden = false;
    const started = performance.now();
    state.listing = other
      ? renderListing(alignedRows(result.output.report, other.output.report, map), ['A', 'B'])
      : renderListing([listingRows(result.output.report, map)]);
    state.renderMillis = performance.now() - started;
    $('compile-time').textContent = `compiled in ${result.millis.toFixed(1)} ms` +
      (other ? ` (B in ${other.millis.toFixed(1)} ms)` : '') +
      ` · WAT lines in ${mapMillis.toFixed(1)} ms · listing in ${state.renderMillis.toFixed(1)} ms`;
    setStatus(`Compiled for ${result.output.report.target}.`, 'done');
  } finally {
    button.disabled = false;
  }
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
    let printed;
    try {
      printed = state.compiler.printWat(bytes);
    } catch (thrown) {
      printed = null;
      info = `${file.name}: wasm binary, ${bytes.length} bytes; it could not be printed as WAT ` +
        `(${thrown?.payload ?? thrown}), compiling the binary as it is`;
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

function fillTargets(select, targets) {
  for (const info of targets) select.append(element('option', { value: info.target }, info.name));
}

async function main() {
  let module;
  let editorModule;
  try {
    [module, editorModule] = await Promise.all([
      import('./dist/synth/synth.js'),
      import('./dist/editor.js'),
    ]);
  } catch (error) {
    setStatus('The compiler component or the editor bundle is missing or failed to load: run ' +
      `\`npm run build\` in web/ (after building synth.wasm). Details: ${error.message}`, 'error');
    throw error;
  }
  state.compiler = module.compile;
  const targets = state.compiler.targets();
  fillTargets($('target'), targets);
  fillTargets($('diff-target'), targets);
  const describeTarget = () => {
    const info = targets.find((t) => t.target === $('target').value);
    $('target-description').textContent = info ? info.description : '';
  };

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
  });
  $('editor').dataset.loaded = 'true';

  // Defaults first, then what was saved: a saved state from an older page misses nothing.
  applyOptionsToForm(state.compiler.defaultOptions($('target').value));
  const diffDefaults = state.compiler.defaultOptions($('target').value);
  applyDiffOptionsToForm({ ...diffDefaults, spillRealloc: !diffDefaults.spillRealloc, enabled: false });
  if (saved?.options) applyOptionsToForm(saved.options);
  if (saved?.diff) applyDiffOptionsToForm(saved.diff);
  describeTarget();

  // A target change keeps every other option as the user set it.
  $('target').addEventListener('change', () => {
    describeTarget();
    scheduleSave();
  });
  for (const id of ['bounds-checks', 'stack-check', 'optimize', 'spill-realloc', 'max-memory-pages',
    'diff-enable', 'diff-target', 'diff-bounds-checks', 'diff-stack-check', 'diff-optimize',
    'diff-spill-realloc']) {
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
  targets: () => state.compiler.targets(),
  defaultOptions: (target) => state.compiler.defaultOptions(target),
  compile: compileInput,
  /** The editor's text, and replacing it (as an edit: the text becomes the input). */
  getSource: () => state.editor.getText(),
  setSource: (text) => state.editor.setText(text),
  /** The last diff's per-function rows ({ symbol, a, b, delta }), or null. */
  lastDiff: () => state.lastDiff,
  /** Milliseconds the last listing took to render, and how many rows it holds. */
  lastRender: () => ({ millis: state.renderMillis, rows: state.listing?.totalRows ?? 0 }),
  /** Time `iterations` compiles of one input without rendering; for benchmarks. */
  benchmark(input, options, iterations) {
    const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : new Uint8Array(input);
    const times = [];
    let codeSize = 0;
    for (let i = 0; i < iterations; i += 1) {
      const started = performance.now();
      let output;
      try {
        output = state.compiler.compile(bytes, options);
      } catch (thrown) {
        const error = describeFailure(thrown);
        throw new Error(`${error.kind}: ${error.message}`);
      }
      times.push(performance.now() - started);
      codeSize = output.report.functions.reduce((sum, f) => sum + f.codeSize, 0);
    }
    return { times, codeSize, inputBytes: bytes.length };
  },
};
