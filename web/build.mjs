// Transpile the synth component (target/wasm32-wasip2/release/synth.wasm) with jco into
// web/dist/ (the compiler Worker, worker.js, loads it), copy preview2-shim's browser build
// next to it, and bundle the editor (editor/editor.js with CodeMirror 6) with esbuild into
// dist/editor.js, so the page works offline from the local server with nothing but web/dist/
// and the static files.
//
// Usage: node build.mjs [path/to/synth.wasm]   (default: $CARGO_TARGET_DIR or target/)
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const webDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(webDir, '..');
const componentPath = resolve(
  process.argv[2] ??
    join(resolve(repoRoot, process.env.CARGO_TARGET_DIR ?? 'target'), 'wasm32-wasip2/release/synth.wasm'),
);
const distDir = join(webDir, 'dist');

if (!existsSync(componentPath)) {
  console.error(
    `build: component not found at ${componentPath}\n` +
      'build it with: cargo build --release --target wasm32-wasip2 -p synth-compiler --bin synth',
  );
  process.exit(1);
}

// The packages' `exports` maps hide package.json, so locate them in web/node_modules directly.
const jcoBin = join(webDir, 'node_modules/@bytecodealliance/jco/dist/jco.js');
const shimBrowserDir = join(webDir, 'node_modules/@bytecodealliance/preview2-shim/dist/browser');
if (!existsSync(jcoBin) || !existsSync(shimBrowserDir)) {
  console.error('build: npm packages missing; run `npm ci` in web/ first');
  process.exit(1);
}

rmSync(distDir, { recursive: true, force: true });
mkdirSync(distDir, { recursive: true });

// The WASI imports point at the copied shims by relative path (instead of the package names
// jco writes by default), so the page and the module Worker (which has no import map) both
// load dist/synth/synth.js as it is.
const shimMappings = ['cli', 'clocks', 'filesystem', 'http', 'io', 'random', 'sockets']
  .map((name) => `wasi:${name}/*=../shim/${name}.js#*`);
const transpile = spawnSync(
  process.execPath,
  [jcoBin, 'transpile', componentPath, '-o', join(distDir, 'synth'), '--name', 'synth', '--quiet',
    '--map', ...shimMappings],
  { stdio: 'inherit' },
);
if (transpile.status !== 0) {
  console.error(`build: jco transpile failed (exit ${transpile.status})`);
  process.exit(1);
}

cpSync(shimBrowserDir, join(distDir, 'shim'), { recursive: true });

// The editor: one ES module with CodeMirror inside, minified (about 340 KB, 110 KB gzipped;
// the only download beyond the compiler).
const { build } = await import('esbuild');
await build({
  entryPoints: [join(webDir, 'editor/editor.js')],
  bundle: true,
  format: 'esm',
  minify: true,
  target: 'es2022',
  outfile: join(distDir, 'editor.js'),
  logLevel: 'warning',
});

// Record which component the dist was built from, so stale builds can be detected.
const componentSha256 = createHash('sha256').update(readFileSync(componentPath)).digest('hex');
writeFileSync(
  join(distDir, 'build-info.json'),
  JSON.stringify({ component: componentPath, componentSha256 }, null, 2) + '\n',
);
console.log(`build: ${componentPath} -> ${distDir} (component sha256 ${componentSha256})`);
