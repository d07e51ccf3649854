import type { DistillMethod, Prepared } from './method.js';

/** Baseline: no distillation (the student trains alone; the hook only saves it at the end). */
export class NoDistillation implements DistillMethod {
  readonly name = 'none';
  readonly needsTeacher = false;
  async prepare(): Promise<Prepared> {
    return { dispose: () => {} };
  }
  losses() {
    return {};
  }
  expectedTerms(): string[] {
    return [];
  }
}
