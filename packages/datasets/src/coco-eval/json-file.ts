import { promises as fs } from 'node:fs';
import { DetkitError, findNonFiniteNumber, jsonErrorOffset, lineColumn } from '@detkit/core';

/** Reads and parses a JSON file; errors name the file and, for syntax errors, the position. */
export async function readJsonFile(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new DetkitError('IO', `cannot read ${what} file ${file}: ${(e as Error).message}`, { file }, { cause: e });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const pos = jsonErrorOffset(text);
    const { line, column } = lineColumn(text, pos);
    throw new DetkitError(
      'INVALID_ARGUMENT',
      `${what} file ${file} is not valid JSON at position ${pos} (line ${line}, column ${column}): ${(e as Error).message}`,
      { file, position: pos, line, column },
      { cause: e },
    );
  }
  // JSON.parse reads 1e999 as Infinity, which later messages could only show as 'Infinity'.
  const huge = findNonFiniteNumber(text);
  if (huge) {
    const { line, column } = lineColumn(text, huge.offset);
    throw new DetkitError('INVALID_ARGUMENT', `${what} file ${file}: the number ${huge.literal} at line ${line}, column ${column} does not fit a double (it would read as Infinity)`, { file, line, column });
  }
  return value;
}

export { writeFileAtomic } from '../util/atomic.js';
