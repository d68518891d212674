// The compiler Worker: loads the jco-transpiled component (dist/synth/synth.js, whose WASI
// imports point at dist/shim/ by relative path, so no import map is needed here) and runs every
// call to it, so a long compile never blocks the page. Started by compiler-client.js as a module
// Worker. Requests run one at a time in arrival order; each reports its stages as it goes.
//
// page -> worker: { id, op, args }
// worker -> page: { ready: { targets, defaults } } | { loadError }   once, at start
//                 { id, stage }                        a stage of request `id` has started
//                 { id, value } | { id, failure }      the request's outcome

let compiler = null;

/** Epoch milliseconds, comparable with the page's (both clocks have their own time origin). */
const now = () => performance.timeOrigin + performance.now();

/** Lowercase hex of a byte array. */
function hex(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i += 1) out += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
  return out;
}

async function sha256Hex(bytes) {
  return hex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
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
  // A trap inside the component is a compiler bug; the client restarts this Worker afterwards.
  return {
    kind: 'internal',
    message: `the compiler component failed: ${thrown instanceof Error ? thrown.message : String(thrown)}`,
    offset: null,
    function: null,
  };
}

/** An allocation account in the native `--report-json` shape. */
function allocationToNativeJson(a) {
  return {
    classes: a.classes.map((c) => ({ name: c.name, registers: c.registers })),
    values: a.values.map((v) => ({ name: v.name, origin: v.origin, class: v.class, wasm_offset: v.wasmOffset ?? null })),
    ranges: a.ranges.map((r) => ({ value: r.value, location: r.location, first_line: r.firstLine, end_line: r.endLine })),
    pressure: Array.from(a.pressure),
    blocks: a.blocks.map((b) => ({ label: b.label, first_line: b.firstLine, end_line: b.endLine, max_pressure: b.maxPressure })),
    notes: a.notes.map((n) => ({ line: n.line, value: n.value ?? null, reason: n.reason, related_line: n.relatedLine ?? null })),
    slots: a.slots.map((s) => ({ location: s.location, values: Array.from(s.values) })),
  };
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
    allocation: f.allocation ? allocationToNativeJson(f.allocation) : null,
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

const toBytes = (input) => (typeof input === 'string' ? new TextEncoder().encode(input) : new Uint8Array(input));

/**
 * One compile: { ok: true, output, sha256, millis, finishedAt[, reportJson] } or
 * { ok: false, error, millis, finishedAt }. The output is the component's, passed through as it
 * is (new report fields reach the page without changes here).
 */
async function compileOnce(input, options, wantReportJson) {
  const bytes = toBytes(input);
  const started = performance.now();
  let output;
  try {
    output = compiler.compile(bytes, options);
  } catch (thrown) {
    return { ok: false, error: describeFailure(thrown), millis: performance.now() - started, finishedAt: now() };
  }
  const millis = performance.now() - started;
  const finishedAt = now();
  const result = { ok: true, output, sha256: await sha256Hex(output.object), millis, finishedAt };
  if (wantReportJson) result.reportJson = reportToNativeJson(output.report);
  return result;
}

// WAT lines of wasm offsets. For WAT text the component's `source-map` gives the line of every
// operator and function body of the binary the text encodes to; for a binary input the editor
// shows `print-wat`'s text, whose `(;@hex;)` comments name the offset of each line.

/** Sorted { offsets, lines } (Uint32Arrays) of the input, or null when there is none. */
function buildSourceMap(input, text) {
  if (typeof input !== 'string') return printedSourceMap(text);
  const points = compiler.sourceMap(toBytes(input));
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

const operations = {
  /** The API's compile: one compilation with its report in the native JSON shape. */
  compile: ({ input, options }) => compileOnce(input, options, true),

  /**
   * What the page's Compile button needs: A, B when a diff is on, and the WAT line map, with a
   * stage message before each so the page can show where it is.
   */
  async compileView({ input, text, options, optionsB }, stage) {
    stage(optionsB ? 'compiling A' : 'compiling');
    const a = await compileOnce(input, options, false);
    let b = null;
    if (a.ok && optionsB) {
      stage('compiling B');
      b = await compileOnce(input, optionsB, false);
    }
    stage('mapping WAT lines');
    const mapStarted = performance.now();
    let map = null;
    try {
      map = buildSourceMap(input, text);
    } catch {
      // Text wat cannot parse has no map; the compile error carries wat's own line.
    }
    return { a, b, map, mapMillis: performance.now() - mapStarted };
  },

  printWat: ({ bytes }) => {
    try {
      return { ok: true, text: compiler.printWat(new Uint8Array(bytes)) };
    } catch (thrown) {
      return { ok: false, message: String(thrown?.payload ?? thrown) };
    }
  },

  /** Time `iterations` compiles of one input without rendering; for benchmarks. */
  benchmark: ({ input, options, iterations }) => {
    const bytes = toBytes(input);
    const times = [];
    let codeSize = 0;
    for (let i = 0; i < iterations; i += 1) {
      const started = performance.now();
      let output;
      try {
        output = compiler.compile(bytes, options);
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

/** Buffers of a result that can move to the page instead of being copied. */
function transferables(value) {
  const list = [];
  // Only an array that owns its whole buffer (jco copies lifted lists out of the instance's
  // memory; the memory itself must never be detached).
  const add = (result) => {
    const object = result?.ok ? result.output?.object : null;
    if (object && object.byteOffset === 0 && object.byteLength === object.buffer.byteLength) list.push(object.buffer);
  };
  add(value);
  add(value?.a);
  add(value?.b);
  if (value?.map) list.push(value.map.offsets.buffer, value.map.lines.buffer);
  return list;
}

// Requests queue up while the component loads (and while one runs: the thread is busy).
let queue = Promise.resolve();

self.onmessage = ({ data: { id, op, args } }) => {
  queue = queue.then(async () => {
    const stage = (name) => self.postMessage({ id, stage: name, at: now() });
    try {
      const value = await operations[op](args, stage);
      self.postMessage({ id, value }, transferables(value));
    } catch (error) {
      self.postMessage({ id, failure: error instanceof Error ? error.message : String(error) });
    }
  });
};

queue = (async () => {
  try {
    ({ compile: compiler } = await import('./dist/synth/synth.js'));
  } catch (error) {
    self.postMessage({ loadError: error instanceof Error ? error.message : String(error) });
    return;
  }
  const targets = compiler.targets();
  const defaults = Object.fromEntries(targets.map((t) => [t.target, compiler.defaultOptions(t.target)]));
  self.postMessage({ ready: { targets, defaults } });
})();
