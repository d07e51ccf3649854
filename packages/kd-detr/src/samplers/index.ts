export type { PointContent, QuerySampler, SamplerContext } from './sampler.js';
export { GeneralSampler, type GeneralSamplerOptions } from './general.js';
export { SpecificSampler } from './specific.js';
export { ProposalSampler, isProposalSampler } from './proposals.js';
