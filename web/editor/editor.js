// The playground's WAT editor: CodeMirror 6 with the WAT/WAST legacy mode for highlighting,
// line numbers, and compile errors as lint diagnostics. build.mjs bundles this file with esbuild
// into dist/editor.js, so the page loads the editor from the local server like everything else.
import { EditorState, RangeSet, RangeSetBuilder, StateEffect, StateField } from '@codemirror/state';
import {
  Decoration, EditorView, GutterMarker, gutter, keymap, lineNumbers, highlightActiveLine,
  highlightActiveLineGutter, drawSelection, highlightSpecialChars,
} from '@codemirror/view';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import {
  StreamLanguage, syntaxHighlighting, defaultHighlightStyle, bracketMatching,
} from '@codemirror/language';
import { linter, lintGutter, setDiagnostics } from '@codemirror/lint';
import { wast } from '@codemirror/legacy-modes/mode/wast';

// The WAT line of the listing row under the mouse: a line decoration set by an effect.
const setMarkedLine = StateEffect.define();
const markedLineDecoration = Decoration.line({ class: 'cm-wat-marked' });
const markedLine = StateField.define({
  create: () => Decoration.none,
  update(decorations, transaction) {
    let result = decorations.map(transaction.changes);
    for (const effect of transaction.effects) {
      if (!effect.is(setMarkedLine)) continue;
      const line = effect.value;
      const doc = transaction.state.doc;
      result = line === null || line < 1 || line > doc.lines
        ? Decoration.none
        : Decoration.set([markedLineDecoration.range(doc.line(line).from)]);
    }
    return result;
  },
  provide: (field) => EditorView.decorations.from(field),
});

// Colour bands: each WAT line that produced machine code carries its band colour (the same as
// its listing rows) as a line decoration and a gutter marker. Both are one set computed per
// compile (setBands) and mapped through edits; CodeMirror draws only the lines in view.
const setBands = StateEffect.define();
class BandMarker extends GutterMarker {
  constructor(band) {
    super();
    this.band = band;
  }

  eq(other) {
    return other.band === this.band;
  }

  toDOM() {
    const node = document.createElement('div');
    node.className = `cm-band band-${this.band}`;
    node.dataset.band = String(this.band);
    node.title = 'machine code from this line: click to show it in the listing';
    return node;
  }
}
const bandLineDecorations = [];
const bandMarkers = [];
function bandDecoration(band) {
  bandLineDecorations[band] ??= Decoration.line({ class: `cm-banded band-line-${band}`, attributes: { 'data-band': String(band) } });
  return bandLineDecorations[band];
}
function bandMarker(band) {
  bandMarkers[band] ??= new BandMarker(band);
  return bandMarkers[band];
}
const bandField = StateField.define({
  create: () => ({ lines: Decoration.none, markers: RangeSet.empty }),
  update(value, transaction) {
    let result = transaction.docChanged
      ? { lines: value.lines.map(transaction.changes), markers: value.markers.map(transaction.changes) }
      : value;
    for (const effect of transaction.effects) {
      if (!effect.is(setBands)) continue;
      const doc = transaction.state.doc;
      const lines = new RangeSetBuilder();
      const markers = new RangeSetBuilder();
      // [line, band] pairs sorted by line, as the builders need.
      for (const [line, band] of effect.value) {
        if (line < 1 || line > doc.lines) continue;
        const from = doc.line(line).from;
        lines.add(from, from, bandDecoration(band));
        markers.add(from, from, bandMarker(band));
      }
      result = { lines: lines.finish(), markers: markers.finish() };
    }
    return result;
  },
  provide: (field) => EditorView.decorations.from(field, (value) => value.lines),
});

/**
 * Create the editor in `parent` holding `doc`. `onChange(text)` runs after each edit (debounce
 * there), `onCompile()` on Ctrl+Enter / Cmd+Enter, `onLineFocus(line)` when the pointer moves
 * onto another line or the cursor moves to another line (1-based), `onBandClick(line)` on a
 * click on a line's band.
 */
export function createEditor(parent, doc, { onChange, onCompile, onLineFocus, onBandClick }) {
  let focusedLine = null;
  const focusLine = (line) => {
    if (line === focusedLine) return;
    focusedLine = line;
    onLineFocus?.(line);
  };
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc,
      extensions: [
        lineNumbers(),
        bandField,
        gutter({
          class: 'cm-band-gutter',
          markers: (view) => view.state.field(bandField).markers,
          domEventHandlers: {
            mousedown(view, block) {
              const line = view.state.doc.lineAt(block.from).number;
              const banded = view.state.field(bandField).markers.iter(block.from);
              if (banded.value === null || banded.from !== block.from) return false;
              onBandClick?.(line);
              return true;
            },
          },
        }),
        highlightActiveLineGutter(),
        highlightSpecialChars(),
        history(),
        drawSelection(),
        bracketMatching(),
        highlightActiveLine(),
        StreamLanguage.define(wast),
        markedLine,
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        // The diagnostics come from compiling (setDiagnostics); the linter itself adds none.
        linter(null),
        lintGutter(),
        keymap.of([
          { key: 'Mod-Enter', run: () => { onCompile?.(); return true; } },
          indentWithTab,
          ...defaultKeymap,
          ...historyKeymap,
        ]),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) onChange?.();
          if (update.selectionSet) focusLine(update.state.doc.lineAt(update.state.selection.main.head).number);
        }),
        EditorView.domEventHandlers({
          mousemove(event, view) {
            const pos = view.posAtCoords({ x: event.clientX, y: event.clientY }, false);
            focusLine(view.state.doc.lineAt(pos).number);
          },
        }),
        EditorView.contentAttributes.of({ 'aria-label': 'WAT source', spellcheck: 'false' }),
      ],
    }),
  });

  return {
    view,
    getText: () => view.state.doc.toString(),
    setText(text) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    },
    lineCount: () => view.state.doc.lines,
    /** Show `items` ({ line (1-based), message, severity }) as squiggles; [] clears. */
    setDiagnostics(items) {
      const doc = view.state.doc;
      const diagnostics = items.map(({ line, message, severity }) => {
        const target = doc.line(Math.min(Math.max(1, line), doc.lines));
        // Underline the line's text, not its indentation.
        const indent = /^\s*/.exec(target.text)[0].length;
        const from = Math.min(target.from + indent, target.to);
        return { from, to: Math.max(target.to, from), severity: severity ?? 'error', message };
      });
      view.dispatch(setDiagnostics(view.state, diagnostics));
    },
    /** Scroll `line` (1-based) into view and put the cursor there. */
    revealLine(line) {
      const target = view.state.doc.line(Math.min(Math.max(1, line), view.state.doc.lines));
      view.dispatch({ selection: { anchor: target.from }, scrollIntoView: true });
    },
    /** Mark `line` (1-based) as the one the pointer's listing row came from; null unmarks. */
    markLine(line) {
      view.dispatch({ effects: setMarkedLine.of(line) });
    },
    /** Colour the lines of `bands` ([line, band] pairs sorted by line); [] clears. */
    setBands(bands) {
      view.dispatch({ effects: setBands.of(bands) });
    },
    focus: () => view.focus(),
  };
}
