export * from './safetensors.js';
export * from './checkpoint.js';
export * from './finite.js';
export * from './loaded-scalar.js';
export { checkedModelWeights, decodeModelWeights, modelWeightsOf } from './model-weights.js';
