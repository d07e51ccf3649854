import { promises as fs } from 'node:fs';
import { DetkitError } from '../core.js';

/** 1-based line and column of a character offset, for error messages people can jump to. */
export function lineColumn(text: string, position: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < position && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: position - lineStart + 1 };
}

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
    const msg = (e as Error).message;
    const m = /position (\d+)/.exec(msg);
    // V8 omits the position for truncated input ("Unexpected end of JSON input"): that is the end.
    const pos = m ? Number(m[1]) : /end of JSON/i.test(msg) ? text.length : undefined;
    const where = pos === undefined ? '' : (() => {
      const { line, column } = lineColumn(text, pos);
      return ` at line ${line}, column ${column} (position ${pos})`;
    })();
    throw new DetkitError('DATASET_INVALID', `malformed JSON in ${file}${where}: ${msg}`, { file, position: pos }, { cause: e });
  }
}
