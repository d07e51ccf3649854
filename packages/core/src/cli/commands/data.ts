import { DetkitError } from '../../errors.js';
import { EXIT } from '../exit-codes.js';
import { requireExport } from '../optional.js';

export interface DataMakeCliOptions {
  out?: string;
  split?: string;
  count?: string;
  seed?: string;
  canvasSize?: string;
  overwrite?: boolean;
}

const intOrUndefined = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new DetkitError('INVALID_ARGUMENT', `--${name} must be a non-negative integer, got '${v}'`);
  return n;
};

/** `detkit data make <name> --out DIR`: delegates to @detkit/datasets' dataMakeCommand. */
export async function dataMakeCliCommand(name: string, opts: DataMakeCliOptions): Promise<number> {
  if (!opts.out) throw new DetkitError('INVALID_ARGUMENT', 'data make needs --out <dir>');
  const make = await requireExport<(o: Record<string, unknown>) => Promise<{ summary?: string }>>(
    '@detkit/datasets',
    'dataMakeCommand',
    '`detkit data make` (@detkit/datasets)',
  );
  const res = await make({
    name,
    out: opts.out,
    split: opts.split,
    count: intOrUndefined('count', opts.count),
    seed: intOrUndefined('seed', opts.seed),
    canvasSize: intOrUndefined('canvas-size', opts.canvasSize),
    overwrite: opts.overwrite,
  });
  if (res?.summary) process.stdout.write(res.summary + '\n');
  return EXIT.ok;
}
