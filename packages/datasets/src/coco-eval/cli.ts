import { DetkitError } from '@detkit/core';
import { validateCoco } from '../coco/validate.js';
import { evaluateCoco } from './evaluate.js';
import { readJsonFile, writeFileAtomic } from './json-file.js';
import { formatStats } from './summarize.js';
import type { CocoEvalGroundTruth, CocoResult, CocoStats } from './types.js';

export interface EvalFilesOptions {
  /** COCO instances JSON (images, annotations, categories). */
  gt: string;
  /** COCO results JSON: an array of { image_id, category_id, bbox, score }. */
  results: string;
  /** Where to write the 12 numbers as one JSON object keyed AP ... ARl. */
  json?: string;
  /** Where the summary lines go (default console.log). */
  print?: (line: string) => void;
}

export interface EvalFilesReport {
  stats: CocoStats;
  lines: string[];
}

/** Prefixes validation errors with the file they came from, so the user knows which to fix. */
function inFile<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DetkitError) throw new DetkitError(e.code, `${file}: ${e.message}`, { ...e.details, file }, { cause: e });
    throw e;
  }
}

/** `detkit eval --gt ann.json --results dets.json [--json FILE]`: pycocotools' printout. */
export async function evalFilesCommand(options: EvalFilesOptions): Promise<EvalFilesReport> {
  const print = options.print ?? ((line: string) => console.log(line));
  const gt = await readJsonFile(options.gt, 'ground truth');
  const results = await readJsonFile(options.results, 'results');
  if (typeof gt !== 'object' || gt === null || Array.isArray(gt) || !['images', 'annotations', 'categories'].every((k) => Array.isArray((gt as Record<string, unknown>)[k]))) {
    throw new DetkitError('INVALID_ARGUMENT', `ground truth file ${options.gt} must hold an object with arrays "images", "annotations" and "categories"`, {
      file: options.gt,
    });
  }
  // The dataset's validator, read as pycocotools reads ground truth (see ValidateOptions.forEvaluation).
  const valid = validateCoco(gt, { annFile: options.gt, imageDir: '.', skipInvalid: false, boxTolerance: 1, forEvaluation: true });
  if (valid.duplicateAnnotationIds.length > 0) {
    const ids = valid.duplicateAnnotationIds;
    print(`note: ${options.gt}: annotation id${ids.length > 1 ? 's' : ''} ${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', ...' : ''} repeated; like pycocotools, each repeated id is scored as its last annotation`);
  }
  if (!Array.isArray(results)) {
    throw new DetkitError('INVALID_ARGUMENT', `results file ${options.results} must hold a JSON array of {image_id, category_id, bbox, score}`, {
      file: options.results,
    });
  }
  const result = inFile(`${options.gt} / ${options.results}`, () => evaluateCoco(gt as CocoEvalGroundTruth, results as CocoResult[]));
  if (result.droppedResults > 0) {
    print(`note: ${result.droppedResults} result(s) with a category_id not in the ground truth were ignored (as pycocotools does)`);
  }
  const lines = formatStats(result.stats);
  for (const line of lines) print(line);
  if (options.json !== undefined) await writeFileAtomic(options.json, JSON.stringify(result.stats, null, 2) + '\n');
  return { stats: result.stats, lines };
}
