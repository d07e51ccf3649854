#!/usr/bin/env bash
# Speed on a GPU (issue #9, item 3): detkit's `bench gpu` (tfjs WebGPU on Dawn) and the PyTorch
# reference (bench/torch_dab_detr.py), student and teacher, batch 8 of 64x64 and 32 of 256x256,
# on a bare GPU host (no Node, no network; NVIDIA driver + Vulkan ICD, python3 with torch).
# Recipe: ../shared/docs/webgpu.md, "Running on a bare GPU host".
#
#   bash bench/gpu-host.sh prepare   # here: fills .gpu/ and .gl/ (git-ignored, ~35 MB)
#   bash bench/gpu-host.sh run       # there: writes $OUT (default .gpu/out): detkit.json/.log,
#                                    #   torch-student.json, torch-teacher.json, torch.log,
#                                    #   summary.txt, nvidia-smi.txt
#   bash bench/gpu-host.sh probe     # there: one student step under variants (probe-*.json/.log,
#                                    #   probe-summary.txt) and a CPU profile (prof/)
#   bash bench/gpu-host.sh parity    # there: one training step of each model on webgpu against the
#                                    #   cpu backend (bench/gpu-parity.ts): parity.log
#   bash bench/gpu-host.sh all       # run, then probe
# With the session's device tool:   run(command="bash bench/gpu-host.sh run", carry=[".gpu", ".gl"])
# Env for `run`: BENCH_ITERS (default 10), VK_DRIVER_FILES (default: NVIDIA's ICD), TORCH_ITERS (20),
# DETKIT_TIMEOUT (seconds for the detkit bench, default 420), BENCH_GPU_MODELS (dab | all).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

prepare() {
  local exclude
  exclude=$(git rev-parse --git-path info/exclude)
  mkdir -p "$(dirname "$exclude")"
  for d in /.gpu/ /.gl/; do grep -qxF "$d" "$exclude" 2>/dev/null || echo "$d" >> "$exclude"; done
  rm -rf .gpu .gl
  mkdir -p .gpu/node_modules/webgpu/dist/linux-x64 .gl
  echo "node $(node --version) -> .gpu/node.xz"
  # Stripped of its symbols first where `strip` exists (99 -> 86 MB; xz 24.2 -> 22.1 MB): the
  # working tree that travels is capped at 64 MiB, and the repo's tracked files take ~36 of it.
  local node_bin
  node_bin=$(readlink -f "$(command -v node)")
  if command -v strip >/dev/null && strip -o /tmp/gpu-host-node "$node_bin" 2>/dev/null; then node_bin=/tmp/gpu-host-node; fi
  xz -T2 -6 -c "$node_bin" > .gpu/node.xz
  # Dawn: the npm 'webgpu' package reduced to what loads on linux-x64.
  cp node_modules/webgpu/index.js node_modules/webgpu/package.json .gpu/node_modules/webgpu/
  xz -T2 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node > .gpu/node_modules/webgpu/dist/linux-x64/dawn.node.xz
  # detkit + tfjs (+ tfjs-backend-webgpu) in one file; --ignore-annotations keeps tfjs's kernel
  # registrations (its sideEffects lists would drop them).
  local entry
  for entry in gpu gpu-parity; do
    npx esbuild "bench/$entry.ts" --bundle --platform=node --format=esm --conditions=source --external:webgpu \
      --ignore-annotations --log-level=warning --outfile=".gpu/bench-$entry.mjs" \
      --banner:js="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);"
    # Native modules do not travel: the bench must not reach the dataset code (sharp).
    if grep -q 'sharp' ".gpu/bench-$entry.mjs"; then echo "bench-$entry.mjs bundles sharp (a native module the host lacks)" >&2; exit 1; fi
    xz -T2 -6 ".gpu/bench-$entry.mjs" # 8 MB -> 1 MB: the working tree that travels is capped at 64 MiB
  done
  cp bench/torch_dab_detr.py .gpu/
  # The Vulkan loader and glvnd, as .debs for amd64 (the host has the NVIDIA driver but neither).
  mkdir -p /tmp/gpu-host-apt/partial
  local o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/gpu-host-apt)
  apt-get "${o[@]}" update -qq
  # NVIDIA's Vulkan ICD is libGLX_nvidia.so.0, which needs glvnd's libraries to create an instance.
  (cd .gl && apt-get "${o[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null)
  du -sh .gpu .gl
}

