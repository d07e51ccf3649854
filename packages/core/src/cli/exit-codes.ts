import type { DetkitErrorCode } from '../errors.js';

/**
 * `detkit` exit codes:
 *   0   success
 *   1   internal error (a bug: not a DetkitError); rerun with DETKIT_DEBUG=1 for the stack
 *   2   the subcommand (or a part it needs) is not built yet (NOT_IMPLEMENTED)
 *   3   bad input: config, plugin, registry name or argument; a work dir holding another run; a
 *       resume under a config other than the checkpoint's
 *   4   run-time failure: data, I/O, checkpoint, backend, model contract, non-finite loss or outputs
 *   64  command-line usage error (unknown option, missing argument)
 *   130 training stopped by Ctrl-C (SIGINT; latest.safetensors was written)
 *   143 training stopped by SIGTERM (kill, timeout, a job scheduler; latest.safetensors was written)
 */
export const EXIT = {
  ok: 0,
  internal: 1,
  notImplemented: 2,
  badInput: 3,
  runtime: 4,
  usage: 64,
  interrupted: 130,
  terminated: 143,
} as const;

const BAD_INPUT: ReadonlySet<string> = new Set<DetkitErrorCode>([
  'CONFIG_INVALID',
  'CONFIG_LOAD',
  'PLUGIN_LOAD',
  'PLUGIN_INVALID',
  'REGISTRY_UNKNOWN',
  'REGISTRY_DUPLICATE',
  'INVALID_ARGUMENT',
  'WORK_DIR_IN_USE',
  'RESUME_CONFIG_CHANGED',
]);

export function exitCodeFor(code: string): number {
  if (code === 'NOT_IMPLEMENTED') return EXIT.notImplemented;
  if (code === 'INTERRUPTED') return EXIT.interrupted;
  if (BAD_INPUT.has(code)) return EXIT.badInput;
  return EXIT.runtime;
}

export const EXIT_CODES_HELP = `Exit codes:
  0    success
  1    internal error (set DETKIT_DEBUG=1 for the stack)
  2    not implemented yet
  3    bad config, plugin, registry name or argument; work dir holds another run
  4    run-time failure (data, I/O, checkpoint, backend, model, non-finite loss)
  64   command-line usage error
  130  training stopped by Ctrl-C / SIGINT (latest.safetensors written)
  143  training stopped by SIGTERM (latest.safetensors written)`;
