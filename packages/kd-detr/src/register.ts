import { DetkitError, type BuildContext, type Hook, type PluginContext, type TypedConfig } from '@detkit/core';
import { HungarianMatcher } from '@detkit/detectors';
import { KdDetrHook } from './hook/kd-detr-hook.js';
import { resolveKdLossOptions, type KlNormalizer, type ResolvedKdLossOptions } from './loss/kd-loss.js';
import { HETERO_BOX_SPACES } from './loss/roi-deltas.js';
import { ConsistentPointsDistillation } from './methods/consistent-points.js';
import { GtMatchedLogitsDistillation } from './methods/gt-matched-logits.js';
import { HungarianLogitsDistillation } from './methods/hungarian-logits.js';
import type { AnyDistillMethod, DistillMethod } from './methods/method.js';
import { HeteroRoiDistillation } from './methods/hetero-roi.js';
import { NoDistillation } from './methods/none.js';
import { GeneralSampler } from './samplers/general.js';
import { POINT_CONTENTS, type QuerySampler } from './samplers/sampler.js';
import { SpecificSampler } from './samplers/specific.js';
import { ProposalSampler } from './samplers/proposals.js';
import { loadTeacher, readTeacherSpec } from './teacher/load-teacher.js';
import { Params } from './util/params.js';

/** Registry kind of the distillation methods (kd-detr and the baselines). */
export const METHOD_KIND = 'distill-method';
/** The hook's own keys in the `distill` section; every other key goes to the method. */
const HOOK_KEYS = ['teacher', 'method', 'saveStudent', 'priority', 'until'];
const LOSS_KEYS = ['temperature', 'weights', 'foregroundWeighting', 'klNormalizer'];

function readLoss(p: Params): ResolvedKdLossOptions {
  const w = p.object('weights');
  if (w) new Params('distill.weights', w, ['cls', 'l1', 'giou']);
  return resolveKdLossOptions({
    temperature: p.number('temperature'),
    weights: w as Partial<Record<'cls' | 'l1' | 'giou', number>> | undefined,
    foregroundWeighting: p.boolean('foregroundWeighting', true),
    klNormalizer: p.string('klNormalizer') as KlNormalizer | undefined,
  });
}

/** Default samplers: KD-DETR's general-to-specific pair (300 random points + the teacher's queries). */
export const DEFAULT_SAMPLERS: TypedConfig[] = [{ type: 'general' }, { type: 'specific' }];

/** The `samplers` list (default: general + specific), each built through the registry. */
async function buildSamplers(p: Params, ctx: BuildContext): Promise<QuerySampler[]> {
  const samplers: QuerySampler[] = [];
  for (const s of (p.array('samplers') ?? DEFAULT_SAMPLERS) as TypedConfig[]) samplers.push(await ctx.build<QuerySampler>('sampler', s));
  return samplers;
}

async function buildHook(params: Record<string, unknown>, ctx: BuildContext): Promise<Hook> {
  const methodParams: Record<string, unknown> = {};
  const hookParams: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) (HOOK_KEYS.includes(k) ? hookParams : methodParams)[k] = v;
  const p = new Params('distill', hookParams, HOOK_KEYS);
  const methodName = p.string('method', 'kd-detr');
  const method = await ctx.build<AnyDistillMethod>(METHOD_KIND, { type: methodName, ...methodParams });
  const logger = ctx.services.logger;
  const teacherRaw = p.raw('teacher');
  if (method.needsTeacher && teacherRaw === undefined) {
    throw new DetkitError('CONFIG_INVALID', `distill.teacher is required by method '${methodName}' ({ config: 'configs/...teacher.ts', checkpoint: '....safetensors' })`, { key: 'distill.teacher' });
  }
  const spec = method.needsTeacher ? readTeacherSpec(teacherRaw) : undefined;
  return new KdDetrHook({
    method,
    logger,
    loadTeacher: spec ? async (student) => (await loadTeacher(spec, ctx, logger, undefined, student)).model : undefined,
    teacherLabel: spec ? (spec.model ? `'${spec.model.type}'` : `the model of ${spec.config}`) : undefined,
    saveStudent: p.boolean('saveStudent', true),
    priority: p.number('priority'),
    until: readUntil(p),
  });
}

/** `distill.until`: a positive whole number of iterations, or absent (distil throughout). */
function readUntil(p: Params): number | undefined {
  const until = p.number('until');
  if (until !== undefined && !(Number.isInteger(until) && until >= 1)) {
    throw new DetkitError('CONFIG_INVALID', `distill.until must be a whole number of iterations >= 1 (distil for that many, then train alone), got ${until}`, { key: 'distill.until' });
  }
  return until;
}

