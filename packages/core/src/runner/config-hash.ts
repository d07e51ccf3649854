import { createHash } from 'node:crypto';
import { plainJson } from './plain-json.js';

/** A short stable hash of a JSON-like config (normalised by plainJson, keys sorted), stored in checkpoints. */
export function hashConfig(config: unknown): string {
  return createHash('sha256').update(sortedJson(plainJson(config))).digest('hex').slice(0, 16);
}

/** JSON with every object's keys in sorted order, so equal configs hash equal whatever their key order. */
function sortedJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${sortedJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
