// Compile throughput in the browser (jco-transpiled component in Chromium) vs the native CLI, on
// the largest fixtures and a generated module with over 1 MB of machine code. A benchmark, not a
// test: it prints a table and never fails on timing.
//
// Usage: node bench.mjs [--target cortex-m4f] [--iterations 5]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './serve.mjs';

const webDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(webDir, '..');
const fixturesDir = join(repoRoot, 'fixtures');
const nativeSynth = join(repoRoot, 'target/release/synth');

function argument(name, fallback) {
  const index = process.argv.indexOf(name);
  return index > 0 && index + 1 < process.argv.length ? process.argv[index + 1] : fallback;
}
const target = argument('--target', 'cortex-m4f');
const iterations = Math.max(1, Number.parseInt(argument('--iterations', '5'), 10) || 5);
const LARGEST_FIXTURES = 4;

/**
 * A module of `count` independent functions, each a loop mixing i32/i64 arithmetic, memory
 * traffic, a call and a br_table, so the generated code resembles real firmware rather than one
 * repeated instruction.
 */
function generateLargeModule(count) {
  const parts = ['(module', '  (memory (export "memory") 4)', '  (func $leaf (param i32) (result i32) (i32.xor (local.get 0) (i32.const 0x5bd1e995)))'];
  for (let n = 0; n < count; n += 1) {
    parts.push(`  (func (export "f${n}") (param $p i32) (param $q i32) (result i32)
    (local $i i32) (local $acc i32) (local $wide i64)
    (local.set $acc (i32.const ${n * 7919}))
    (block $exit
      (loop $top
        (br_if $exit (i32.ge_u (local.get $i) (local.get $q)))
        (local.set $acc (i32.add (local.get $acc)
          (i32.load offset=${(n % 64) * 4} (i32.and (i32.shl (local.get $i) (i32.const 2)) (i32.const 0xfff)))))
        (local.set $wide (i64.add (local.get $wide)
          (i64.mul (i64.extend_i32_u (local.get $acc)) (i64.const ${1000003 + n}))))
        (i32.store offset=${(n % 32) * 8} (i32.and (local.get $acc) (i32.const 0xffc))
          (i32.rotl (local.get $acc) (i32.const ${(n % 31) + 1})))
        (block $b2 (block $b1 (block $b0
          (br_table $b0 $b1 $b2 (i32.and (local.get $i) (i32.const 3))))
          (local.set $acc (i32.mul (local.get $acc) (i32.const ${n | 1})))
          (br $b2))
          (local.set $acc (call $leaf (local.get $acc))))
        (local.set $acc (i32.sub (local.get $acc) (i32.wrap_i64 (i64.shr_u (local.get $wide) (i64.const 17)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $top)))
    (i32.add (local.get $acc) (local.get $p)))`);
  }
  parts.push(')');
  return parts.join('\n');
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Native CLI wall time per compile, minus the process start-up measured on a tiny module. */
function nativeMillis(path, workDir) {
  const times = [];
  for (let i = 0; i < iterations; i += 1) {
    const started = process.hrtime.bigint();
    const run = spawnSync(nativeSynth, ['compile', path, '--target', target, '-o', join(workDir, 'bench.o')]);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (run.status !== 0) throw new Error(`native synth failed on ${path}: ${run.stderr}`);
  }
  // The minimum: process start-up noise only ever adds time.
  return Math.min(...times);
}

async function main() {
  for (const [what, path] of [['native synth (cargo build --release)', nativeSynth], ['chromium', '/usr/bin/chromium'], ['web/dist (npm run build)', join(webDir, 'dist/synth/synth.js')]]) {
    if (!existsSync(path)) throw new Error(`${what} is missing at ${path}`);
  }
  const { chromium } = await import('playwright-core');
  const workDir = mkdtempSync(join(tmpdir(), 'synth-web-bench-'));
  const inputs = readdirSync(fixturesDir)
    .filter((name) => name.endsWith('.wat'))
    .map((name) => ({ name, path: join(fixturesDir, name) }))
    .sort((a, b) => statSync(b.path).size - statSync(a.path).size)
    .slice(0, LARGEST_FIXTURES);
  const generatedPath = join(workDir, 'generated.wat');
  writeFileSync(generatedPath, generateLargeModule(Number.parseInt(argument('--functions', '4500'), 10)));
  inputs.push({ name: 'generated (≥1 MB code)', path: generatedPath });
  const tinyPath = join(workDir, 'tiny.wat');
  writeFileSync(tinyPath, '(module (func (export "f") (result i32) i32.const 1))');

  const { server, url } = await startServer(0);
  const context = await chromium.launchPersistentContext(join(workDir, 'profile'), {
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'],
    headless: true,
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(url);
    await page.evaluate(() => window.synthPlayground.ready);
    const options = await page.evaluate((t) => window.synthPlayground.defaultOptions(t), target);
    const processStart = nativeMillis(tinyPath, workDir);

    console.log(`target ${target}; browser (the page's compiler Worker): median of ${iterations} compiles after one warm-up (includes lifting the\n` +
      'report and listings into JS objects); native CLI: fastest of the same number of runs');
    console.log(`native CLI process start-up (fastest tiny-module run): ${processStart.toFixed(1)} ms, subtracted below\n`);
    const header = ['input', 'WAT KiB', 'code KiB', 'native ms', 'browser ms', 'browser/native', 'native code KiB/s', 'browser code KiB/s'];
    const rows = [];
    for (const input of inputs) {
      const source = readFileSync(input.path, 'utf8');
      await page.evaluate(({ source, options }) => window.synthPlayground.benchmark(source, options, 1), { source, options });
      const measured = await page.evaluate(({ source, options, iterations }) =>
        window.synthPlayground.benchmark(source, options, iterations), { source, options, iterations });
      const browser = median(measured.times);
      const native = nativeMillis(input.path, workDir) - processStart;
      const codeKiB = measured.codeSize / 1024;
      // Below a few milliseconds the native figure is lost in process start-up jitter.
      const nativeMeasurable = native >= 5;
      rows.push([input.name, (measured.inputBytes / 1024).toFixed(1), codeKiB.toFixed(1),
        nativeMeasurable ? native.toFixed(1) : '<5', browser.toFixed(1),
        nativeMeasurable ? (browser / native).toFixed(2) + 'x' : '-',
        nativeMeasurable ? (codeKiB / (native / 1000)).toFixed(0) : '-',
        (codeKiB / (browser / 1000)).toFixed(0)]);
    }
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells) => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ') + ' |';
    console.log(line(header));
    console.log('|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|');
    for (const row of rows) console.log(line(row));
  } finally {
    await context.close();
    server.close();
    rmSync(workDir, { recursive: true, force: true });
  }
}

await main();
