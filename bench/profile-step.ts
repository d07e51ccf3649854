// Profiles a full training step (forward + set criterion + backward + AdamW) of the detector
// in a config, on real batches of its training dataset, and prints where the time goes:
//   - per phase (module path of the forward op; `bwd:` + the same path for its gradient),
//   - top kernels by total ms (self time: a kernel that calls other kernels is charged only
//     for its own work), optionally split by input shapes (PROFILE_SHAPES=1).
// Usage, from the repo root:
//   node --import tsx --conditions=source bench/profile-step.ts [config] [iters] [batch] [size]
//   e.g. bench/profile-step.ts configs/dab-detr/mnist-student.ts 4 8 64
// PROFILE_KD=kd|specific|hungarian|hetero: profile a KD-DETR step instead (the config's model as
//   the student, PROFILE_TEACHER's model (default configs/dab-detr/mnist-teacher.ts) with random
//   weights as the teacher; 'kd' and 'hetero' = 100 general points + the teacher's queries): teacher phases are prefixed 'teacher.', the method's
//   prepare (before the tape) and losses (inside) are phases 'kd.prepare' and 'kd.losses'.
// Kernels run synchronously on wasm and cpu, so wall time around a kernel func is its cost.
import * as tf from '@tensorflow/tfjs-core';
import { stockWasmKernel, type Batch, type Module } from '@detkit/core';
import type { QueryGroupDetector, QueryGroupTrainOutputs } from '@detkit/detectors';
import type { DistillMethod } from '@detkit/kd-detr';
import { plugin as kdPlugin } from '@detkit/kd-detr';
import { defaultBackend, disposeBatches, makeTrainStep, type ExtraLosses, median, setupDetector, trainBatches } from './detector-setup.js';
import { fmt, printTable } from './timing.js';

interface Stat {
  ms: number;
  n: number;
}

const labels: string[] = ['(other)'];
const kernelSelf = new Map<string, Stat>(); // key: kernel name [+ shapes]
const phaseKernel = new Map<string, Stat>(); // key: phase
const phaseWall = new Map<string, Stat>();
const pairSelf = new Map<string, Stat>(); // key: phase | kernel
const matmulStats = new Map<string, Stat>(); // 'flops' (sum of 2*M*N*K) and 'ms' of matmul kernels
let recording = false;
const withShapes = process.env['PROFILE_SHAPES'] === '1';

function bump(map: Map<string, Stat>, key: string, ms: number): void {
  const s = map.get(key) ?? { ms: 0, n: 0 };
  s.ms += ms;
  s.n += 1;
  map.set(key, s);
}

/** Runs `fn` under `label`, charging its wall time (minus nested labels) to the label. */
const wallStack: number[] = [];
function within<T>(label: string, fn: () => T): T {
  labels.push(label);
  wallStack.push(0);
  const t0 = performance.now();
  try {
    return fn();
  } finally {
    const total = performance.now() - t0;
    const nested = wallStack.pop()!;
    labels.pop();
    if (wallStack.length > 0) wallStack[wallStack.length - 1]! += total;
    if (recording) bump(phaseWall, label, total - nested);
  }
}

/** 2*M*N*K*batch of a (batch) matmul kernel call, 0 for other kernels. */
function matmulFlops(name: string, args: Parameters<tf.KernelFunc>[0]): number {
  if (name !== 'BatchMatMul' && name !== '_FusedMatMul') return 0;
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const attrs = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = attrs.transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const k = attrs.transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const n = attrs.transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  const batch = Math.max(tf.util.sizeFromShape(a.shape.slice(0, -2)), tf.util.sizeFromShape(b.shape.slice(0, -2)));
  return 2 * batch * m * n * k;
}

