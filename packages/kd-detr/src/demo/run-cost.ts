/**
 * Relative cost of one training iteration of a demo or ablation run on the MNIST student (the
 * student alone at 50 queries = 1), for planning how runs share the cores. Fitted to the
 * ablation's measured ms/iteration (README: 431 alone, 658 specific 50 points, 812 general 100,
 * 989 both, 437 hungarian-logits, 926 at 200 queries): KD-DETR costs 1.15 + 0.0076 per
 * distillation point (teacher forward, extra decoding), each extra detection query 0.0077.
 */
export function relativeIterCost(distill: Record<string, unknown>, model: Record<string, unknown>, teacherQueries: number): number {
  const queries = Number(model.numQueries ?? 300);
  const base = 1 + 0.0077 * Math.max(0, queries - 50);
  if (distill.method !== 'kd-detr') return base; // 'none' and 'hungarian-logits' (~1%)
  const samplers = (distill.samplers as Array<{ type?: string; count?: number }> | undefined) ?? [{ type: 'general', count: 300 }, { type: 'specific' }];
  const points = samplers.reduce((s, x) => s + (x.type === 'specific' ? teacherQueries : Number(x.count ?? 300)), 0);
  return base + 0.15 + 0.0076 * points;
}
