import { promises as fs } from 'node:fs';
import { findNonFiniteNumber, jsonErrorOffset, lineColumn } from '@detkit/core';
import { DetkitError } from '../core.js';

/** Reads and parses a JSON file; failures are DATASET_INVALID naming the file and the line/column. */
export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new DetkitError('DATASET_INVALID', `cannot read annotation file ${file}: ${(e as Error).message}`, { file }, { cause: e });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const pos = jsonErrorOffset(text);
    const where = pos < 0 ? '' : (() => {
      const { line, column } = lineColumn(text, pos);
      return ` at line ${line}, column ${column} (position ${pos})`;
    })();
    throw new DetkitError('DATASET_INVALID', `malformed JSON in ${file}${where}: ${(e as Error).message}`, { file, position: pos }, { cause: e });
  }
  const huge = findNonFiniteNumber(text);
  if (huge) {
    const { line, column } = lineColumn(text, huge.offset);
    throw new DetkitError('DATASET_INVALID', `${file}: the number ${huge.literal} at line ${line}, column ${column} does not fit a double (it would read as Infinity)`, { file, line, column });
  }
  return value;
}