/** Wraps every wasm/cpu kernel func with a self-time timer (marks on the func are kept). */
function instrumentKernels(backend: string): void {
  const childStack: number[] = [];
  for (const k of tf.getKernelsForBackend(backend)) {
    const inner = k.kernelFunc;
    const timed = ((args: Parameters<tf.KernelFunc>[0]) => {
      childStack.push(0);
      const t0 = performance.now();
      try {
        return inner(args);
      } finally {
        const total = performance.now() - t0;
        const self = total - childStack.pop()!;
        if (childStack.length > 0) childStack[childStack.length - 1]! += total;
        if (recording) {
          let key = k.kernelName;
          if (withShapes) {
            const shapes = Object.values(args.inputs).map((t) => `[${(t as tf.TensorInfo).shape}]`);
            const attrs = args.attrs as Record<string, unknown> | undefined;
            const flags = attrs && ('transposeA' in attrs || 'transposeB' in attrs) ? ` tA=${attrs['transposeA'] ? 1 : 0} tB=${attrs['transposeB'] ? 1 : 0}` : '';
            key += ` ${shapes.join('x')}${flags}`;
          }
          bump(kernelSelf, key, self);
          const f = matmulFlops(k.kernelName, args);
          if (f > 0) bump(matmulStats, 'flops', f), bump(matmulStats, 'ms', self);
          bump(phaseKernel, labels[labels.length - 1]!, self);
          bump(pairSelf, `${labels[labels.length - 1]} | ${k.kernelName}`, self);
        }
      }
    }) as tf.KernelFunc;
    for (const sym of Object.getOwnPropertySymbols(inner)) (timed as unknown as Record<symbol, unknown>)[sym] = (inner as unknown as Record<symbol, unknown>)[sym];
    tf.unregisterKernel(k.kernelName, backend);
    tf.registerKernel({ ...k, kernelFunc: timed });
  }
}

/** Module path -> phase name: numeric indices and `transformer.` dropped, backbone by layer kind. */
function phaseOf(path: string, m: Module): string | undefined {
  if (path === '') return undefined;
  if (path === 'backbone') return 'backbone';
  if (path.startsWith('backbone.')) return ['Conv2d', 'BatchNorm2d'].includes(m.constructor.name) ? `backbone.${m.constructor.name}` : undefined;
  const p = path.replace(/^transformer\./, '').replace(/\.\d+(?=\.|$)/g, '');
  if (/^decoder\.layers\.(sa|ca)_\w+_proj$/.test(p)) return `decoder.layers.${p.split('.')[2]!.slice(0, 2)}_*_proj`;
  return p;
}

/** Labels the forward of every module, and the gradient of every op recorded under it. */
function instrumentModel(model: Module, prefix = ''): void {
  for (const [path, m] of model.namedModules()) {
    const p = phaseOf(path, m);
    const phase = p === undefined ? undefined : prefix + p;
    const f = (m as unknown as { forward?: (...a: unknown[]) => unknown }).forward;
    if (phase === undefined || typeof f !== 'function') continue;
    (m as unknown as { forward: unknown }).forward = (...a: unknown[]) => within(phase, () => f.apply(m, a));
  }
}

/** Labels the gradient of every taped op with the phase it was recorded in (once per process). */
let tapeLabelled = false;
function tapeLabels(): void {
  if (tapeLabelled) return;
  tapeLabelled = true;
  const engine = tf.engine() as unknown as { addTapeNode: (...a: unknown[]) => void; state: { activeTape: Array<{ gradient?: (dys: unknown) => unknown; kernelName: string }> } };
  const add = engine.addTapeNode.bind(engine);
  engine.addTapeNode = (...a: unknown[]) => {
    add(...a);
    const node = engine.state.activeTape[engine.state.activeTape.length - 1]!;
    const g = node.gradient;
    const phase = `bwd:${labels[labels.length - 1]}`;
    if (!g) return;
    // Gradient maps are thunks the tape calls later: label those calls too.
    node.gradient = (dys: unknown) => {
      const thunks = within(phase, () => g(dys)) as Record<string, () => unknown>;
      return Object.fromEntries(Object.entries(thunks).map(([k, f]) => [k, () => within(phase, f)]));
    };
  };
}

