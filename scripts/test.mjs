#!/usr/bin/env node
// Runs every package's ava suite through lerna (one package at a time: tfjs training tests
// want both cores) and ends with one plain summary line that CI can read: "N passed, N failed"
// (", N skipped" after it when a suite was skipped).
import { spawn } from 'node:child_process';

const args = ['lerna', 'run', 'test', '--concurrency', '1', '--stream', '--no-bail', ...process.argv.slice(2)];
const child = spawn('npx', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });

let passed = 0;
let failed = 0;
let skipped = 0;
let pending = '';
const count = (line) => {
  // ava prints e.g. "  12 tests passed", "  1 test failed", "  1 test skipped", "  2 known failures", "  1 uncaught exception"
  const m = /^\s*(?:@detkit\/[\w-]+:\s*)?[✔✘]?\s*(\d+) (tests?|known failures?|uncaught exceptions?|unhandled rejections?) (passed|failed|skipped)?/.exec(line);
  if (!m) return;
  const n = Number(m[1]);
  if (m[3] === 'passed') passed += n;
  else if (m[3] === 'skipped') skipped += n;
  else if (m[3] === 'failed' || /uncaught|unhandled/.test(m[2])) failed += n;
};
const pipe = (stream, out) =>
  stream.on('data', (buf) => {
    out.write(buf);
    pending += buf.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    lines.forEach(count);
  });
pipe(child.stdout, process.stdout);
pipe(child.stderr, process.stderr);
child.on('close', (code) => {
  if (pending) count(pending);
  const ok = code === 0 && failed === 0;
  // Skipped suites (e.g. webgpu without an adapter) printed their reason where they ran.
  console.log(`\ntests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(ok ? 0 : code || 1);
});
