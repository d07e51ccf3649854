import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { DetkitError, loadConfig, loadModelWeights, type BuildContext, type Logger, type TypedConfig } from '@detkit/core';
import { isQueryGroupDetector, type QueryGroupDetector } from '@detkit/detectors';
import { teacherContractError } from '../hook/contract-check.js';

/** Where the teacher comes from: a config file's `model` section (or an inline one) and weights. */
export interface TeacherSpec {
  /** A detkit config file whose `model` section builds the teacher (relative: to the working directory). */
  config?: string;
  /** An inline model section, instead of `config`. */
  model?: TypedConfig;
  /** Weights file or full checkpoint (relative: to the working directory). Loaded strictly. */
  checkpoint: string;
}

export interface TeacherLoadReport {
  /** Tensors copied into the teacher (every parameter and buffer: the load is strict). */
  loaded: number;
  parameters: number;
  buffers: number;
  checkpoint: string;
}

export function readTeacherSpec(raw: unknown): TeacherSpec {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new DetkitError('CONFIG_INVALID', `distill.teacher must be { config, checkpoint } (or { model, checkpoint }), got ${JSON.stringify(raw)}`, { key: 'distill.teacher' });
  }
  const t = raw as Record<string, unknown>;
  const unknown = Object.keys(t).filter((k) => !['config', 'model', 'checkpoint'].includes(k));
  if (unknown.length > 0) throw new DetkitError('CONFIG_INVALID', `distill.teacher: unknown key(s) ${unknown.join(', ')}; known: config, model, checkpoint`, { key: 'distill.teacher' });
  if (typeof t.checkpoint !== 'string' || t.checkpoint === '') {
    throw new DetkitError('CONFIG_INVALID', `distill.teacher.checkpoint must name the teacher's weights file, got ${JSON.stringify(t.checkpoint)}`, { key: 'distill.teacher.checkpoint' });
  }
  if ((t.config === undefined) === (t.model === undefined)) {
    throw new DetkitError('CONFIG_INVALID', 'distill.teacher needs exactly one of `config` (a config file) or `model` (an inline model section)', { key: 'distill.teacher' });
  }
  if (t.config !== undefined && (typeof t.config !== 'string' || t.config === '')) {
    throw new DetkitError('CONFIG_INVALID', `distill.teacher.config must be a path, got ${JSON.stringify(t.config)}`, { key: 'distill.teacher.config' });
  }
  if (t.model !== undefined && (typeof t.model !== 'object' || t.model === null || typeof (t.model as TypedConfig).type !== 'string')) {
    throw new DetkitError('CONFIG_INVALID', `distill.teacher.model must be a { type, ... } model section, got ${JSON.stringify(t.model)}`, { key: 'distill.teacher.model' });
  }
  return { config: t.config as string | undefined, model: t.model as TypedConfig | undefined, checkpoint: t.checkpoint };
}

/**
 * Builds the teacher through the registry (any registered detector implementing the
 * query-group contract), loads its weights strictly, and freezes it: eval mode (no dropout,
 * batch-norm running statistics), no trainable parameters. Logs which tensors loaded.
 */
export async function loadTeacher(spec: TeacherSpec, ctx: BuildContext, logger: Logger, baseDir = process.cwd(), student = 'the student'): Promise<{ model: QueryGroupDetector; report: TeacherLoadReport }> {
  let modelCfg = spec.model;
  if (spec.config !== undefined) {
    const file = resolve(baseDir, spec.config);
    modelCfg = (await loadConfig(file)).config.model;
  }
  const checkpoint = resolve(baseDir, spec.checkpoint);
  if (!existsSync(checkpoint)) {
    throw new DetkitError('IO', `kd-detr: teacher checkpoint ${checkpoint} does not exist (train the teacher first, e.g. \`detkit train ${spec.config ?? '<teacher config>'}\`, then export its weights)`, { path: checkpoint });
  }
  const model = await ctx.build<unknown>('detector', modelCfg!);
  if (!isQueryGroupDetector(model)) {
    const error = teacherContractError(model, modelCfg!.type, student)!;
    (model as { dispose?: () => void }).dispose?.();
    throw error;
  }
  const weights = await loadModelWeights(checkpoint);
  let loaded: string[];
  try {
    loaded = model.loadStateDict(weights, { strict: true, source: checkpoint }).loaded;
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    tf.dispose([...weights.values()]);
  }
  model.eval();
  model.freeze();
  const report: TeacherLoadReport = {
    loaded: loaded.length,
    parameters: model.namedParameters().length,
    buffers: model.namedBuffers().length,
    checkpoint,
  };
  logger.info(
    `kd-detr: teacher '${modelCfg!.type}' loaded ${report.loaded}/${report.parameters + report.buffers} tensors ` +
      `(${report.parameters} parameters, ${report.buffers} buffers, ${model.numParameters()} weights) from ${checkpoint}; frozen, eval mode`,
  );
  return { model, report };
}

/** What both sides must agree on. */
type ClassesAndBoxes = Pick<QueryGroupDetector, 'numClasses' | 'classNames' | 'boxFormat'>;

/** Teacher and student must agree on classes and box format (kd-detr-method.md section 9). */
export function assertCompatible(teacher: ClassesAndBoxes, student: ClassesAndBoxes): void {
  const problems: string[] = [];
  if (teacher.numClasses !== student.numClasses) problems.push(`numClasses: teacher ${teacher.numClasses}, student ${student.numClasses}`);
  else if (teacher.classNames.join('\u0000') !== student.classNames.join('\u0000')) {
    const i = teacher.classNames.findIndex((n, k) => n !== student.classNames[k]);
    problems.push(`classNames differ at index ${i}: teacher ${JSON.stringify(teacher.classNames[i])}, student ${JSON.stringify(student.classNames[i])}`);
  }
  if (teacher.boxFormat !== student.boxFormat) problems.push(`boxFormat: teacher ${teacher.boxFormat}, student ${student.boxFormat}`);
  if (problems.length > 0) {
    throw new DetkitError('MODEL_CONTRACT', `kd-detr: teacher and student disagree (${problems.join('; ')}); distillation needs the same class set and box format`, { problems });
  }
}
