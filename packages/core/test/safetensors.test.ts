import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeSafetensors, encodeSafetensors, readSafetensors, writeSafetensors } from '../src/checkpoint/safetensors.js';
import { isDetkitError } from '../src/errors.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

async function tmpDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'detkit-st-'));
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Builds a file by hand following the spec, independently of encodeSafetensors. */
function handBuilt(header: object, data: number[], pad = true): Buffer {
  let json = JSON.stringify(header);
  if (pad) while ((8 + json.length) % 8 !== 0) json += ' ';
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, Buffer.from(json), Buffer.from(data)]);
}

function expectCorrupt(t: any, buf: Uint8Array, problem: RegExp): void {
  const before = tf.memory().numTensors;
  const err = t.throws(() => decodeSafetensors(buf, 'bad.safetensors'));
  t.true(isDetkitError(err, 'CHECKPOINT_CORRUPT'), String(err));
  t.regex(err.message, /bad\.safetensors/);
  t.regex(err.message, problem);
  t.is(tf.memory().numTensors, before, 'no tensor created for a corrupt file');
}

test('file round trip: dtypes, scalars, empty tensors, metadata; header padded to 8', async (t) => {
  const dir = await tmpDir(t);
  const file = path.join(dir, 'w.safetensors');
  const src = new Map<string, tf.Tensor>([
    ['a.weight', tf.tensor([[1.5, -2], [3.25, 1e-8], [Infinity, -0]], [3, 2])],
    ['ids', tf.tensor([7, -3, 2147483647], [3], 'int32')],
    ['mask', tf.tensor([true, false, true, true], [2, 2], 'bool')],
    ['scalar', tf.scalar(42.5)],
    ['empty', tf.zeros([0, 3])],
    ['step', tf.scalar(9, 'int32')],
  ]);
  await writeSafetensors(file, src, { format: 'test', note: 'ünïcode' });
  const raw = await fs.readFile(file);
  t.is(Number(raw.readBigUInt64LE(0)) % 8, 0);
  const { tensors, metadata } = await readSafetensors(file);
  t.deepEqual(metadata, { format: 'test', note: 'ünïcode' });
  t.deepEqual([...tensors.keys()], [...src.keys()]);
  for (const [k, v] of src) {
    const r = tensors.get(k)!;
    t.is(r.dtype, v.dtype, k);
    t.deepEqual(r.shape, v.shape, k);
    t.deepEqual([...r.dataSync()], [...v.dataSync()], k);
  }
  t.deepEqual((await fs.readdir(dir)).sort(), ['w.safetensors'], 'no temp file left');
  tf.dispose([...src.values(), ...tensors.values()]);
});