# $OUT (default .gpu/out) made and printed as an absolute path.
out_dir() {
  local out=${OUT:-$ROOT/.gpu/out}
  mkdir -p "$out" && (cd "$out" && pwd)
}

# On the host: the Vulkan loader and glvnd installed, node, Dawn and the bundle unpacked; cwd .gpu.
host_setup() {
  cd "$ROOT"
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json} XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
  export __EGL_VENDOR_LIBRARY_FILENAMES=${__EGL_VENDOR_LIBRARY_FILENAMES:-/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json}
  cd .gpu
  [ -x node ] || { xz -dc node.xz > node && chmod +x node; }
  local dawn=node_modules/webgpu/dist/linux-x64/dawn.node
  [ -f "$dawn" ] || xz -dc "$dawn.xz" > "$dawn"
  [ -f bench-gpu.mjs ] || xz -dc bench-gpu.mjs.xz > bench-gpu.mjs
  [ -f bench-gpu-parity.mjs ] || xz -dc bench-gpu-parity.mjs.xz > bench-gpu-parity.mjs
}

# webgpu against the cpu backend at full model size (bench/gpu-parity.ts): parity.log.
parity() {
  local out
  out=$(out_dir)
  host_setup
  timeout "${PARITY_TIMEOUT:-420}" ./node bench-gpu-parity.mjs > "$out/parity.log" 2>&1 || echo "bench-gpu-parity.mjs exited $?"
  grep -v '^Warning: \|^$' "$out/parity.log" | grep -v '^    at \|^ *- ' || true
}

run() {
  local out
  out=$(out_dir)
  host_setup
  (nvidia-smi || true) > "$out/nvidia-smi.txt" 2>&1
  # PyTorch first: it is quick, and its figures survive a detkit run cut short by DETKIT_TIMEOUT.
  echo "== PyTorch"
  python3 torch_dab_detr.py --iters "${TORCH_ITERS:-20}" --json "$out/torch-student.json" 2>&1 | tee "$out/torch.log" || true
  python3 torch_dab_detr.py --teacher --iters "${TORCH_ITERS:-20}" --json "$out/torch-teacher.json" 2>&1 | tee -a "$out/torch.log" || true
  echo "== detkit (tfjs WebGPU on Dawn)"
  # The whole output goes to detkit.log; the console skips Dawn's indented warnings.
  BENCH_GPU_JSON="$out/detkit.json" BENCH_ITERS=${BENCH_ITERS:-10} timeout "${DETKIT_TIMEOUT:-420}" ./node bench-gpu.mjs > "$out/detkit.log" 2>&1 || echo "bench-gpu.mjs exited $?"
  grep -v '^Warning: \|^$' "$out/detkit.log" | grep -v '^    at \|^ *- ' || true
  ./node -e '
    const fs = require("fs"); const dir = process.argv[1]; const read = (f) => { try { return JSON.parse(fs.readFileSync(`${dir}/${f}`, "utf8")); } catch { return undefined; } };
    const d = read("detkit.json"); const t = [read("torch-student.json"), read("torch-teacher.json")].filter(Boolean).flatMap((x) => x.rows);
    const lines = [`detkit: ${d ? d.where : "no figures"}`, "model              batch        detkit ms/it  torch ms/it  ratio  detkit ms/img  torch ms/img  dispatches  host reads"];
    for (const r of d ? d.rows : []) {
      const p = t.find((x) => x.model === r.model && x.batch === r.batch && x.size === r.size);
      const ratio = p ? (r.msPerIter / p.msPerIter).toFixed(1) + "x" : "-";
      lines.push([r.model.padEnd(18), `${r.batch}x${r.size}x${r.size}`.padEnd(12), r.msPerIter.toFixed(1).padStart(12), (p ? p.msPerIter.toFixed(1) : "-").padStart(12), ratio.padStart(6), r.msPerImage.toFixed(2).padStart(14), (p ? p.msPerImage.toFixed(2) : "-").padStart(13), String(r.perStep.dispatches).padStart(11), String(r.perStep.reads).padStart(11)].join(" "));
    }
    fs.writeFileSync(`${dir}/summary.txt`, lines.join("\n") + "\n"); console.log(lines.join("\n"));
  ' "$out"
}

