#!/usr/bin/env bash
# `npm run test:install`: what a new user does with detkit (issue #11), end to end. Packs every
# package, installs the tarballs into a fresh project outside the repo (mktemp -d), writes a
# TypeScript config and a third-party plugin package there, then runs `detkit list`, a
# 5-iteration `detkit train`, `detkit predict --json`, a config that extends one of this repo's
# configs, a gradient check with @detkit/core/testing, and the project's own `tsc` (strict,
# nodenext, types: [], no skipLibCheck).
# Stops at the first failure saying which step failed; always deletes its temp dirs.
set -Eeuo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/detkit-install-test-XXXXXX")
project="$work/project"
tarballs="$work/tarballs"
# .ts in a project whose package.json has no "type": "module" (npm init's default): detkit loads
# a config's own .ts files as ES modules wherever they live.
config=detkit.config.ts
# The user's TypeScript: this repo's version. TypeScript 6+ cannot check tfjs-core 4.22's types
# without skipLibCheck (its lib.dom declares WebGPU, clashing with the @webgpu/types tfjs-core pins).
ts_version=$(node -p "require('$repo/package.json').devDependencies.typescript")

step_name=''
step_started=$SECONDS
# DETKIT_INSTALL_TEST_KEEP=1 keeps the project to look into after a failure.
cleanup() {
  if [ "${DETKIT_INSTALL_TEST_KEEP:-}" = 1 ]; then echo "install-test: kept $work"; else rm -rf -- "$work"; fi
}
trap cleanup EXIT
trap 'echo "install-test: FAILED in step \"$step_name\": \`$BASH_COMMAND\` exited $?" >&2' ERR
step() {
  [ -n "$step_name" ] && echo "install-test: ok ($((SECONDS - step_started)) s)"
  step_name=$1
  step_started=$SECONDS
  echo
  echo "install-test: == $1"
}
fail() {
  trap - ERR
  echo "install-test: FAILED in step \"$step_name\": $1" >&2
  exit 1
}
# The project's detkit (run from $project); --no: never fetch a same-named package from the registry.
detkit() { npx --no -- detkit "$@"; }

case "$work/" in "$repo"/*) fail "temp dir $work is inside the repo: set TMPDIR elsewhere" ;; esac

step "build and pack every package into $tarballs"
(cd "$repo" && npm run build --silent)
mkdir -p "$tarballs"
(cd "$repo" && npm pack --workspaces --pack-destination "$tarballs" --silent >/dev/null)
for tgz in "$tarballs"/*.tgz; do
  files=$(tar -tzf "$tgz")
  for want in package/LICENSE package/README.md package/dist/index.js package/dist/index.d.ts; do
    grep -qx "$want" <<<"$files" || fail "$(basename "$tgz") lacks ${want#package/}"
  done
  if grep -E '\.tsbuildinfo$|^package/test/' <<<"$files"; then fail "$(basename "$tgz") ships build info or tests (above)"; fi
  echo "  $(basename "$tgz"): $(wc -l <<<"$files") files"
done

step "create a project outside the repo: $project (npm init -y, CommonJS by default)"
mkdir -p "$project"
cd "$project"
npm init -y >/dev/null
if grep -q '"type": *"module"' package.json; then fail 'npm init wrote "type": "module"; this test wants a CommonJS project'; fi

step "write a third-party plugin package: detkit-plugin-hello (registers hook hello/iterations)"
mkdir detkit-plugin-hello
cat >detkit-plugin-hello/package.json <<'EOF'
{
  "name": "detkit-plugin-hello",
  "version": "1.0.0",
  "type": "module",
  "exports": "./index.ts",
  "peerDependencies": { "@detkit/core": "0.1.0" }
}
EOF
cat >detkit-plugin-hello/index.ts <<'EOF'
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DetkitError, type DetkitPlugin, type Hook, type RunState } from '@detkit/core';

/** Counts the iterations it sees; writes { iterations } to workDir/<file> when the run ends. */
class HelloHook implements Hook {
  readonly name = 'hello/iterations';
  iterations = 0;
  readonly file: string;

  constructor(file: string) {
    this.file = file;
  }

  afterIter(): void {
    this.iterations++;
  }

  async afterRun(state: RunState): Promise<void> {
    await writeFile(join(state.workDir, this.file), JSON.stringify({ iterations: this.iterations }));
  }
}

const plugin: DetkitPlugin = {
  name: 'detkit-plugin-hello',
  version: '1.0.0',
  register(ctx) {
    ctx.register<Hook>(
      'hook',
      'hello/iterations',
      (params) => {
        const file = params.file ?? 'hello.json';
        if (typeof file !== 'string') throw new DetkitError('CONFIG_INVALID', `hook hello/iterations: 'file' must be a string, got ${JSON.stringify(file)}`);
        return new HelloHook(file);
      },
      { description: 'counts iterations into workDir/hello.json' },
    );
  },
};
export default plugin;
EOF

