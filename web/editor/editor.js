// The playground's WAT editor: CodeMirror 6 with the WAT/WAST legacy mode for highlighting,
// line numbers, and compile errors as lint diagnostics. build.mjs bundles this file with esbuild
// into dist/editor.js, so the page loads the editor from the local server like everything else.
import { EditorState, StateEffect, StateField } from '@codemirror/state';
import {
  Decoration, EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter,
  drawSelection, highlightSpecialChars,
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

/**
 * Create the editor in `parent` holding `doc`. `onChange(text)` runs after each edit (debounce
 * there), `onCompile()` on Ctrl+Enter / Cmd+Enter.
 */
export function createEditor(parent, doc, { onChange, onCompile }) {
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc,
      extensions: [
        lineNumbers(),
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
    focus: () => view.focus(),
  };
}
