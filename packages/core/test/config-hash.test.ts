/**
 * hashConfig: stable over key order and over what plainJson drops, different for any value
 * change, and pinned, since checkpoints already on disk store it.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { hashConfig } from '../src/runner/config-hash.js';
import { plainJson } from '../src/runner/plain-json.js';

test('plainJson: RegExps as their source, functions and undefined members dropped, arrays kept in place', (t) => {
  t.deepEqual(plainJson({ a: /x+/g, f: () => 1, u: undefined, n: null, l: [1, undefined, { k: 2, f: () => 3 }] }), {
    a: '/x+/g', n: null, l: [1, undefined, { k: 2 }],
  });
});

test('hashConfig ignores key order and dropped members, and sees every value', (t) => {
  const a = { train: { lr: 1e-4, optimizer: { type: 'adamw', betas: [0.9, 0.999] } }, model: { type: 'dab-detr' } };
  const b = { model: { type: 'dab-detr', hook: () => 0 }, train: { optimizer: { betas: [0.9, 0.999], type: 'adamw' }, lr: 1e-4, x: undefined } };
  t.is(hashConfig(a), hashConfig(b));
  t.not(hashConfig(a), hashConfig({ ...a, train: { ...a.train, lr: 2e-4 } }));
  t.not(hashConfig({ l: [1, 2] }), hashConfig({ l: [2, 1] }));
  t.regex(hashConfig(a), /^[0-9a-f]{16}$/);
});

test('hashConfig is the sha256 of the key-sorted JSON (pinned: checkpoints store it)', (t) => {
  const sha = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);
  t.is(hashConfig({ b: [1, /r/], a: { d: 'x', c: null } }), sha('{"a":{"c":null,"d":"x"},"b":[1,"/r/"]}'));
  t.is(hashConfig({ b: 1, a: [1, undefined, () => 1, /x+/g, { z: null, y: undefined }], c: { f: () => 2, d: 'x', e: [true] } }), 'b5bbb7390458adb0');
});
