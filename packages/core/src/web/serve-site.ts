import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, resolve } from 'node:path';
import sirv from 'sirv';
import { DetkitError } from '../errors.js';

export interface ServedSite {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves an exported site on 127.0.0.1 (port 0: any free port). sirv does the static serving
 * (content types, e.g. application/wasm for tfjs's streaming compile; no path escapes the
 * folder; no caching, so a re-exported site shows at once).
 */
export async function serveSite(dir: string, options: { port?: number; host?: string } = {}): Promise<ServedSite> {
  const root = resolve(dir);
  if (!existsSync(join(root, 'index.html'))) {
    throw new DetkitError('INVALID_ARGUMENT', `${root} is not a site: it has no index.html (make one with detkit export web CONFIG --checkpoint FILE --out DIR)`, { dir: root });
  }
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new DetkitError('INVALID_ARGUMENT', `port must be an integer in 0..65535, got ${port}`);
  const server = createServer(sirv(root, { dev: true, etag: true }));
  await new Promise<void>((ok, fail) => {
    server.once('error', (e) => fail(new DetkitError('IO', `cannot serve ${root} on ${host}:${port}: ${e.message}`, { dir: root, port }, { cause: e })));
    server.listen(port, host, ok);
  });
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://${host}:${actual}/`,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
