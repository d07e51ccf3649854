// The query-group contract (README; the suite is test/query-group-contract.ts) for DAB-DETR.
import { queryGroupContractSuite } from './query-group-contract.js';
import { tinyDabDetr } from './detr-helpers.js';

queryGroupContractSuite({
  name: 'dab-detr',
  makeModel: () => tinyDabDetr(),
  decodeWithoutBlocks: (m, enc, content, anchors) =>
    m.decoder.forward(content, anchors, enc.memory, enc.pos, m.bboxEmbed, { memoryKeyPaddingMask: enc.mask }).hs,
  gradientReaches: [
    'class_embed.weight', 'bbox_embed.layers.0.weight', 'transformer.decoder.layers.1.ca_v_proj.weight',
    'transformer.encoder.layers.0.self_attn.in_proj_weight', 'input_proj.weight', 'backbone.convs.0.weight',
  ],
  inputProjWeight: (m) => m.inputProj.weight,
});
