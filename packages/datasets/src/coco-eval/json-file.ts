import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { DetkitError } from '@detkit/core';

/** Line and column (1-based) of a character offset, for error messages people can jump to. */
function lineColumn(text: string, pos: number): { line: number; column: number } {
  let line = 1, last = -1;
  for (let i = 0; i < pos && i < text.length; i++) if (text.charCodeAt(i) === 10) { line++; last = i; }
  return { line, column: pos - last };
}

/** The position V8 reports, if its message has one. */
function reportedPosition(e: unknown): number | undefined {
  const m = /position (\d+)/.exec((e as Error).message);
  return m ? Number(m[1]) : undefined;
}

/**
 * Offset of the first character that makes `text` invalid JSON. V8 omits the position for
 * "Unexpected token" errors, so binary-search the shortest prefix that is wrong rather than
 * merely incomplete (an error can never be repaired by appending text).
 */
export function jsonErrorPosition(text: string): number {
  const isWrong = (len: number): boolean => {
    try {
      JSON.parse(text.slice(0, len));
      return false;
    } catch (e) {
      if (/end of JSON input/.test((e as Error).message)) return false;
      const p = reportedPosition(e);
      return p === undefined || p < len;
    }
  };
  let lo = 0, hi = text.length; // isWrong(hi) holds
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (isWrong(mid + 1)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Reads and parses a JSON file; errors name the file and, for syntax errors, the position. */
export async function readJsonFile(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new DetkitError('IO', `cannot read ${what} file ${file}: ${(e as Error).message}`, { file }, { cause: e });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    const pos = reportedPosition(e) ?? jsonErrorPosition(text);
    const { line, column } = lineColumn(text, pos);
    throw new DetkitError(
      'INVALID_ARGUMENT',
      `${what} file ${file} is not valid JSON at position ${pos} (line ${line}, column ${column}): ${(e as Error).message}`,
      { file, position: pos, line, column },
      { cause: e },
    );
  }
}

/** Writes through a temp sibling + rename so readers never see a half-written file. */
export async function writeFileAtomic(file: string, data: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw new DetkitError('IO', `cannot write ${file}: ${(e as Error).message}`, { file }, { cause: e });
  }
}
