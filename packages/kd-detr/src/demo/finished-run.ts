import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TrainingResult } from './run-training.js';

/**
 * The result of the run in `dir` if it finished with exactly this config text (its config.json
 * and result.json both there). Experiments call it before training a run, so an interrupted
 * experiment resumes where it stopped, across sessions, from the run folders committed to git.
 */
export async function finishedRun(dir: string, configText: string): Promise<TrainingResult | undefined> {
  const [config, result] = [join(dir, 'config.json'), join(dir, 'result.json')];
  if (!existsSync(config) || !existsSync(result)) return undefined;
  if (repoRelative(await readFile(config, 'utf8')) !== repoRelative(configText)) return undefined;
  return JSON.parse(await readFile(result, 'utf8')) as TrainingResult;
}

/** A config's text with the checkout's absolute path replaced, so checkouts elsewhere compare equal. */
export function repoRelative(text: string): string {
  return text.replace(/"[^"]*?\/(packages|configs|checkpoints)\//g, '"<repo>/$1/');
}
