// The synth playground: loads the jco-transpiled compiler component and drives it from the page.
// `window.synthPlayground` exposes the same compile path to tests and benchmarks.

const $ = (id) => document.getElementById(id);

const state = {
  compiler: null, // the component's `synth:compiler/compile` interface
  uploadedBytes: null, // bytes of an uploaded file; null when the textarea is the input
  uploadedName: null,
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
    listing: f.listing.map((line) => ({
      offset: line.offset,
      bytes: hex(line.bytes),
      text: line.text,
      wasm_offset: line.wasmOffset ?? null,
      kind: line.kind,
    })),
  }));
  return {
    target: report.target,
    total_code_size: functions.reduce((sum, f) => sum + f.code_size, 0),
    functions,
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

function optionsFromForm() {
  const pages = Number.parseInt($('max-memory-pages').value, 10);
  return {
    target: $('target').value,
    boundsChecks: $('bounds-checks').checked,
    stackCheck: $('stack-check').checked,
    maxMemoryPages: Number.isInteger(pages) && pages >= 0 ? pages : 0,
    optimize: $('optimize').checked,
    spillRealloc: $('spill-realloc').checked,
  };
}

function applyOptionsToForm(options) {
  $('bounds-checks').checked = options.boundsChecks;
  $('stack-check').checked = options.stackCheck;
  $('optimize').checked = options.optimize;
  $('spill-realloc').checked = options.spillRealloc;
  $('max-memory-pages').value = String(options.maxMemoryPages);
}

function element(tag, attributes = {}, text = undefined) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function renderReport(report) {
  const body = $('report').querySelector('tbody');
  const foot = $('report').querySelector('tfoot');
  body.replaceChildren();
  const totals = { codeSize: 0, spills: 0, reloads: 0, moves: 0, remats: 0 };
  for (const f of report.functions) {
    const row = element('tr');
    for (const cell of [f.name, f.symbol, f.codeSize, f.spills, f.reloads, f.moves, f.remats,
      f.maxPressure, f.frameSize]) {
      row.append(element('td', {}, String(cell)));
    }
    body.append(row);
    for (const key of Object.keys(totals)) totals[key] += f[key];
  }
  const total = element('tr');
  for (const cell of ['total', '', totals.codeSize, totals.spills, totals.reloads, totals.moves,
    totals.remats, '', '']) {
    total.append(element('td', {}, String(cell)));
  }
  foot.replaceChildren(total);
}

function renderListing(report) {
  const table = element('table', { class: 'listing' });
  const head = element('tr');
  for (const title of ['offset', 'bytes', 'instruction', 'wasm']) head.append(element('th', {}, title));
  const thead = element('thead');
  thead.append(head);
  table.append(thead);
  const body = element('tbody');
  for (const f of report.functions) {
    const title = element('tr', { class: 'function-name' });
    title.append(element('td', { colspan: '4' }, `${f.symbol}  (${f.name})`));
    body.append(title);
    for (const line of f.listing) {
      const row = element('tr', { class: `kind-${line.kind}` });
      row.append(
        element('td', { class: 'offset' }, line.offset.toString(16).padStart(4, '0')),
        element('td', { class: 'bytes' }, hex(line.bytes)),
        element('td', { class: 'text' }, line.text),
        element('td', { class: 'wasm' },
          line.wasmOffset === undefined ? '' : `0x${line.wasmOffset.toString(16)}`),
      );
      row.title = line.kind;
      body.append(row);
    }
  }
  table.append(body);
  $('listing').replaceChildren(table);
}

function renderError(error) {
  const parts = [`${error.kind}: ${error.message}`];
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

async function compileFromForm() {
  const button = $('compile');
  button.disabled = true;
  $('error').hidden = true;
  $('result').hidden = true;
  setStatus('Compiling…', 'busy');
  // Let the status paint before the synchronous compile blocks the main thread.
  await new Promise((resolve) => setTimeout(resolve, 0));
  try {
    const input = state.uploadedBytes ?? $('source').value;
    const result = await compileInput(input, optionsFromForm());
    if (!result.ok) {
      renderError(result.error);
      setStatus(`Compilation failed (${result.error.kind}).`, 'error');
      return;
    }
    state.lastOutput = result.output;
    $('sha256').textContent = result.sha256;
    $('object-size').textContent = String(result.output.object.length);
    $('compile-time').textContent = `compiled in ${result.millis.toFixed(1)} ms`;
    $('header').textContent = result.output.header;
    renderReport(result.output.report);
    renderListing(result.output.report);
    $('result').hidden = false;
    setStatus(`Compiled for ${result.output.report.target}.`, 'done');
  } finally {
    button.disabled = false;
  }
}

async function onUpload() {
  const file = $('upload').files[0];
  if (!file) return;
  const bytes = new Uint8Array(await file.arrayBuffer());
  const isBinary = bytes.length >= 4 && bytes[0] === 0 && bytes[1] === 0x61 && bytes[2] === 0x73 &&
    bytes[3] === 0x6d;
  state.lastBaseName = file.name.replace(/\.(wat|wasm)$/i, '') || 'module';
  if (isBinary) {
    // Binary input cannot be shown as text; keep the bytes and say so in the editor.
    state.uploadedBytes = bytes;
    $('source').value = `;; binary module ${file.name} (${bytes.length} bytes) is the input;\n` +
      ';; edit this text to compile the text instead';
    $('upload-info').textContent = `${file.name}: wasm binary, ${bytes.length} bytes`;
  } else {
    state.uploadedBytes = null;
    $('source').value = new TextDecoder().decode(bytes);
    $('upload-info').textContent = `${file.name}: text, ${bytes.length} bytes`;
  }
}

async function main() {
  let module;
  try {
    module = await import('./dist/synth/synth.js');
  } catch (error) {
    setStatus('The compiler component is missing or failed to load: run `npm run build` in web/ ' +
      `(after building synth.wasm). Details: ${error.message}`, 'error');
    throw error;
  }
  state.compiler = module.compile;
  const targets = state.compiler.targets();
  const select = $('target');
  for (const info of targets) {
    select.append(element('option', { value: info.target }, info.name));
  }
  const describeTarget = () => {
    const info = targets.find((t) => t.target === select.value);
    $('target-description').textContent = info ? info.description : '';
  };
  select.addEventListener('change', () => {
    applyOptionsToForm(state.compiler.defaultOptions(select.value));
    describeTarget();
  });
  applyOptionsToForm(state.compiler.defaultOptions(select.value));
  describeTarget();

  $('source').addEventListener('input', () => {
    state.uploadedBytes = null;
    $('upload-info').textContent = '';
  });
  $('upload').addEventListener('change', () => {
    onUpload().catch((error) => setStatus(`Could not read the file: ${error.message}`, 'error'));
  });
  $('compile').addEventListener('click', () => {
    compileFromForm().catch((error) => setStatus(`Unexpected failure: ${error.message}`, 'error'));
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

const ready = main();

window.synthPlayground = {
  /** Resolves once the component is loaded (rejects when it cannot be). */
  ready,
  targets: () => state.compiler.targets(),
  defaultOptions: (target) => state.compiler.defaultOptions(target),
  compile: compileInput,
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
