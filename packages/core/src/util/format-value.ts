/**
 * A value as an error message shows it: JSON, except that non-finite numbers read as
 * `Infinity`, `-Infinity` and `NaN` (JSON.stringify would print `null`, hiding the culprit),
 * `undefined` as `undefined`, and long output cut to `maxLength` characters.
 */
export function formatValue(value: unknown, maxLength = Infinity): string {
  const text = stringify(value);
  return text.length > maxLength ? text.slice(0, Math.max(0, maxLength - 3)) + '...' : text;
}

function stringify(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (value === undefined) return 'undefined';
  const marks: string[] = [];
  try {
    // Non-finite numbers become a marker string, then the quoted marker is replaced by the name.
    const json = JSON.stringify(value, (_key, v: unknown) =>
      typeof v === 'number' && !Number.isFinite(v) ? `\u0000${marks.push(String(v)) - 1}\u0000` : v,
    );
    if (json === undefined) return String(value);
    return marks.length === 0 ? json : json.replace(/"\\u0000(\d+)\\u0000"/g, (_m, i: string) => marks[Number(i)]!);
  } catch {
    return String(value);
  }
}
