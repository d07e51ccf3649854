// `node --import ./block-tfjs.mjs ...`: registers this file as a module resolve hook under which
// any import of a @tensorflow/* package fails, naming the module that imported it.
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

// The hooks run in their own thread, which loads this file again: register once, from the main one.
if (isMainThread) register(import.meta.url);

export async function resolve(specifier, context, next) {
  if (specifier.startsWith('@tensorflow/')) throw new Error(`blocked: ${specifier} imported by ${context.parentURL}`);
  return next(specifier, context);
}
