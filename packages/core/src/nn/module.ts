import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '../errors.js';

/** What `loadStateDict` did, so callers can report which tensors loaded. */
export interface LoadReport {
  loaded: string[];
  missing: string[];
  unexpected: string[];
}

export interface LoadOptions {
  /** Fail on missing or unexpected names (shape mismatches always fail). Default true. */
  strict?: boolean;
  /** Where the tensors came from, for error messages. */
  source?: string;
}

/**
 * A tree of named parameters and buffers, in the spirit of torch.nn.Module but without
 * autograd magic: forward code is plain tfjs ops over `this.someParam` variables, run inside
 * `tf.tidy` / `tf.variableGrads` by the caller.
 *
 * Names are dotted paths (`decoder.layers.0.self_attn.in_proj_weight`) so they can mirror a
 * PyTorch reference module and weights can move between the two through safetensors.
 */
export class Module {
  private readonly params = new Map<string, tf.Variable>();
  private readonly buffers = new Map<string, tf.Variable>();
  private readonly children = new Map<string, Module>();
  private frozen = false;
  training = true;

  /** Registers a trainable parameter. Takes ownership of `init`. */
  protected param<R extends tf.Rank>(name: string, init: tf.Tensor<R>): tf.Variable<R> {
    this.assertFreeName(name);
    const v = tf.variable(init, true, undefined, 'float32') as tf.Variable<R>;
    init.dispose();
    this.params.set(name, v);
    return v;
  }

  /** Registers a non-trainable state tensor (e.g. batch-norm running statistics). */
  protected buffer<R extends tf.Rank>(name: string, init: tf.Tensor<R>): tf.Variable<R> {
    this.assertFreeName(name);
    const v = tf.variable(init, false) as tf.Variable<R>;
    init.dispose();
    this.buffers.set(name, v);
    return v;
  }

  /** Registers a child module under `name` and returns it. */
  protected module<M extends Module>(name: string, child: M): M {
    this.assertFreeName(name);
    this.children.set(name, child);
    return child;
  }

  /** Registers a list of children as `name.0`, `name.1`, ... (like nn.ModuleList). */
  protected moduleList<M extends Module>(name: string, list: M[]): M[] {
    const holder = this.module(name, new Module());
    list.forEach((m, i) => holder.children.set(String(i), m));
    return list;
  }

  private assertFreeName(name: string): void {
    if (name.includes('.') || name === '') {
      throw new DetkitError('INVALID_ARGUMENT', `Module name '${name}' must be non-empty and contain no '.'`);
    }
    if (this.params.has(name) || this.buffers.has(name) || this.children.has(name)) {
      throw new DetkitError('INVALID_ARGUMENT', `Module already has a member named '${name}'`);
    }
  }

  /** All parameters with their dotted names, depth-first in registration order. */
  namedParameters(prefix = ''): Array<[string, tf.Variable]> {
    const out: Array<[string, tf.Variable]> = [];
    for (const [n, v] of this.params) out.push([prefix + n, v]);
    for (const [n, c] of this.children) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }

  namedBuffers(prefix = ''): Array<[string, tf.Variable]> {
    const out: Array<[string, tf.Variable]> = [];
    for (const [n, v] of this.buffers) out.push([prefix + n, v]);
    for (const [n, c] of this.children) out.push(...c.namedBuffers(`${prefix}${n}.`));
    return out;
  }

  namedModules(prefix = ''): Array<[string, Module]> {
    const out: Array<[string, Module]> = [[prefix.replace(/\.$/, ''), this]];
    for (const [n, c] of this.children) out.push(...c.namedModules(`${prefix}${n}.`));
    return out;
  }

  /** Parameters an optimizer should update: not frozen, in a stable order. */
  trainableParameters(): Array<[string, tf.Variable]> {
    const out: Array<[string, tf.Variable]> = [];
    if (!this.frozen) for (const [n, v] of this.params) out.push([n, v]);
    for (const [n, c] of this.children) {
      for (const [cn, v] of c.trainableParameters()) out.push([`${n}.${cn}`, v]);
    }
    return out;
  }

  /** Stops this module and its children from being trained (they still run forward). */
  freeze(): this {
    for (const [, m] of this.namedModules()) m.frozen = true;
    return this;
  }

  unfreeze(): this {
    for (const [, m] of this.namedModules()) m.frozen = false;
    return this;
  }

  get isFrozen(): boolean {
    return this.frozen;
  }

  /** Training mode switches dropout and batch-norm statistics; recursive. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Parameters and buffers by name. The tensors are the live variables: do not dispose. */
  stateDict(): Map<string, tf.Tensor> {
    const sd = new Map<string, tf.Tensor>();
    for (const [n, v] of this.namedParameters()) sd.set(n, v);
    for (const [n, v] of this.namedBuffers()) sd.set(n, v);
    return sd;
  }

  /**
   * Copies tensors into this module's variables. Shapes and dtypes must match exactly; nothing
   * is assigned unless every check passes, so a failed load never leaves a half-loaded model.
   */
  loadStateDict(sd: Map<string, tf.Tensor>, opts: LoadOptions = {}): LoadReport {
    const strict = opts.strict ?? true;
    const where = opts.source ? ` from ${opts.source}` : '';
    const own = this.stateDict();
    const missing = [...own.keys()].filter((k) => !sd.has(k));
    const unexpected = [...sd.keys()].filter((k) => !own.has(k));
    const badShapes: string[] = [];
    const badDtypes: string[] = [];
    for (const [k, v] of own) {
      const src = sd.get(k);
      if (src && !tf.util.arraysEqual(src.shape, v.shape)) {
        badShapes.push(`${k}: expected [${v.shape}] got [${src.shape}]`);
      }
      // Integer data for a float parameter (or the reverse) is a corrupt or foreign file, not a cast.
      if (src && src.dtype !== v.dtype) badDtypes.push(`${k}: expected ${v.dtype} got ${src.dtype}`);
    }
    if (badShapes.length > 0 || badDtypes.length > 0 || (strict && (missing.length > 0 || unexpected.length > 0))) {
      const parts: string[] = [];
      if (badShapes.length) parts.push(`wrong shapes: ${badShapes.slice(0, 10).join('; ')}`);
      if (badDtypes.length) parts.push(`wrong dtypes: ${badDtypes.slice(0, 10).join('; ')}`);
      if (strict && missing.length) parts.push(`missing: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', ...' : ''}`);
      if (strict && unexpected.length) parts.push(`unexpected: ${unexpected.slice(0, 10).join(', ')}${unexpected.length > 10 ? ', ...' : ''}`);
      throw new DetkitError('STATE_DICT_MISMATCH', `Cannot load state dict${where}: ${parts.join(' | ')}`, {
        missing,
        unexpected,
        badShapes,
        badDtypes,
      });
    }
    const loaded: string[] = [];
    for (const [k, v] of own) {
      const src = sd.get(k);
      if (!src) continue;
      (v as tf.Variable).assign(src);
      loaded.push(k);
    }
    return { loaded, missing, unexpected };
  }

  /** Number of scalar parameters (trainable or not). */
  numParameters(): number {
    return this.namedParameters().reduce((s, [, v]) => s + v.size, 0);
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    for (const v of this.buffers.values()) v.dispose();
    for (const c of this.children.values()) c.dispose();
    this.params.clear();
    this.buffers.clear();
    this.children.clear();
  }
}