/** Registers the hook, the samplers and the distillation methods. */
export function registerKdDetr(ctx: PluginContext): void {
  ctx.register<Hook>('hook', 'kd-detr', buildHook, {
    description: 'KD-DETR distillation from a frozen teacher through shared query groups (the config\'s `distill` section)',
  });
  ctx.register<QuerySampler>(
    'sampler',
    'general',
    (params, b) => {
      const p = new Params('sampler general', params, ['count', 'mean', 'std', 'seed', 'name']);
      try {
        return new GeneralSampler({ count: p.number('count', 300), mean: p.number('mean', 0), std: p.number('std', 1), seed: p.number('seed', b.services.rng.seed), name: p.string('name') });
      } catch (e) {
        throw new DetkitError('CONFIG_INVALID', (e as Error).message, { key: 'sampler general' });
      }
    },
    { description: 'KD-DETR general points: random pre-sigmoid N(mean, std) anchors, resampled every iteration (seeded by a hash of run seed and iteration)' },
  );
  ctx.register<QuerySampler>(
    'sampler',
    'specific',
    (params) => {
      const p = new Params('sampler specific', params, ['name', 'content']);
      return new SpecificSampler({ name: p.string('name'), content: p.oneOf('content', POINT_CONTENTS, 'zeros') });
    },
    { description: "KD-DETR specific points: the teacher's own learned anchors, detached; content 'learned' decodes them with each model's own query content (DINO)" },
  );
  ctx.register<QuerySampler>(
    'sampler',
    'proposals',
    (params) => {
      const p = new Params('sampler proposals', params, ['count', 'name']);
      return new ProposalSampler({ count: p.number('count', 100), name: p.string('name') });
    },
    { description: "heterogeneous KD-DETR points: the CNN student's own proposals of the iteration (top `count` per image, detached)" },
  );
  ctx.register<DistillMethod>(
    METHOD_KIND,
    'kd-detr',
    async (params, b) => {
      const p = new Params('distill', params, ['samplers', ...LOSS_KEYS]);
      return new ConsistentPointsDistillation(await buildSamplers(p, b), readLoss(p));
    },
    { description: 'consistent distillation points: every sampler is an isolated query group decoded by teacher and student' },
  );
  ctx.register<AnyDistillMethod>(
    METHOD_KIND,
    'kd-detr-hetero',
    async (params, b) => {
      const p = new Params('distill', params, ['samplers', 'boxSpace', 'minTeacherIou', ...LOSS_KEYS]);
      const boxSpace = p.oneOf('boxSpace', HETERO_BOX_SPACES, 'image');
      return new HeteroRoiDistillation(await buildSamplers(p, b), readLoss(p), boxSpace, p.number('minTeacherIou', 0)) as AnyDistillMethod;
    },
    { description: 'heterogeneous KD-DETR: a DETR teacher into a CNN student (RoI contract); distillation points are boxes the teacher decodes as queries and the student pools as RoIs' },
  );
  ctx.register<DistillMethod>(
    METHOD_KIND,
    'hungarian-logits',
    (params) => {
      const p = new Params('distill', params, ['matcher', 'maxTargets', ...LOSS_KEYS]);
      const m = p.object('matcher');
      if (m) new Params('distill.matcher', m, ['costClass', 'costBbox', 'costGiou', 'focalAlpha', 'gamma']);
      return new HungarianLogitsDistillation(readLoss(p), new HungarianMatcher(m), p.number('maxTargets', Infinity));
    },
    { description: 'baseline: Hungarian-match student detection queries to the teacher\'s (inconsistent points), same loss' },
  );
  ctx.register<DistillMethod>(
    METHOD_KIND,
    'gt-matched-logits',
    (params) => {
      const p = new Params('distill', params, ['matcher', 'temperature', 'clsWeight', 'boxWeight', 'beta']);
      const m = p.object('matcher');
      if (m) new Params('distill.matcher', m, ['costClass', 'costBbox', 'costGiou', 'focalAlpha', 'gamma']);
      return new GtMatchedLogitsDistillation(
        { temperature: p.number('temperature'), clsWeight: p.number('clsWeight'), boxWeight: p.number('boxWeight'), beta: p.number('beta') },
        new HungarianMatcher(m),
      );
    },
    { description: "baseline as the KD-DETR reference compares: teacher and student each matched to the ground truth, pairs sharing a box (KL x10, smooth L1 beta 1/9)" },
  );
  // `detkit demo` (core) runs this when the plugin is installed; imported lazily so loading the
  // plugin does not load sharp and cli-progress.
  ctx.register<{ run(): Promise<number> }>(
    'command',
    'demo',
    (params) => ({ run: async () => (await import('./demo/demo-command.js')).runDemo(params) }),
    { description: 'detkit demo: MNIST student alone vs with KD-DETR from the shipped teacher (table, report.md, charts)' },
  );
  ctx.register<DistillMethod>(
    METHOD_KIND,
    'none',
    (params) => {
      new Params('distill', params, []);
      return new NoDistillation();
    },
    { description: 'baseline: no distillation (plain training; the student is still saved)' },
  );
}
