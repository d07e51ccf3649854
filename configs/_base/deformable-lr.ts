// The Deformable DETR configs' learning-rate groups (a fragment that configs import).

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * lr x0.1 for the sampling offsets of every deformable attention and for the anchor boxes (the
 * reference's lr_linear_proj_mult), as `train.optimizer.paramGroups`.
 */
export function slowOffsetsAndAnchors(encoderLayers: number, decoderLayers: number) {
  return [
    'refpoint_embed.',
    ...range(encoderLayers).map((i) => `transformer.encoder.layers.${i}.self_attn.sampling_offsets.`),
    ...range(decoderLayers).map((i) => `transformer.decoder.layers.${i}.cross_attn.sampling_offsets.`),
  ].map((match) => ({ match, lrMult: 0.1 }));
}
