/**
 * A measuring knob read from the environment that turns named parts on: unset, '' or '1' all of
 * them, '0' none, else a comma list of names (an unknown name is refused, naming the variable).
 */
import { DetkitError } from '../../errors.js';

export function chosenParts<T extends string>(variable: string, setting: string | undefined, known: readonly T[], noun: string): Set<T> {
  if (setting === undefined || setting === '' || setting === '1') return new Set(known);
  if (setting === '0') return new Set();
  const names = setting.split(',').map((n) => n.trim());
  for (const n of names) {
    if (!(known as readonly string[]).includes(n)) {
      throw new DetkitError('INVALID_ARGUMENT', `${variable}: unknown ${noun} '${n}' (use 0, 1 or a comma list of ${known.join(', ')})`);
    }
  }
  return new Set(names as T[]);
}
