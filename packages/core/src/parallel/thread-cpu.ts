import { readFileSync } from 'node:fs';

/**
 * CPU time of the calling thread in ms (Linux: /proc/thread-self/stat, 10 ms ticks), or
 * undefined elsewhere. Benches use it to split a data-parallel step's CPU by rank, a figure a
 * busy machine distorts far less than wall time.
 */
export function threadCpuMs(): number | undefined {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}
