/**
 * Python's '{:0.Nf}' formatting. It rounds exact ties half-to-even (0.0625 -> '0.062') where JS
 * toFixed rounds them up ('0.063'); pycocotools' printout is the reference, so follow Python.
 */
export function formatFixedPy(x: number, digits = 3): string {
  const plain = x.toFixed(digits);
  if (!Number.isFinite(x)) return plain;
  // Exact decimal expansion (toFixed is exact); a tie is "5" then only zeros past `digits`.
  const exact = Math.abs(x).toFixed(digits + 30);
  const tail = exact.slice(exact.indexOf('.') + 1 + digits);
  if (!/^50*$/.test(tail)) return plain;
  const lastDigit = Number(plain[plain.length - 1]);
  if (lastDigit % 2 === 0) return plain;
  // toFixed rounded the magnitude up to an odd digit: half-even wants the one below.
  const step = 10 ** -digits;
  const down = Math.abs(x) - step / 2;
  return (x < 0 ? '-' : '') + down.toFixed(digits);
}