# What one student step (batch 8 of 64x64) costs under variants, each in a fresh process: the
# host patches off (DETKIT_WEBGPU_HOST) or one at a time, other submit batches, the fused kernel
# groups left out, Dawn's validation and robustness off, a larger V8 young generation (fewer
# scavenges), a CPU profile of the host side (prof/*.cpuprofile), and (kernel-ms) the GPU time of
# every program of one step at both sizes, by tfjs kernel, from timestamp queries (its log). The first runs of a call
# varied by ~20% from process to process on one H200, so the main variants run twice.
# PROBE_ONLY=base,cpu-profile runs the named variants only; PROBE_MODELS=student,teacher;
# PROBE_CASES=all times batch 32 of 256x256 too (default small: batch 8 of 64x64).
probe() {
  local out
  out=$(out_dir)
  host_setup
  local unchecked="DETKIT_DAWN_FLAGS=enable-dawn-features=skip_validation,disable_robustness"
  local variants=(
    "base||"
    "host-off|DETKIT_WEBGPU_HOST=0|"
    "no-adam-in-place|DETKIT_WEBGPU_FUSED=-adam-in-place|"
    "base-again||"
    "host-off-again|DETKIT_WEBGPU_HOST=0|"
    "no-adam-in-place-again|DETKIT_WEBGPU_FUSED=-adam-in-place|"
    "submit-15|DETKIT_WEBGPU_HOST=upload,layouts|"
    "submit-256|DETKIT_WEBGPU_SUBMIT_BATCH=256|"
    "no-upload|DETKIT_WEBGPU_HOST=layouts,submit|"
    "no-layernorm|DETKIT_WEBGPU_FUSED=-layernorm|"
    "no-batchnorm|DETKIT_WEBGPU_FUSED=-batchnorm|"
    "no-losses|DETKIT_WEBGPU_FUSED=-focal,-giou|"
    "no-conv-filter|DETKIT_WEBGPU_FUSED=-conv-filter|"
    "no-fused|DETKIT_WEBGPU_FUSED=0|"
    "dawn-unchecked|$unchecked|"
    "semi-space-64||--max-semi-space-size=64"
    "cpu-profile||--cpu-prof --cpu-prof-dir=$out/prof"
    "kernel-ms|BENCH_GPU_KERNEL_MS=1 BENCH_GPU_CASES=all DETKIT_DAWN_FLAGS=enable-dawn-features=allow_unsafe_apis|"
  )
  local v name envs flags
  for v in "${variants[@]}"; do
    IFS='|' read -r name envs flags <<< "$v"
    [[ -z "${PROBE_ONLY:-}" || ",$PROBE_ONLY," == *",$name,"* ]] || continue
    echo "== probe $name"
    # shellcheck disable=SC2086 # envs and flags are word lists
    env BENCH_GPU_MODELS=dab BENCH_GPU_CASES=${PROBE_CASES:-small} BENCH_GPU_ONLY=${PROBE_MODELS:-student} BENCH_ITERS=${BENCH_ITERS:-5} \
      BENCH_GPU_JSON="$out/probe-$name.json" $envs timeout "${PROBE_TIMEOUT:-120}" ./node $flags bench-gpu.mjs > "$out/probe-$name.log" 2>&1 || echo "probe $name exited $?"
  done
  ./node -e '
    const fs = require("fs"); const dir = process.argv[1];
    for (const f of fs.readdirSync(dir).filter((f) => /^probe-.*\.json$/.test(f)).sort()) {
      const d = JSON.parse(fs.readFileSync(`${dir}/${f}`, "utf8"));
      for (const r of d.rows) console.log(`${f.slice(6, -5).padEnd(16)} ${r.model.padEnd(8)} ${r.msPerIter.toFixed(1).padStart(8)} ms/it ${String(r.perStep.dispatches).padStart(6)} dispatches ${String(r.perStep.kernels).padStart(6)} kernels`);
    }
  ' "$out" | tee "$out/probe-summary.txt"
}

case "${1:-}" in
  prepare) prepare ;;
  run) run ;;
  probe) probe ;;
  parity) parity ;;
  all) run; probe ;;
  *) echo "usage: bash bench/gpu-host.sh prepare|run|probe|parity|all" >&2; exit 64 ;;
esac
