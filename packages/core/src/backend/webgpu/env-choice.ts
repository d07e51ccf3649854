/**
 * A measuring knob read from the environment that turns named parts on: unset, '' or '1' all of
 * them, '0' none, a comma list of names, or a list of '-name' for all but those (so a variant
 * that leaves one part out stays right when parts are added). An unknown name, or names mixed
 * with '-names', is refused, naming the variable.
 */
import { DetkitError } from '../../errors.js';

export function chosenParts<T extends string>(variable: string, setting: string | undefined, known: readonly T[], noun: string): Set<T> {
  if (setting === undefined || setting === '' || setting === '1') return new Set(known);
  if (setting === '0') return new Set();
  const items = setting.split(',').map((n) => n.trim());
  const without = items.filter((n) => n.startsWith('-'));
  if (without.length > 0 && without.length < items.length) {
    throw new DetkitError('INVALID_ARGUMENT', `${variable}: '${setting}' mixes names and '-names' (list the ${noun}s to keep, or only the ones to leave out)`);
  }
  const names = without.length > 0 ? without.map((n) => n.slice(1)) : items;
  for (const n of names) {
    if (!(known as readonly string[]).includes(n)) {
      throw new DetkitError('INVALID_ARGUMENT', `${variable}: unknown ${noun} '${n}' (use 0, 1, a comma list of ${known.join(', ')}, or of '-name' for all but those)`);
    }
  }
  if (without.length > 0) return new Set(known.filter((k) => !names.includes(k)));
  return new Set(names as T[]);
}
