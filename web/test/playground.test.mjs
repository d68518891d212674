// Drives the playground in real Chromium (Debian's /usr/bin/chromium through playwright-core):
// every fixture x every target compiles in the page to the same object bytes (sha256) and the
// same report as the native `synth` CLI. Run with `node --test web/test/`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../serve.mjs';

const webDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = resolve(webDir, '..');
const fixturesDir = join(repoRoot, 'fixtures');
const componentPath = join(repoRoot, 'target/wasm32-wasip2/release/synth.wasm');
const nativeSynth = join(repoRoot, 'target/release/synth');
const chromiumPath = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-quic',
  '--disable-sync',
];
// The fixture the test compiles by clicking through the page rather than calling its API.
const UI_FIXTURE = 'crc32_table.wat';
const UI_TARGET = 'cortex-m4f';

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

let server;
let serverUrl;
let context;
let page;
let workDir;
let targets;
const fixtures = readdirSync(fixturesDir)
  .filter((name) => name.endsWith('.wat'))
  .sort();

/** Native CLI compile: { sha256, object, report } (report parsed from --report-json). */
function compileNatively(fixture, target, extraFlags = []) {
  const objectPath = join(workDir, `${basename(fixture, '.wat')}.${target}.o`);
  const run = spawnSync(
    nativeSynth,
    ['compile', join(fixturesDir, fixture), '--target', target, '-o', objectPath,
      '--report-json', '-', '--no-module-name', ...extraFlags],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  assert.equal(run.status, 0, `native synth failed on ${fixture} for ${target}: ${run.stderr}`);
  const object = readFileSync(objectPath);
  return { sha256: sha256(object), report: JSON.parse(run.stdout) };
}

/** Compile in the page through its exposed API; returns plain data (sha256, report, error). */
function compileInPage(source, options) {
  return page.evaluate(async ({ source, options }) => {
    const result = await window.synthPlayground.compile(source, options);
    return result.ok
      ? { ok: true, sha256: result.sha256, report: result.reportJson, header: result.output.header }
      : { ok: false, error: result.error };
  }, { source, options });
}

before(async () => {
  if (!existsSync(chromiumPath)) {
    throw new Error(`Chromium is missing at ${chromiumPath}: install it with \`apt-get install -y chromium\``);
  }
  // Build the native CLI and the component from the same sources (cargo is a no-op when they
  // are fresh), then call the native binary directly: cargo run per compile is slow.
  for (const args of [
    ['build', '--release', '--quiet', '-p', 'synth-compiler', '--bin', 'synth'],
    ['build', '--release', '--quiet', '--target', 'wasm32-wasip2', '-p', 'synth-compiler', '--bin', 'synth'],
  ]) {
    const cargo = spawnSync('cargo', args, { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] });
    assert.equal(cargo.status, 0, `\`cargo ${args.join(' ')}\` failed (for the component, ` +
      'is the target installed? `rustup target add wasm32-wasip2`)');
  }
  if (!existsSync(componentPath)) {
    throw new Error(`The component is missing at ${componentPath} after cargo build`);
  }
  // Re-transpile when web/dist is missing or was made from another synth.wasm.
  const buildInfoPath = join(webDir, 'dist/build-info.json');
  const componentSha256 = sha256(readFileSync(componentPath));
  if (!existsSync(buildInfoPath) ||
      JSON.parse(readFileSync(buildInfoPath, 'utf8')).componentSha256 !== componentSha256) {
    const build = spawnSync(process.execPath, [join(webDir, 'build.mjs')], { stdio: ['ignore', 'inherit', 'inherit'] });
    assert.equal(build.status, 0, 'transpiling the component into web/dist failed (`npm run build` in web/)');
  }

  workDir = mkdtempSync(join(tmpdir(), 'synth-web-test-'));
  ({ server, url: serverUrl } = await startServer(0));

  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    throw new Error('playwright-core is missing: run `npm ci` in web/');
  }
  // launchPersistentContext with a fresh directory: no profile state leaks between runs.
  context = await chromium.launchPersistentContext(join(workDir, 'profile'), {
    executablePath: chromiumPath,
    args: CHROMIUM_ARGS,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1400, height: 1000 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // Offline: the page must need nothing beyond the local server.
  await page.route('**/*', (route) =>
    route.request().url().startsWith(serverUrl) ? route.continue() : route.abort());
  await page.goto(serverUrl);
  try {
    ({ targets } = await page.evaluate(() => window.synthPlayground.ready));
  } catch (error) {
    throw new Error(`the page could not load the component: ${error.message}; ${pageErrors.join('; ')}`);
  }
});

after(async () => {
  await context?.close();
  server?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

test('the page lists every target the native CLI has', () => {
  const native = spawnSync(nativeSynth, ['targets'], { encoding: 'utf8' });
  const nativeNames = native.stdout.trim().split('\n').map((line) => line.split(/\s+/)[0]);
  assert.deepEqual(targets.map((t) => t.name), nativeNames);
});

test('compiling through the UI matches the native object, and the downloads are that object and header', async () => {
  const source = readFileSync(join(fixturesDir, UI_FIXTURE), 'utf8');
  await page.fill('#source', source);
  await page.selectOption('#target', UI_TARGET);
  await page.click('#compile');
  await page.waitForSelector('#status[data-state=done]');
  const native = compileNatively(UI_FIXTURE, UI_TARGET);
  assert.equal((await page.textContent('#sha256')).trim(), native.sha256);

  // The report table has one row per function with the native code sizes.
  const rows = await page.$$eval('#report tbody tr',
    (trs) => trs.map((tr) => Array.from(tr.cells, (td) => td.textContent)));
  assert.deepEqual(rows.map((r) => [r[1], Number(r[2])]),
    native.report.functions.map((f) => [f.symbol, f.code_size]));
  const listingLines = await page.$$eval('#listing tbody tr:not(.function-name)', (trs) => trs.length);
  assert.equal(listingLines, native.report.functions.reduce((n, f) => n + f.listing.length, 0));

  const [objectDownload] = await Promise.all([page.waitForEvent('download'), page.click('#download-object')]);
  assert.equal(sha256(readFileSync(await objectDownload.path())), native.sha256);
  const [headerDownload] = await Promise.all([page.waitForEvent('download'), page.click('#download-header')]);
  const headerPath = join(workDir, 'ui.h');
  spawnSync(nativeSynth, ['compile', join(fixturesDir, UI_FIXTURE), '--target', UI_TARGET,
    '-o', join(workDir, 'ui.o'), '--header', headerPath, '--no-module-name']);
  assert.equal(readFileSync(await headerDownload.path(), 'utf8'), readFileSync(headerPath, 'utf8'));

  await page.screenshot({ path: join(webDir, 'test/screenshot.png'), fullPage: false });
});

test('an uploaded file is the input', async () => {
  await page.setInputFiles('#upload', join(fixturesDir, 'fib.wat'));
  await page.waitForFunction(() => document.getElementById('upload-info').textContent.includes('fib.wat'));
  await page.selectOption('#target', 'rv32imac');
  await page.click('#compile');
  await page.waitForSelector('#status[data-state=done]');
  assert.equal((await page.textContent('#sha256')).trim(), compileNatively('fib.wat', 'rv32imac').sha256);
});

test('a bad input shows a typed error in the page', async () => {
  await page.fill('#source', '(module (func (export "f") (result i32) i64.const 1))');
  await page.click('#compile');
  await page.waitForSelector('#status[data-state=error]');
  const shown = await page.textContent('#error');
  assert.match(shown, /^invalid: /, `error panel: ${shown}`);
  assert.match(shown, /wasm offset: 0x/, `error panel: ${shown}`);
  assert.equal(await page.isHidden('#result'), true);
});

test('every fixture for every target: page objects and reports equal the native build', async () => {
  assert.ok(fixtures.length > 0, 'no fixtures found');
  const mismatches = [];
  for (const fixture of fixtures) {
    const source = readFileSync(join(fixturesDir, fixture), 'utf8');
    for (const { target } of targets) {
      const options = await page.evaluate((t) => window.synthPlayground.defaultOptions(t), target);
      const inPage = await compileInPage(source, options);
      // Every target compiles every fixture, natively and in the page.
      const native = compileNatively(fixture, target);
      if (!inPage.ok) {
        mismatches.push(`${fixture} ${target}: page failed: ${JSON.stringify(inPage.error)}`);
      } else if (inPage.sha256 !== native.sha256) {
        mismatches.push(`${fixture} ${target}: sha256 page ${inPage.sha256} native ${native.sha256}`);
      } else {
        try {
          assert.deepStrictEqual(inPage.report, native.report);
        } catch {
          mismatches.push(`${fixture} ${target}: reports differ`);
        }
      }
    }
  }
  assert.deepEqual(mismatches, [], `${mismatches.length} mismatches:\n${mismatches.join('\n')}`);
});

test('non-default options reach the compiler the same way as the CLI flags', async () => {
  const cases = [
    { fixture: 'load_store_widths.wat', target: 'cortex-m4', change: { boundsChecks: false }, flags: ['--no-bounds-checks'] },
    { fixture: 'fib.wat', target: 'rv32imac', change: { stackCheck: false }, flags: ['--no-stack-check'] },
    { fixture: 'register_pressure.wat', target: 'cortex-m3', change: { optimize: false }, flags: ['-O0'] },
    { fixture: 'spill_loops.wat', target: 'rv32imac', change: { spillRealloc: false }, flags: ['--no-spill-realloc'] },
    { fixture: 'crc32_table.wat', target: 'cortex-m7', change: { maxMemoryPages: 3 }, flags: ['--max-memory-pages', '3'] },
  ].filter((c) => fixtures.includes(c.fixture));
  assert.ok(cases.length >= 3, 'the option cases name fixtures that no longer exist');
  for (const { fixture, target, change, flags } of cases) {
    const source = readFileSync(join(fixturesDir, fixture), 'utf8');
    const defaults = await page.evaluate((t) => window.synthPlayground.defaultOptions(t), target);
    const inPage = await compileInPage(source, { ...defaults, ...change });
    const native = compileNatively(fixture, target, flags);
    const nativeDefault = compileNatively(fixture, target);
    assert.ok(inPage.ok, `${fixture} ${target} ${flags}: ${JSON.stringify(inPage.error)}`);
    assert.equal(inPage.sha256, native.sha256, `${fixture} ${target} ${flags.join(' ')}`);
    assert.notEqual(native.sha256, nativeDefault.sha256,
      `${fixture} ${target}: ${flags.join(' ')} should change the object, or the case proves nothing`);
    assert.deepStrictEqual(inPage.report, native.report);
  }
});
