import { promises as fs } from 'node:fs';
import { jsonErrorOffset, lineColumn } from '@detkit/core';
import { DetkitError } from '../core.js';

/** Reads and parses a JSON file; failures are DATASET_INVALID naming the file and the line/column. */
export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new DetkitError('DATASET_INVALID', `cannot read annotation file ${file}: ${(e as Error).message}`, { file }, { cause: e });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    const pos = jsonErrorOffset(text);
    const where = pos < 0 ? '' : (() => {
      const { line, column } = lineColumn(text, pos);
      return ` at line ${line}, column ${column} (position ${pos})`;
    })();
    throw new DetkitError('DATASET_INVALID', `malformed JSON in ${file}${where}: ${(e as Error).message}`, { file, position: pos }, { cause: e });
  }
}