const [cfgPath = 'configs/dab-detr/mnist-student.ts', itersArg = '4', batchArg = '8', sizeArg = '64'] = process.argv.slice(2);
const backend = await defaultBackend();
// PROFILE_STOCK=Identity,Slice: put the stock wasm kernels back for these names (A/B runs).
for (const name of (process.env['PROFILE_STOCK'] ?? '').split(',').filter(Boolean)) {
  const k = tf.getKernel(name, backend.name);
  const stock = stockWasmKernel(name);
  if (!k || !stock) throw new Error(`PROFILE_STOCK: no overridden kernel '${name}' on ${backend.name}`);
  tf.unregisterKernel(name, backend.name);
  tf.registerKernel({ ...k, kernelFunc: stock });
}
const setup = await setupDetector(cfgPath);
const model = setup.model;
const B = Number(batchArg);
const S = Number(sizeArg);
const batches = await trainBatches(setup, { count: 2, batchSize: B, canvasSize: S });
// PROFILE_OFF=1: time the step only (no wrappers), e.g. for before/after comparisons.
const instrument = process.env['PROFILE_OFF'] !== '1';
if (instrument) {
  instrumentKernels(backend.name);
  instrumentModel(model);
  tapeLabels();
}
const kdMode = process.env['PROFILE_KD'];
let kd: { teacher: QueryGroupDetector; method: DistillMethod } | undefined;
if (kdMode) {
  const general = [{ type: 'general', count: 100 }, { type: 'specific' }];
  const methods: Record<string, { type: string } & Record<string, unknown>> = {
    kd: { type: 'kd-detr', samplers: general },
    specific: { type: 'kd-detr', samplers: [{ type: 'specific' }] },
    hungarian: { type: 'hungarian-logits' },
    hetero: { type: 'kd-detr-hetero', samplers: general },
  };
  const methodConfig = methods[kdMode];
  if (!methodConfig) throw new Error(`PROFILE_KD: '${kdMode}' is not one of ${Object.keys(methods).join(', ')}`);
  await kdPlugin.register(setup.registry.pluginContext(kdPlugin.name));
  const method = await setup.registry.build<DistillMethod>('distill-method', methodConfig);
  const teacher = (await setupDetector(process.env['PROFILE_TEACHER'] ?? 'configs/dab-detr/mnist-teacher.ts')).model as unknown as QueryGroupDetector;
  teacher.eval();
  teacher.freeze();
  if (instrument) {
    instrumentModel(teacher as unknown as Module, 'teacher.');
    for (const name of ['prepare', 'losses'] as const) {
      const f = method[name].bind(method) as (...a: unknown[]) => unknown;
      (method as unknown as Record<string, unknown>)[name] = (...a: unknown[]) => within(`kd.${name}`, () => f(...a));
    }
  }
  kd = { teacher, method };
}
/** The distillation terms of one KD step (teacher run now, before the tape), or undefined. */
async function kdTerms(batch: Batch, iter: number): Promise<{ extra: ExtraLosses; dispose: () => void } | undefined> {
  if (!kd) return undefined;
  const { teacher, method } = kd;
  const prepared = await method.prepare({ teacher, batch, iter });
  const extra: ExtraLosses = (forward) => method.losses({ student: model as unknown as QueryGroupDetector, outputs: forward.outputs as QueryGroupTrainOutputs, batch, prepared }) as Record<string, tf.Scalar>;
  return { extra, dispose: () => prepared.dispose() };
}
const criterion = (model as unknown as { criterion?: { compute: (...a: unknown[]) => unknown; matcher: { match: (...a: unknown[]) => unknown } } }).criterion;
if (criterion && instrument) {
  const compute = criterion.compute.bind(criterion);
  criterion.compute = (...a: unknown[]) => within('criterion', () => compute(...a));
  const match = criterion.matcher.match.bind(criterion.matcher);
  criterion.matcher.match = (...a: unknown[]) => within('criterion.matcher (CPU + read)', () => match(...a));
}
const trainer = makeTrainStep(setup, (update) => within('optimizer', update));
model.train();

const iters = Number(itersArg);
let total = 0;
const wallPerIter: number[] = [];
const cpuPerIter: number[] = [];
for (let i = 0; i <= iters; i++) {
  recording = i > 0; // iteration 0 warms up (kernel setup, heap growth)
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const batch = batches[i % batches.length]!;
  const terms = await kdTerms(batch, i);
  within('step (variableGrads glue)', () => trainer.step(batch, terms?.extra));
  terms?.dispose();
  if (!recording) continue;
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  total += wall;
  wallPerIter.push(wall);
  cpuPerIter.push((c.user + c.system) / 1000);
}
trainer.dispose();
kd?.teacher.dispose();
disposeBatches(batches);

