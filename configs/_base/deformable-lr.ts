// The Deformable DETR / DINO configs' learning-rate groups (a fragment that configs import).

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * lr x0.1 for the sampling offsets of every deformable attention (the reference's
 * lr_linear_proj_mult), as `train.optimizer.paramGroups`: DINO's groups (its anchors are
 * encoder proposals, not parameters).
 */
export function slowOffsets(encoderLayers: number, decoderLayers: number) {
  return [
    ...range(encoderLayers).map((i) => `transformer.encoder.layers.${i}.self_attn.sampling_offsets.`),
    ...range(decoderLayers).map((i) => `transformer.decoder.layers.${i}.cross_attn.sampling_offsets.`),
  ].map((match) => ({ match, lrMult: 0.1 }));
}

/** `slowOffsets` plus lr x0.1 for the learned anchor boxes (`refpoint_embed`): Deformable DETR's groups. */
export function slowOffsetsAndAnchors(encoderLayers: number, decoderLayers: number) {
  return [{ match: 'refpoint_embed.', lrMult: 0.1 }, ...slowOffsets(encoderLayers, decoderLayers)];
}
