// Benchmark harness: `npm run bench` runs every section, `npm run bench -- kernels matcher`
// runs the named ones. A section is a module exporting `section = { name, run(): Promise<void> }`
// that prints figures. Adding one = one line in SECTIONS (imported lazily, so a section that
// fails to load does not stop the others).
type Section = { name: string; run(): Promise<void> };
type Loader = () => Promise<{ section?: Section; default?: Section }>;

const SECTIONS: Record<string, Loader> = {
  kernels: () => import('./kernels.js'),
  'detr-step': () => import('./detr-step.js'),
  matcher: () => import('./matcher.js'),
  evaluator: () => import('./evaluator.js'),
  'kd-overhead': () => import('./kd-overhead.js'),
  detectors: () => import('./detectors.js'),
  dp: () => import('./dp.js'),
  gpu: () => import('./gpu.js'),
  'gpu-parity': () => import('./gpu-parity.js'),
  'async-step': () => import('./async-step.js'),
  deformable: () => import('./deformable.js'),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !(w in SECTIONS));
if (unknown.length > 0) {
  console.error(`unknown bench section(s): ${unknown.join(', ')}; known: ${Object.keys(SECTIONS).join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const name of wanted.length > 0 ? wanted : Object.keys(SECTIONS)) {
  console.log(`\n=== ${name} ===`);
  const t0 = performance.now();
  try {
    const mod = await SECTIONS[name]!();
    const section = mod.section ?? mod.default;
    if (section === undefined) throw new Error(`bench/${name}: exports no 'section'`);
    await section.run();
  } catch (e) {
    failed++;
    console.error(`section ${name} failed: ${e instanceof Error ? (e.stack ?? e.message).split('\n').slice(0, 4).join('\n') : String(e)}`);
  }
  console.log(`(${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}
process.exitCode = failed > 0 ? 1 : 0;
