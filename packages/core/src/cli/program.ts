import { Command, Option } from 'commander';
import { dataMakeCliCommand } from './commands/data.js';
import { addDemoOptions, demoCommand } from './commands/demo.js';
import { exportCommand } from './commands/export.js';
import { evalCommand } from './commands/eval.js';
import { listCommand } from './commands/list.js';
import { predictCommand } from './commands/predict.js';
import { trainCommand } from './commands/train.js';
import { exportWebCommand, webCommand } from './commands/web.js';
import { EXIT_CODES_HELP } from './exit-codes.js';
import type { GlobalOptions } from './session.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/**
 * The `detkit` command tree. Each action stores its exit code in `result.code`; main.ts turns
 * thrown errors into `error [CODE]: message` and an exit code.
 */
export function createProgram(result: { code: number }): Command {
  const program = new Command('detkit')
    .description('Object detection on TensorFlow.js: train, evaluate, predict, distill')
    .option('--set <key=value>', 'override a config key (repeatable), e.g. --set train.maxIters=200', collect, [])
    .addOption(new Option('--backend <name>', 'tfjs backend: auto, webgpu, tensorflow, node-gpu, wasm, cpu (env DETKIT_BACKEND)'))
    .option('--seed <n>', 'random seed (overrides the config)')
    .option('--work-dir <dir>', 'directory for checkpoints, logs and metrics')
    .option('--workers <n>', 'data-parallel ranks on the CPU (train.workers): N threads, one wasm backend and a share of each batch each')
    .addHelpText('after', `\n${EXIT_CODES_HELP}\n\nEnvironment: DETKIT_LOG_LEVEL=debug|info|warn|error, DETKIT_DEBUG=1 (stack traces), DETKIT_BACKEND,
  DETKIT_NO_BUILTINS=1 (load only the config's own plugins).`)
    .showHelpAfterError('(run detkit --help for usage)');

  const globals = (cmd: Command) => cmd.optsWithGlobals() as GlobalOptions & Record<string, unknown>;

  program
    .command('train <config>')
    .description('train a model from a config file (.ts, .js, .mjs, .json)')
    .option('--resume <checkpoint>', 'resume from a checkpoint (model, optimizer, iteration)')
    .option('--allow-config-change', 'resume even if the checkpoint was trained under a different config (the changed keys are logged)')
    .option('--force', 'replace a run already in the work dir (its files are moved to <work dir>/replaced-<time>/)')
    .action(async (config: string, _o, cmd: Command) => {
      result.code = await trainCommand(config, globals(cmd));
    });

  program
    .command('distill <config>')
    .description('train a student with a distillation hook (the config needs a `distill: { type, ... }` section)')
    .option('--resume <checkpoint>', 'resume from a checkpoint')
    .option('--allow-config-change', 'resume even if the checkpoint was trained under a different config (the changed keys are logged)')
    .option('--force', 'replace a run already in the work dir (its files are moved to <work dir>/replaced-<time>/)')
    .action(async (config: string, _o, cmd: Command) => {
      result.code = await trainCommand(config, globals(cmd), 'distill');
    });

  program
    .command('eval [config]')
    .description('evaluate a checkpoint on the config\'s val data, or score COCO files with --gt/--results')
    .option('--checkpoint <file>', 'weights or full checkpoint (.safetensors)')
    .option('--gt <file>', 'COCO annotations JSON (file mode)')
    .option('--results <file>', 'COCO results JSON (file mode)')
    .option('--json <file>', 'also write the metrics as JSON')
    .action(async (config: string | undefined, _o, cmd: Command) => {
      result.code = await evalCommand(config, globals(cmd));
    });

  program
    .command('predict <config>')
    .description('detections of a trained model on plain images (--images) or on the config\'s val (or train) split, as PNGs and/or COCO results JSON')
    .option('--checkpoint <file>', 'weights or full checkpoint (.safetensors)')
    .option('--images <paths...>', 'PNG/JPEG files or folders to predict on (no annotations needed)')
    .option('--json <file>', 'write every detection as COCO results (category ids: the config\'s COCO categories, else label + 1)')
    .option('--out <dir>', 'output directory for PNGs with the detections drawn (default: predictions, unless only --json is given)')
    .option('--count <n>', 'number of images (default: 16 of a split, all of --images)')
    .option('--score-threshold <s>', 'hide drawn predictions below this score', '0.3')
    .option('--split <name>', 'val or train', 'val')
    .action(async (config: string, _o, cmd: Command) => {
      result.code = await predictCommand(config, globals(cmd) as never);
    });

  addDemoOptions(program.command('demo'))
    .description('KD-DETR on MNIST-detection: the student alone vs distilled from the shipped teacher; table, report, charts')
    .action(async (_o, cmd: Command) => {
      result.code = await demoCommand(globals(cmd));
    });

  program
    .command('list [kind]')
    .description('every registered name per kind, with the plugin that registered it')
    .option('--config <file>', "also load this config's plugins")
    .option('--plugin <spec>', 'also load this plugin (repeatable)', collect, [])
    .option('--json', 'machine-readable output')
    .action(async (kind: string | undefined, _o, cmd: Command) => {
      result.code = await listCommand(kind, globals(cmd) as never);
    });

  const exportCmd = program.command('export').description('export a model: its weights alone (default), or a web page that runs it');
  exportCmd
    .command('weights <checkpoint>', { isDefault: true })
    .description('write the model weights of a checkpoint alone (no optimizer state), e.g. to ship a teacher')
    .requiredOption('--out <file>', 'weights file to write (.safetensors)')
    .option('--metrics <file>', 'validation metrics of these weights to record in the file (the JSON of `detkit eval --json`)')
    .action(async (checkpoint: string, _o, cmd: Command) => {
      result.code = await exportCommand(checkpoint, cmd.opts() as { out: string; metrics?: string });
    });
  exportCmd
    .command('web <config>')
    .description('write a static site (index.html, bundle, wasm, config, weights) that runs the model in a browser')
    .requiredOption('--checkpoint <file>', 'weights or full checkpoint (.safetensors)')
    .requiredOption('--out <dir>', 'the site folder')
    .option('--force', 'replace --out when it exists')
    .action(async (config: string, _o, cmd: Command) => {
      result.code = await exportWebCommand(config, globals(cmd) as never);
    });

  program
    .command('web <dir>')
    .description('serve an exported site on 127.0.0.1 (any static server works too)')
    .option('--port <n>', 'port (0: any free one)', '8080')
    .action(async (dir: string, _o, cmd: Command) => {
      result.code = await webCommand(dir, cmd.opts() as { port: string });
    });

  const data = program.command('data').description('data set tools');
  data
    .command('make <name>')
    .description('generate a synthetic data set (mnist-detection, shapes) as COCO on disk')
    .option('--out <dir>', 'output directory')
    .option('--split <split>', 'train or val', 'train')
    .option('--count <n>', 'number of images')
    .option('--canvas-size <px>', 'image size')
    .option('--overwrite', 'replace an existing output directory')
    .action(async (name: string, _o, cmd: Command) => {
      result.code = await dataMakeCliCommand(name, globals(cmd));
    });

  return program;
}
