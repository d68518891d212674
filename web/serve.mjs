// Tiny static server for the playground: serves web/ on 127.0.0.1 only, with the right MIME
// types (wasm as application/wasm so streaming compilation works). No network beyond loopback.
//
// Usage: node serve.mjs [port]      (default 8087; 0 picks a free port)
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const webDir = dirname(fileURLToPath(import.meta.url));

const MIME_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.wat': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ts': 'text/plain; charset=utf-8',
};

/** Map a URL path to a file under web/, or null when it would escape it. */
function resolveInsideWebDir(urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath.split('?')[0]);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const relative = normalize(decoded).replace(/^([/\\])+/, '');
  const full = join(webDir, relative);
  if (full !== webDir && !full.startsWith(webDir + sep)) return null;
  return full;
}

async function handle(request, response) {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { Allow: 'GET, HEAD' }).end();
    return;
  }
  let path = resolveInsideWebDir(new URL(request.url, 'http://localhost').pathname);
  if (path === null) {
    response.writeHead(403).end('forbidden\n');
    return;
  }
  try {
    if ((await stat(path)).isDirectory()) path = join(path, 'index.html');
    const body = await readFile(path);
    response.writeHead(200, {
      'Content-Type': MIME_TYPES[extname(path)] ?? 'application/octet-stream',
      'Content-Length': body.length,
      // Always revalidate: a rebuilt component must never be served from a stale cache.
      'Cache-Control': 'no-cache',
    });
    response.end(request.method === 'HEAD' ? undefined : body);
  } catch {
    response.writeHead(404).end('not found\n');
  }
}

/** Start the server on 127.0.0.1; resolves to { server, url } once it listens. */
export function startServer(port = 8087) {
  return new Promise((resolvePromise, reject) => {
    const server = createServer((req, res) => {
      handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: actualPort } = server.address();
      resolvePromise({ server, url: `http://127.0.0.1:${actualPort}/` });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const port = Number.parseInt(process.argv[2] ?? process.env.PORT ?? '8087', 10);
  const { url } = await startServer(Number.isNaN(port) ? 8087 : port);
  console.log(`synth playground: ${url}`);
}
