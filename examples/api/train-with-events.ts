import { createRun } from '@detkit/core';

const run = await createRun('examples/plugin-template/detkit.config.ts', { overrides: process.argv.slice(2) });
run.events$.subscribe((e) => {
  if (e.type === 'afterIter') console.log(`iter ${e.iter}: loss ${e.totalLoss.toFixed(3)}`);
  if (e.type === 'afterEval') console.log(`AP ${e.metrics.AP!.toFixed(3)}`);
});
await run.train();
