// The listing: rows built from the compiler's report, colour bands tying each row to its WAT
// line, and a virtual list that keeps only the rows in view in the DOM.
//
// A row is a plain object: { header, symbol } for a function's first row, { pad: true } for
// filler in a diff, or { line, watLine, band } for a listing line (`line` is the report's
// listing line as the component returned it, so extra per-row data the report may carry later
// reaches renderRow unchanged). renderRow is the one place that turns a row into DOM.

// Fixed-height rows: the DOM holds only the rows in view (plus a margin) inside a spacer as
// tall as the whole listing.
export const ROW_HEIGHT = 20;
const OVERSCAN = 20;
/** Size of the repeating colour palette of the bands (style.css: --band-0 ...). */
export const BAND_COUNT = 6;

function element(tag, attributes = {}, text = undefined) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Lowercase hex of a byte array. */
export function hex(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i += 1) out += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
  return out;
}

/** The line of the last map point at or before `offset`, or null. */
export function lineOfOffset(map, offset) {
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

/** Functions of A and B aligned by symbol (A's order, then B's extras). */
export function alignFunctions(a, b) {
  const bySymbol = new Map(b.functions.map((f) => [f.symbol, f]));
  const pairs = a.functions.map((f) => {
    const other = bySymbol.get(f.symbol) ?? null;
    bySymbol.delete(f.symbol);
    return [f, other];
  });
  for (const f of bySymbol.values()) pairs.push([null, f]);
  return pairs;
}

/**
 * A listing row: the line, its WAT line and band, and (with an allocation account) the
 * function's account and the line's index in it, for the pressure strip and the "why" panel.
 */
const lineRow = (line, map, fn = null, index = 0) => {
  const account = fn?.allocation ?? null;
  // An allocator edit has no operator of its own: it points at the WAT line defining its value.
  const note = account && line.wasmOffset == null ? noteAt(account, index) : null;
  const value = note && note.value != null ? account.values[note.value] : null;
  const valueLine = value ? lineOfOffset(map, value.wasmOffset) : null;
  return { line, watLine: lineOfOffset(map, line.wasmOffset), valueLine, band: null, account, index };
};

/** Listing rows of one report: a header per function, then its lines. */
export function listingRows(report, map) {
  const rows = [];
  for (const f of report.functions) {
    rows.push({ header: `${f.symbol}  (${f.name})`, symbol: f.symbol });
    f.listing.forEach((line, index) => rows.push(lineRow(line, map, f, index)));
  }
  return [rows];
}

/** Two reports' rows with each function padded to the longer of its two versions. */
export function alignedRows(a, b, map) {
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
      left.push(i < la.length ? lineRow(la[i], map, fa, i) : { pad: true });
      right.push(i < lb.length ? lineRow(lb[i], map, fb, i) : { pad: true });
    }
  }
  return [left, right];
}

/**
 * Give every WAT line that produced machine code a band colour: per function, its lines in
 * order, cycling through the palette, so neighbouring lines always differ. Sets `band` on the
 * rows (rows without a WAT line keep null: prologue, allocator edits, data). Returns the lines'
 * bands sorted by line ([line, band] pairs, for the editor) and, per line, its row indices.
 */
export function assignBands(columns) {
  const total = columns[0].length;
  const bandOfLine = new Map();
  for (let start = 0; start < total;) {
    let end = start + 1;
    while (end < total && columns[0][end].header === undefined) end += 1;
    const lines = new Set();
    for (const rows of columns) {
      for (let i = start; i < end; i += 1) if (rows[i].watLine != null) lines.add(rows[i].watLine);
    }
    Array.from(lines).sort((x, y) => x - y).forEach((line, rank) => {
      if (!bandOfLine.has(line)) bandOfLine.set(line, rank % BAND_COUNT);
    });
    start = end;
  }
  const rowsOfLine = new Map();
  for (let i = 0; i < total; i += 1) {
    for (const rows of columns) {
      const row = rows[i];
      if (row.watLine == null) continue;
      row.band = bandOfLine.get(row.watLine);
      const list = rowsOfLine.get(row.watLine);
      if (!list) rowsOfLine.set(row.watLine, [i]);
      else if (list[list.length - 1] !== i) list.push(i);
    }
  }
  const bands = Array.from(bandOfLine).sort((x, y) => x[0] - y[0]);
  return { bands, rowsOfLine };
}

