import { relative, resolve } from 'node:path';
import { exportWebSite } from '../../web/export-site.js';
import { serveSite } from '../../web/serve-site.js';
import { DetkitError } from '../../errors.js';
import { EXIT } from '../exit-codes.js';
import type { GlobalOptions } from '../session.js';

const MB = 1e6;

/** `detkit export web CONFIG --checkpoint FILE --out DIR [--force]`: a static site that runs the model in a browser. */
export async function exportWebCommand(config: string, opts: GlobalOptions & { checkpoint?: string; out: string; force?: boolean }): Promise<number> {
  if (!opts.checkpoint) throw new DetkitError('INVALID_ARGUMENT', 'export web needs --checkpoint <weights or checkpoint .safetensors>');
  const site = await exportWebSite({ ...opts, config, checkpoint: opts.checkpoint, out: opts.out });
  const list = site.files.map((f) => `${f.name} ${(f.bytes / MB).toFixed(2)} MB`).join(', ');
  process.stdout.write(`wrote the site ${site.dir}: ${list}; bundle + weights ${(site.bundleAndWeightsBytes / MB).toFixed(2)} MB\n`);
  const rel = relative(process.cwd(), site.dir);
  process.stdout.write(`serve it: npx detkit web ${rel === '' ? '.' : rel.startsWith('..') ? site.dir : rel}\n`);
  return EXIT.ok;
}

/** `detkit web DIR [--port N]`: serves a site on 127.0.0.1 until Ctrl-C. */
export async function webCommand(dir: string, opts: { port: string }): Promise<number> {
  const port = Number(opts.port);
  if (!/^\d+$/.test(opts.port) || port > 65535) throw new DetkitError('INVALID_ARGUMENT', `--port must be an integer in 0..65535, got '${opts.port}'`);
  const served = await serveSite(resolve(dir), { port });
  process.stdout.write(`serving ${resolve(dir)} at ${served.url} (Ctrl-C stops)\n`);
  await new Promise<void>((done) => {
    const stop = () => void served.close().then(done);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return EXIT.ok;
}
