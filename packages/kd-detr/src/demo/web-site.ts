import { join, relative } from 'node:path';
import { exportWebSite, type ExportedSite, type Metrics } from '@detkit/core';

export interface StudentSiteOptions {
  /** The demo's work dir: the site goes to `<workDir>/web`. */
  workDir: string;
  /** The student's config (its model section and name label the page). */
  studentConfig: string;
  /** The distilled student's weights (`student-kd-detr/student.safetensors`). */
  weights: string;
  /** Its validation metrics, shown on the page (the weights file records none). */
  metrics?: Metrics;
  backend?: string;
}

/** The demo's last step: the distilled student as a static web page, and the command that serves it. */
export async function exportStudentSite(o: StudentSiteOptions): Promise<{ site: ExportedSite; serveCommand: string }> {
  const site = await exportWebSite({ config: o.studentConfig, checkpoint: o.weights, out: join(o.workDir, 'web'), force: true, metrics: o.metrics, backend: o.backend });
  const rel = relative(process.cwd(), site.dir);
  return { site, serveCommand: `npx detkit web ${rel.startsWith('..') ? site.dir : rel}` };
}