test('decodes a hand-built buffer that follows the spec (F32, I64, F16, U8, BF16, F64)', async (t) => {
  const f32 = Buffer.alloc(8);
  f32.writeFloatLE(1.5, 0);
  f32.writeFloatLE(-2, 4);
  const i64 = Buffer.alloc(16);
  i64.writeBigInt64LE(-5n, 0);
  i64.writeBigInt64LE(123456n, 8);
  const f16 = Buffer.from([0x00, 0x3c, 0x00, 0xc0]); // 1.0, -2.0
  const u8 = Buffer.from([0, 255]);
  const bf16 = Buffer.from([0xc0, 0x3f]); // 1.5
  const f64 = Buffer.alloc(8);
  f64.writeDoubleLE(0.25);
  const header = {
    __metadata__: { framework: 'pt' },
    w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    n: { dtype: 'I64', shape: [2], data_offsets: [8, 24] },
    h: { dtype: 'F16', shape: [1, 2], data_offsets: [24, 28] },
    u: { dtype: 'U8', shape: [2], data_offsets: [28, 30] },
    b: { dtype: 'BF16', shape: [], data_offsets: [30, 32] },
    d: { dtype: 'F64', shape: [1], data_offsets: [32, 40] },
  };
  const buf = handBuilt(header, [...f32, ...i64, ...f16, ...u8, ...bf16, ...f64]);
  const { tensors, metadata } = decodeSafetensors(buf);
  t.deepEqual(metadata, { framework: 'pt' });
  t.deepEqual([...tensors.get('w')!.dataSync()], [1.5, -2]);
  t.is(tensors.get('n')!.dtype, 'int32');
  t.deepEqual([...tensors.get('n')!.dataSync()], [-5, 123456]);
  t.deepEqual([...tensors.get('h')!.dataSync()], [1, -2]);
  t.deepEqual(tensors.get('h')!.shape, [1, 2]);
  t.deepEqual([...tensors.get('u')!.dataSync()], [0, 255]);
  t.deepEqual([...tensors.get('b')!.dataSync()], [1.5]);
  t.deepEqual(tensors.get('b')!.shape, []);
  t.deepEqual([...tensors.get('d')!.dataSync()], [0.25]);
  tf.dispose([...tensors.values()]);

  // And our encoder produces exactly the spec's layout for a simple case.
  const ours = await encodeSafetensors(new Map([['w', tf.tensor1d([1.5, -2])]]));
  t.deepEqual(ours, new Uint8Array(handBuilt({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, [...f32])));
});

test('rejects corrupt files with CHECKPOINT_CORRUPT naming the file and problem', (t) => {
  const good = handBuilt({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, Array(8).fill(0));
  expectCorrupt(t, good.subarray(0, 5), /too short/);
  expectCorrupt(t, good.subarray(0, good.length - 1), /cover only|out of range/);
  expectCorrupt(t, good.subarray(0, 20), /header length/);
  const badJson = Buffer.from(good);
  badJson[9] = 0x7b; // '{' -> '{{'
  expectCorrupt(t, badJson, /JSON/);
  expectCorrupt(t, handBuilt([1, 2], []), /not a JSON object/);
  expectCorrupt(t, handBuilt({ a: { dtype: 'Q7', shape: [2], data_offsets: [0, 8] } }, Array(8).fill(0)), /unknown dtype "Q7"/);
  expectCorrupt(t, handBuilt({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, Array(8).fill(0)), /expected 12/);
  expectCorrupt(t, handBuilt({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, Array(12).fill(0)), /cover only 8/);
  expectCorrupt(t, handBuilt({ a: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, Array(8).fill(0)), /out of range/);
  expectCorrupt(
    t,
    handBuilt({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, Array(8).fill(0)),
    /overlap/,
  );
  expectCorrupt(
    t,
    handBuilt({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, Array(12).fill(0)),
    /gap/,
  );
  expectCorrupt(t, handBuilt({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }, []), /shape/);
  expectCorrupt(t, handBuilt({ __metadata__: { k: 1 } }, []), /metadata 'k'/);
  const big = Buffer.alloc(8);
  big.writeBigInt64LE(1n << 40n);
  // Second tensor is valid: conversion failures must not leave the first one created.
  expectCorrupt(
    t,
    handBuilt({ ok: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, n: { dtype: 'I64', shape: [1], data_offsets: [4, 12] } }, [0, 0, 0, 0, ...big]),
    /does not fit in int32/,
  );
});

test('a failed write leaves no temp file and keeps the previous file intact', async (t) => {
  const dir = await tmpDir(t);
  const file = path.join(dir, 'ckpt.safetensors');
  const a = new Map([['x', tf.tensor1d([1, 2, 3])]]);
  await writeSafetensors(file, a);
  const before = await fs.readFile(file);
  // Renaming a file over a non-empty directory fails after the temp file is fully written.
  const blocked = path.join(dir, 'blocked');
  await fs.mkdir(blocked);
  await fs.writeFile(path.join(blocked, 'keep'), 'x');
  const err = await t.throwsAsync(writeSafetensors(blocked, a));
  t.true(isDetkitError(err, 'IO'));
  t.deepEqual((await fs.readdir(dir)).sort(), ['blocked', 'ckpt.safetensors']);
  // Unsupported dtype fails before anything touches the disk.
  await t.throwsAsync(writeSafetensors(file, new Map([['c', tf.complex([1], [2])]])), { message: /unsupported dtype complex64/ });
  t.deepEqual(await fs.readFile(file), before);
  t.deepEqual((await fs.readdir(dir)).sort(), ['blocked', 'ckpt.safetensors']);
  const missing = await t.throwsAsync(readSafetensors(path.join(dir, 'nope.safetensors')));
  t.true(isDetkitError(missing, 'IO'));
  t.regex(missing!.message, /nope\.safetensors/);
  tf.dispose([...a.values()]);
});
