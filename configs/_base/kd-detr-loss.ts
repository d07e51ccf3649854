// The KD-DETR loss every kd-detr / kd-detr-hetero config here uses (a fragment that configs
// import into their `distill` section): T = 10, lambdas 1/5/2 (cls, L1, GIoU), foreground
// re-weighting, the KL divergence summed.
export const KD_DETR_LOSS = {
  temperature: 10,
  weights: { cls: 1, l1: 5, giou: 2 },
  foregroundWeighting: true,
  klNormalizer: 'sum',
} as const;
