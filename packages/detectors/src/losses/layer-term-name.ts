/**
 * DETR's naming of per-decoder-layer loss terms: the final layer's term keeps its base name
 * (`loss_ce`), auxiliary layer l gets a suffix (`loss_ce_0`, `loss_ce_1`, ...). Every criterion
 * and distillation loss that reports per-layer terms names them with this one rule.
 */
export function layerTermName(base: string, layer: number, numLayers: number): string {
  return layer === numLayers - 1 ? base : `${base}_${layer}`;
}
