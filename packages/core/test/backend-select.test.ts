import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import { getKernel } from '@tensorflow/tfjs-core';
import { installWasmKernels, selectBackend } from '../src/backend/index.js';
import { dawnFlags } from '../src/backend/webgpu/adapter.js';
import { FUSED_GROUPS, fusedGroups } from '../src/backend/webgpu/install.js';
import { HOST_PATCHES, hostPatches, submitBatch } from '../src/backend/webgpu/host-overhead.js';
import { isDetkitError } from '../src/errors.js';
import type { Logger } from '../src/registry/types.js';

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (m: string) => lines.push(`${level} ${m}`);
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

// Backend selection is process-global: run serially, restore the env var.
test.serial('explicit cpu is chosen and logged in one info line', async (t) => {
  const logger = recordingLogger();
  const r = await selectBackend({ backend: 'cpu', logger });
  t.is(r.name, 'cpu');
  t.is(tf.getBackend(), 'cpu');
  t.is(logger.lines.filter((l) => l.startsWith('info')).length, 1);
  t.regex(logger.lines.find((l) => l.startsWith('info'))!, /backend: cpu/);
});

test.serial('DETKIT_BACKEND picks the backend when no option is given', async (t) => {
  process.env['DETKIT_BACKEND'] = 'wasm';
  try {
    const r = await selectBackend();
    t.is(r.name, 'wasm');
    t.regex(r.reason, /DETKIT_BACKEND/);
    t.truthy(getKernel('Conv2DBackpropFilter', 'wasm'), 'wasm training kernels installed');
    t.truthy(getKernel('UnsortedSegmentSum', 'wasm'));
  } finally {
    delete process.env['DETKIT_BACKEND'];
  }
});

test.serial('an unknown name fails with BACKEND_UNAVAILABLE listing the known names', async (t) => {
  const e = await t.throwsAsync(selectBackend({ backend: 'tpu' }));
  t.true(isDetkitError(e, 'BACKEND_UNAVAILABLE'));
  t.regex(e!.message, /'tpu'.*known: auto, webgpu, tensorflow, node, node-gpu, wasm, cpu/);
});

test.serial('an explicit backend that cannot load fails naming it and why', async (t) => {
  const e = await t.throwsAsync(selectBackend({ backend: 'node' }));
  t.true(isDetkitError(e, 'BACKEND_UNAVAILABLE'));
  t.regex(e!.message, /@tensorflow\/tfjs-node/);
});

test.serial('auto falls through the missing native bindings to wasm here, logging why at debug', async (t) => {
  const logger = recordingLogger();
  const r = await selectBackend({ backend: 'auto', logger });
  t.is(r.name, 'wasm');
  t.true(logger.lines.some((l) => l.startsWith('debug') && l.includes('@tensorflow/tfjs-node-gpu')));
  t.regex(r.reason, /skipped: .*tfjs-node-gpu/);
  // Idempotent: selecting again must not re-wrap the kernels.
  await selectBackend({ backend: 'wasm' });
  t.deepEqual(installWasmKernels(), { added: [], overridden: [] });
  t.is(tf.matMul(tf.ones([2, 3]), tf.ones([2, 3]), false, true).dataSync()[0], 3);
});

test('DETKIT_DAWN_FLAGS splits on spaces and semicolons, keeping the commas inside a flag', (t) => {
  t.deepEqual(dawnFlags({}), []);
  t.deepEqual(dawnFlags({ DETKIT_DAWN_FLAGS: ' enable-dawn-features=skip_validation,disable_robustness;backend=vulkan  ' }), [
    'enable-dawn-features=skip_validation,disable_robustness',
    'backend=vulkan',
  ]);
});

test('DETKIT_WEBGPU_FUSED picks the fused kernel groups: all, none, or a named list', (t) => {
  t.deepEqual([...fusedGroups(undefined)], [...FUSED_GROUPS]);
  t.deepEqual([...fusedGroups('1')], [...FUSED_GROUPS]);
  t.deepEqual([...fusedGroups('0')], []);
  t.deepEqual([...fusedGroups('adam, layernorm')], ['adam', 'layernorm']);
  t.deepEqual([...fusedGroups('-conv-filter,-adam')], FUSED_GROUPS.filter((g) => g !== 'conv-filter' && g !== 'adam'));
  t.regex(t.throws(() => fusedGroups('adam,-giou'))!.message, /DETKIT_WEBGPU_FUSED: 'adam,-giou' mixes names and '-names'/);
  t.regex(t.throws(() => fusedGroups('-attention'))!.message, /unknown group 'attention'/);
  const e = t.throws(() => fusedGroups('adam,attention'));
  t.true(isDetkitError(e, 'INVALID_ARGUMENT'));
  t.regex(e!.message, /DETKIT_WEBGPU_FUSED: unknown group 'attention'/);
});

test('DETKIT_WEBGPU_HOST and DETKIT_WEBGPU_SUBMIT_BATCH are parsed strictly', (t) => {
  t.deepEqual([...hostPatches(undefined)], [...HOST_PATCHES]);
  t.deepEqual([...hostPatches('0')], []);
  t.deepEqual([...hostPatches('upload,submit')], ['upload', 'submit']);
  t.regex(t.throws(() => hostPatches('uploads'))!.message, /DETKIT_WEBGPU_HOST: unknown patch 'uploads'/);
  t.is(submitBatch(undefined), 64);
  t.is(submitBatch('256'), 256);
  for (const bad of ['0', '-1', '1.5', 'many']) t.regex(t.throws(() => submitBatch(bad))!.message, /DETKIT_WEBGPU_SUBMIT_BATCH: '.*' is not a positive integer/);
});
