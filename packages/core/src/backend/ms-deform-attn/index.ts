export { msDeformAttn, levelStartsOf, type MsDeformAttnImpl } from './op.js';
export { msDeformAttnComposed } from './composed.js';
export { MS_DEFORM_ATTN_KERNEL, MS_DEFORM_ATTN_GRAD_KERNEL, ensureMsDeformAttnKernels, type MsDeformAttnAttrs } from './kernels.js';
export { msDeformAttnForward, msDeformAttnBackward, type MsDeformGeometry } from './loops.js';
