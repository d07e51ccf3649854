// The query-group contract (README; the suite is test/query-group-contract.ts) for dino.
import type { DeformableEncoded } from '../src/detectors.js';
import { queryGroupContractSuite } from './query-group-contract.js';
import { tinyDino } from './detr-helpers.js';

queryGroupContractSuite({
  name: 'dino',
  makeModel: () => tinyDino(),
  decodeWithoutBlocks: (m, enc, content, anchors) => {
    const e = enc as DeformableEncoded;
    const memory = { memory: e.memory, shapes: e.shapes, validRatios: e.validRatios, keepMask: e.mask };
    return m.transformer.decoder.forward(content, anchors, memory, m.bboxEmbed, { lookForwardTwice: true }).hs;
  },
  gradientReaches: [
    'class_embed.1.weight', 'bbox_embed.1.layers.0.weight',
    // Look forward twice: layer 1's boxes reach layer 0's box head through the undetached refined box.
    'bbox_embed.0.layers.0.weight',
    'transformer.decoder.layers.1.cross_attn.sampling_offsets.weight', 'transformer.decoder.layers.0.cross_attn.value_proj.weight',
    'transformer.decoder.ref_point_head.layers.0.weight', 'transformer.decoder.norm.weight',
    'transformer.encoder.layers.0.self_attn.attention_weights.weight', 'transformer.level_embed', 'input_proj.1.0.weight', 'input_proj.0.1.weight', 'backbone.convs.0.weight',
  ],
  // A group decoded alone never touches the query selection, the matching queries' content or the denoising labels.
  gradientMisses: [
    ['transformer.enc_out_bbox_embed.layers.0.weight', 'a group reached the two-stage box head'],
    ['transformer.enc_out_class_embed.weight', 'a group reached the two-stage class head'],
    ['transformer.tgt_embed.weight', "a group reached the matching queries' content"],
    ['label_enc.weight', 'a group reached the denoising label embedding'],
  ],
  inputProjWeight: (m) => m.inputProj[0]!.conv.weight,
  detectionAnchorParam: () => undefined,
});
