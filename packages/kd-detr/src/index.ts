// @detkit/kd-detr: KD-DETR distillation through shared, specialised distillation queries.
// This release ships the distillation-point samplers; the hook that injects them into a
// student's decoder builds on the detectors' query-group contract.
export * from './samplers/index.js';

export const PACKAGE_NAME = '@detkit/kd-detr';
