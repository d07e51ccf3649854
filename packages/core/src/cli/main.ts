#!/usr/bin/env node
import { CommanderError } from 'commander';
import { isDetkitError } from '../errors.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { createProgram } from './program.js';

/** Runs the CLI on `argv` (without node and script) and returns the exit code; never throws. */
export async function runCli(argv: string[]): Promise<number> {
  const result = { code: EXIT.ok as number };
  const program = createProgram(result);
  program.exitOverride();
  for (const c of program.commands) c.exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return result.code;
  } catch (e) {
    return reportError(e);
  }
}

function reportError(e: unknown): number {
  const debug = process.env.DETKIT_DEBUG === '1';
  if (e instanceof CommanderError) {
    // commander already printed its message; help and version are not errors.
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version') return EXIT.ok;
    return EXIT.usage;
  }
  if (isDetkitError(e)) {
    process.stderr.write(`error [${e.code}]: ${e.message}\n`);
    if (debug && e.stack) process.stderr.write(e.stack + '\n');
    return exitCodeFor(e.code);
  }
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`error [INTERNAL]: ${msg}\n`);
  if (debug && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
  else process.stderr.write('(this is a bug in detkit or a plugin; set DETKIT_DEBUG=1 for the stack)\n');
  return EXIT.internal;
}

// Run only when this file is executed directly (`node .../cli/main.js`; the `detkit` bin is
// bin/detkit.js, which calls runCli itself). Exit explicitly: a tfjs backend or a plugin may
// keep handles open after the work is done.
const invokedAs = process.argv[1] ?? '';
if (/(^|[\\/])main\.(ts|js)$/.test(invokedAs)) {
  process.exit(await runCli(process.argv.slice(2)));
}
