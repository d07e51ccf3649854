import type { Metrics } from '@detkit/core';

export const TABLE_METRICS = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl'] as const;

/** COCO metrics are fractions (-1 where a setting has no ground truth); tables show percentages. */
export function pct(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? 'n/a' : v < 0 ? '-' : (100 * v).toFixed(1);
}

/** A markdown table: one row per model, one column per COCO metric. */
export function metricsTable(rows: ReadonlyArray<{ name: string; metrics: Metrics; extra?: string }>, extraHeader?: string): string {
  const head = ['model', ...TABLE_METRICS, ...(extraHeader ? [extraHeader] : [])];
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  for (const r of rows) lines.push(`| ${[r.name, ...TABLE_METRICS.map((k) => pct(r.metrics[k])), ...(extraHeader ? [r.extra ?? ''] : [])].join(' | ')} |`);
  return lines.join('\n');
}

/** The same table for a terminal: fixed-width columns. */
export function consoleTable(rows: ReadonlyArray<{ name: string; metrics: Metrics }>): string {
  const w = Math.max(5, ...rows.map((r) => r.name.length));
  const head = `${'model'.padEnd(w)}  ${TABLE_METRICS.map((k) => k.padStart(6)).join(' ')}`;
  return [head, '-'.repeat(head.length), ...rows.map((r) => `${r.name.padEnd(w)}  ${TABLE_METRICS.map((k) => pct(r.metrics[k]).padStart(6)).join(' ')}`)].join('\n');
}

/** Mean and sample standard deviation. */
export function meanStd(xs: readonly number[]): { mean: number; std: number } {
  const mean = xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, std };
}