step "npm install the tarballs, the plugin and typescript@$ts_version (registry for the rest)"
npm install --no-audit --no-fund "$tarballs"/*.tgz ./detkit-plugin-hello "typescript@$ts_version"

step "one copy each of @detkit/core and @tensorflow/tfjs-core (npm ls)"
for pkg in @detkit/core @tensorflow/tfjs-core; do
  copies=$(npm ls --all --parseable "$pkg" | sort -u)
  echo "  $pkg: $copies"
  [ "$(wc -l <<<"$copies")" -eq 1 ] || fail "$pkg is installed more than once"
done

step "write $config (MNIST-detection, a tiny DAB-DETR, 5 iterations, the plugin's hook)"
cat >"$config" <<'EOF'
import { defineConfig } from '@detkit/core/config';
import type {} from '@detkit/detectors'; // the detectors' params join the type check

export default defineConfig({
  plugins: ['detkit-plugin-hello'], // package names resolve from this folder; paths are relative to it
  seed: 0,
  workDir: 'work_dirs/smoke',
  model: {
    type: 'dab-detr',
    numClasses: 10,
    backbone: { type: 'small-cnn', channels: [8, 16] },
    hiddenDim: 16,
    numHeads: 2,
    numEncoderLayers: 1,
    numDecoderLayers: 1,
    dimFeedforward: 32,
    numQueries: 5,
  },
  data: { train: { type: 'mnist-detection', split: 'train', count: 32, canvasSize: 32 }, batchSize: 4 },
  train: { maxIters: 5, logInterval: 1 },
  customHooks: [{ type: 'hello/iterations' }], // added to the default hooks (logger, progress, checkpoint)
});
EOF

step "npx detkit list --config $config (the plugin's hook is listed)"
detkit list --config "$config" | tee "$work/list.txt"
grep -q 'detkit-plugin-hello@1.0.0' "$work/list.txt" || fail 'the plugin is not in the list of loaded plugins'
grep -Eq '^ +hello/iterations +detkit-plugin-hello ' "$work/list.txt" || fail "hook hello/iterations (detkit-plugin-hello) is not listed"

step "npx detkit train $config (5 iterations)"
detkit train "$config" 2>&1 | tee "$work/train.txt"
[ -f work_dirs/smoke/latest.safetensors ] || fail 'no work_dirs/smoke/latest.safetensors after training'
node -e "const r = require('./work_dirs/smoke/hello.json'); if (r.iterations !== 5) { console.error('hello.json:', r); process.exit(1); }" ||
  fail "the plugin's hook did not count 5 iterations (work_dirs/smoke/hello.json)"
if grep -q 'Platform node has already been set' "$work/train.txt"; then fail 'two copies of tfjs were loaded'; fi

step "npx detkit predict --images --json, scored by detkit eval --gt"
detkit data make mnist-detection --out data --split val --count 4
detkit predict "$config" --checkpoint work_dirs/smoke/latest.safetensors --images data/images --json predictions.json
node -e "const r = JSON.parse(require('fs').readFileSync('predictions.json', 'utf8')); if (!Array.isArray(r) || !r.every((d) => [1, 2, 3, 4].includes(d.image_id))) process.exit(1)" ||
  fail 'predictions.json is not a COCO results array for images 1..4'
echo "  predictions.json: $(wc -c <predictions.json) bytes"
detkit eval --gt data/instances.json --results predictions.json --json metrics.json
[ -f metrics.json ] || fail 'detkit eval did not score predictions.json'

step "a config extending $repo/configs/dab-detr/mnist-student.ts loads no second tfjs"
# Loads through the user's core (as every command does first); the clone's config resolves
# @detkit/core/config from the clone's own node_modules.
cat >extends-clone.config.mts <<EOF
import { defineConfig } from '@detkit/core/config';

export default defineConfig({ extends: '$repo/configs/dab-detr/mnist-student.ts', workDir: 'work_dirs/extended' });
EOF
node --input-type=module -e "
const { loadConfig } = await import('@detkit/core');
const { config } = await loadConfig('extends-clone.config.mts');
console.log('  model ' + config.model.type + ', hiddenDim ' + config.model.hiddenDim + ', workDir ' + config.workDir);
" 2>&1 | tee "$work/extends.txt"
grep -q "model dab-detr, hiddenDim 128, workDir $project/work_dirs/extended" "$work/extends.txt" || fail 'the extended config did not merge (or its workDir is not relative to it)'
if grep -q 'Platform node has already been set' "$work/extends.txt"; then fail "the clone's config loaded a second tfjs"; fi

step "@detkit/core/testing in the project: a plugin author's gradient check"
cat >plugin-check.mts <<'EOF'
import { finiteDiff, scaledError } from '@detkit/core/testing';

// d(x^3)/dx at 2 is 12: the float64 reference a plugin's own gradient would be checked against.
const g = finiteDiff((x) => x[0]! ** 3, [2]);
if (!(scaledError(g, [12]) < 1e-6)) throw new Error(`finiteDiff gave ${g[0]}`);
console.log(`  d(x^3)/dx at 2 = ${g[0]!.toFixed(6)}`);
EOF
# Run as written (tsx comes with @detkit/core) and type-checked below by the project's tsc.
node --import tsx plugin-check.mts

step "the project's own tsc $ts_version: strict, nodenext, types: [], no skipLibCheck"
cat >tsconfig.json <<EOF
{
  // types: [] is TypeScript 6+'s default and hides nothing: @detkit/core's own .d.ts must bring
  // the ambient types they and tfjs-core need (Long, Node).
  "compilerOptions": {
    "strict": true,
    "module": "nodenext",
    "moduleResolution": "nodenext",
    "target": "es2022",
    "types": [],
    "noEmit": true
  },
  "include": ["$config", "extends-clone.config.mts", "detkit-plugin-hello/index.ts", "plugin-check.mts"]
}
EOF
npx --no -- tsc --version
npx --no -- tsc -p tsconfig.json

step_name=done
echo "install-test: ok ($((SECONDS - step_started)) s)"
echo
echo "install-test: passed in ${SECONDS} s"