/** How many of `items` (sorted by `key`) have a key below `index`. */
function countBelow(items, key, index) {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (items[mid][key] < index) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The note of the edit starting at listing line `index` (notes are sorted by line). */
export function noteAt(account, index) {
  const note = account.notes[countBelow(account.notes, 'line', index)];
  return note && note.line === index ? note : null;
}

/** The machine block holding listing line `index` (blocks are in listing order). */
export function blockAt(account, index) {
  const block = account.blocks[countBelow(account.blocks, 'firstLine', index + 1) - 1];
  return block && index < block.endLine ? block : null;
}

/** The values live at listing line `index` and where each is: [{ value, locations }]. */
export function liveAt(account, index) {
  const byValue = new Map();
  for (const range of account.ranges) {
    if (range.firstLine > index) break; // sorted by first line
    if (index >= range.endLine) continue;
    const list = byValue.get(range.value);
    if (list) list.push(range.location);
    else byValue.set(range.value, [range.location]);
  }
  return Array.from(byValue, ([value, locations]) => ({ value: account.values[value], index: value, locations }));
}

/** The DOM of one row; `highlightLine` is the WAT line whose rows are highlighted. */
export function renderRow(row, highlightLine) {
  if (row.header !== undefined) {
    return element('div', { class: 'lrow function-name', 'data-symbol': row.symbol }, row.header);
  }
  if (row.pad) return element('div', { class: 'lrow pad' });
  const { line, watLine, band, account, index } = row;
  const note = account ? noteAt(account, index) : null;
  const div = element('div', { class: `lrow kind-${line.kind}`, title: note ? `${line.kind}: ${note.reason}` : line.kind });
  if (note) div.classList.add('has-note');
  const hasOffset = line.wasmOffset !== undefined && line.wasmOffset !== null;
  const bandSpan = element('span', { class: 'band' });
  if (band !== null) {
    bandSpan.classList.add(`band-${band}`);
    div.dataset.band = String(band);
  }
  div.append(
    bandSpan,
    element('span', { class: 'offset' }, line.offset.toString(16).padStart(4, '0')),
    element('span', { class: 'bytes' }, hex(line.bytes)),
    element('span', { class: 'text' }, line.text),
    element('span', { class: 'wasm', title: hasOffset ? `wasm offset 0x${line.wasmOffset.toString(16)}` : '' },
      !hasOffset ? '' : watLine !== null ? `L${watLine}` : `0x${line.wasmOffset.toString(16)}`),
  );
  if (account) {
    // The pressure strip: values live at this line against the core registers.
    const pressure = account.pressure[index] ?? 0;
    const registers = account.classes[0]?.registers ?? 1;
    const strip = element('span', { class: 'pressure', title: `${pressure} live values (${registers} core registers)` });
    const bar = element('span', { class: pressure > registers ? 'bar over' : 'bar' });
    bar.style.width = `${Math.min(100, (100 * pressure) / (2 * registers))}%`;
    strip.append(bar);
    // The block's peak as a tick on the same scale: the per-block pressure.
    const block = blockAt(account, index);
    if (block) {
      const tick = element('span', { class: 'peak', title: `block ${block.label} peaks at ${block.maxPressure}` });
      tick.style.left = `${Math.min(100, (100 * block.maxPressure) / (2 * registers))}%`;
      strip.append(tick);
      strip.title += `; block ${block.label} peaks at ${block.maxPressure}`;
    }
    div.append(strip);
    div.dataset.pressure = String(pressure);
  }
  if (row.valueLine != null) div.dataset.valueLine = String(row.valueLine);
  if (watLine !== null) {
    div.dataset.watLine = String(watLine);
    if (watLine === highlightLine) div.classList.add('wat-hl');
  }
  return div;
}

/**
 * A virtual list over `columns` (one or two arrays of rows of equal length), scroll-synced, in
 * `container`. `onRowHover(watLine | null)` and `onRowClick(watLine)` hear the pointer on rows
 * that have a WAT line.
 */
export function renderListing(container, columns, { titles = null, rowsOfLine = new Map(), onRowHover, onRowClick, onRowInspect } = {}) {
  const total = columns[0].length;
  let highlight = null;
  const panes = columns.map((rows, index) => {
    const pane = element('div', { class: 'listing-pane' });
    if (titles) pane.append(element('div', { class: 'pane-title' }, titles[index]));
    const header = element('div', { class: 'lrow listing-head' });
    header.append(element('span', { class: 'band' }));
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
      for (let i = first; i < last; i += 1) {
        const node = renderRow(pane.rows[i], highlight);
        node.dataset.row = String(i);
        nodes.push(node);
      }
      pane.window_.replaceChildren(...nodes);
    }
  };
  const viewportHeight = () => panes[0].viewport.clientHeight || 600;
  let syncing = false;
  let hovered = null;
  for (const pane of panes) {
    pane.viewport.addEventListener('scroll', () => {
      if (syncing) return;
      syncing = true;
      for (const other of panes) if (other !== pane) other.viewport.scrollTop = pane.viewport.scrollTop;
      syncing = false;
      draw(pane.viewport.scrollTop, pane.viewport.clientHeight);
    });
    // One listener per pane rather than per row: rows come and go as the list scrolls.
    pane.window_.addEventListener('mouseover', (event) => {
      const row = event.target.closest('.lrow');
      const data = row ? pane.rows[Number(row.dataset.row)] : null;
      if (data?.line) onRowInspect?.(data);
      const marked = row?.dataset.watLine ?? row?.dataset.valueLine;
      const line = marked ? Number(marked) : null;
      if (line === hovered) return;
      hovered = line;
      onRowHover?.(line);
    });
    pane.viewport.addEventListener('mouseleave', () => {
      hovered = null;
      onRowHover?.(null);
    });
    pane.window_.addEventListener('click', (event) => {
      const row = event.target.closest('.lrow[data-wat-line]');
      if (row) onRowClick?.(Number(row.dataset.watLine));
    });
  }
  container.replaceChildren(...panes.map((p) => p.viewport.parentNode));
  container.classList.toggle('two', panes.length === 2);
  delete container.dataset.highlightLine;
  container.dataset.highlightRows = '0';
  draw(0, viewportHeight());
  const scrollToRow = (index) => {
    for (const pane of panes) pane.viewport.scrollTop = index * ROW_HEIGHT;
    draw(index * ROW_HEIGHT, viewportHeight());
  };
  /** Whether any of the (sorted) row indices is fully in view. */
  const anyVisible = (indices) => {
    const top = panes[0].viewport.scrollTop;
    const firstVisible = Math.ceil(top / ROW_HEIGHT);
    const lastVisible = Math.floor((top + viewportHeight()) / ROW_HEIGHT) - 1;
    return indices.some((i) => i >= firstVisible && i <= lastVisible);
  };
  return {
    totalRows: total,
    scrollToFunction(symbol) {
      const index = columns[0].findIndex((row) => row.header !== undefined && row.symbol === symbol);
      if (index >= 0) scrollToRow(index);
    },
    /**
     * Highlight every row of WAT line `line` (null: none). `reveal`: 'if-hidden' scrolls to the
     * first of them when none is in view, 'first' always does. Returns how many rows.
     */
    highlightLine(line, reveal = null) {
      const indices = line === null ? [] : rowsOfLine.get(line) ?? [];
      if (line !== highlight) {
        highlight = line;
        for (const pane of panes) {
          for (const node of pane.window_.children) {
            node.classList.toggle('wat-hl', line !== null && node.dataset.watLine === String(line));
          }
        }
        if (line === null) delete container.dataset.highlightLine;
        else container.dataset.highlightLine = String(line);
        container.dataset.highlightRows = String(indices.length);
      }
      if (indices.length > 0 && (reveal === 'first' || (reveal === 'if-hidden' && !anyVisible(indices)))) {
        // A little context above the first row.
        scrollToRow(Math.max(0, indices[0] - 2));
      }
      return indices.length;
    },
  };
}
