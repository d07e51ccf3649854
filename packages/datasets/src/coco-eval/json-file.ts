import { promises as fs } from 'node:fs';
import { DetkitError, jsonErrorOffset, lineColumn } from '@detkit/core';

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
    const pos = jsonErrorOffset(text);
    const { line, column } = lineColumn(text, pos);
    throw new DetkitError(
      'INVALID_ARGUMENT',
      `${what} file ${file} is not valid JSON at position ${pos} (line ${line}, column ${column}): ${(e as Error).message}`,
      { file, position: pos, line, column },
      { cause: e },
    );
  }
}

export { writeFileAtomic } from '../util/atomic.js';
