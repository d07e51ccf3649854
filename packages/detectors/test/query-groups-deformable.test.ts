// The query-group contract (README; the suite is test/query-group-contract.ts) for deformable-detr.
import type { DeformableEncoded } from '../src/detectors.js';
import { queryGroupContractSuite } from './query-group-contract.js';
import { tinyDeformableDetr } from './detr-helpers.js';

queryGroupContractSuite({
  name: 'deformable-detr',
  makeModel: () => tinyDeformableDetr(),
  decodeWithoutBlocks: (m, enc, content, anchors) => {
    const e = enc as DeformableEncoded;
    const memory = { memory: e.memory, shapes: e.shapes, validRatios: e.validRatios, keepMask: e.mask };
    return m.transformer.decoder.forward(content, anchors, memory, m.bboxEmbed).hs;
  },
  gradientReaches: [
    'class_embed.1.weight', 'bbox_embed.1.layers.0.weight',
    'transformer.decoder.layers.1.cross_attn.sampling_offsets.weight', 'transformer.decoder.layers.0.cross_attn.value_proj.weight',
    'transformer.encoder.layers.0.self_attn.attention_weights.weight', 'transformer.level_embed', 'input_proj.1.0.weight', 'input_proj.0.1.weight', 'backbone.convs.0.weight',
  ],
  // Layer 0's box head reaches layer 1 only through the detached reference box: no gradient.
  gradientMisses: [['bbox_embed.0.layers.0.weight', 'references are not detached between layers']],
  inputProjWeight: (m) => m.inputProj[0]!.conv.weight,
});