if (!instrument) {
  console.log(`${cfgPath}, batch ${B}x${S}x${S}, ${backend.name}: wall median ${fmt(median(wallPerIter))} ms, min ${fmt(Math.min(...wallPerIter))} ms; process CPU median ${fmt(median(cpuPerIter))} ms, min ${fmt(Math.min(...cpuPerIter))} ms`);
  process.exit(0);
}
const perIter = (ms: number) => fmt(ms / iters);
const sorted = (m: Map<string, Stat>, key: (s: Stat) => number) => [...m.entries()].sort((a, b) => key(b[1]) - key(a[1]));
const kernelTotal = [...kernelSelf.values()].reduce((s, v) => s + v.ms, 0);

const phaseRows = [['phase', 'wall ms/iter', 'kernel ms/iter', 'kernels/iter']];
const phases = new Set([...phaseWall.keys(), ...phaseKernel.keys()]);
const phaseSort = [...phases].sort((a, b) => (phaseWall.get(b)?.ms ?? 0) - (phaseWall.get(a)?.ms ?? 0));
for (const p of phaseSort) {
  rowsPush(phaseRows, p, phaseWall.get(p)?.ms ?? 0, phaseKernel.get(p)?.ms ?? 0, phaseKernel.get(p)?.n ?? 0);
}
function rowsPush(rows: string[][], name: string, wall: number, kern: number, n: number): void {
  rows.push([name, perIter(wall), perIter(kern), (n / iters).toFixed(0)]);
}
printTable(`${kdMode ? `KD step (${kdMode}). ` : ''}Phases (self time; 'bwd:' = gradients of ops recorded in that phase), ${cfgPath}, batch ${B}x${S}x${S}, ${backend.name}`, phaseRows);

const top = Number(process.env['PROFILE_TOP'] ?? 25);
const kernelRows = [['kernel' + (withShapes ? ' (input shapes)' : ''), 'ms/iter', 'calls/iter', 'us/call', '% of kernels']];
for (const [k, s] of sorted(kernelSelf, (s) => s.ms).slice(0, top)) {
  kernelRows.push([k, perIter(s.ms), (s.n / iters).toFixed(0), ((s.ms / s.n) * 1000).toFixed(0), ((100 * s.ms) / kernelTotal).toFixed(1)]);
}
printTable(`Top ${top} kernels by total self time`, kernelRows);
if (process.env['PROFILE_PAIRS'] === '1') {
  const pairRows = [['phase | kernel', 'ms/iter', 'calls/iter']];
  for (const [k, s] of sorted(pairSelf, (s) => s.ms).slice(0, top)) pairRows.push([k, perIter(s.ms), (s.n / iters).toFixed(0)]);
  printTable(`Top ${top} (phase, kernel) pairs`, pairRows);
}
const calls = [...kernelSelf.values()].reduce((s, v) => s + v.n, 0);
const mmFlops = matmulStats.get('flops')?.ms ?? 0;
const mmMs = matmulStats.get('ms')?.ms ?? 0;
console.log(`\nmatmuls: ${(mmFlops / iters / 1e9).toFixed(2)} GFLOP/iter in ${fmt(mmMs / iters)} ms (${(mmFlops / 1e6 / Math.max(mmMs, 1e-9)).toFixed(1)} GFLOP/s)`);
console.log(`step wall median ${fmt(median(wallPerIter))} ms, min ${fmt(Math.min(...wallPerIter))} ms; process CPU median ${fmt(median(cpuPerIter))} ms, min ${fmt(Math.min(...cpuPerIter))} ms (CPU time is less sensitive to a busy machine)`);
console.log(`step ${fmt(total / iters)} ms/iter: kernels ${fmt(kernelTotal / iters)} ms (${(calls / iters).toFixed(0)} calls), outside kernels (JS, engine, matcher) ${fmt((total - kernelTotal) / iters)} ms`);
