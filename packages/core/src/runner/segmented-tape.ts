import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '../errors.js';

/*
 * tfjs-core 4.22's engine state used here (tfjs is pinned): `activeTape` is the list the
 * engine appends a node to for every kernel run while `gradientDepth > 0`; `scopeStack` /
 * `activeScope` decide which tidy scope a new tensor is tracked in.
 */
interface TapeNode {
  saved?: tf.Tensor[];
}
interface ScopeInfo {
  id: number;
}
interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number; scopeStack: ScopeInfo[]; activeScope: ScopeInfo | null };
  startScope(name?: string): void;
  endScope(result?: tf.TensorContainer): void;
}

/**
 * One gradient tape recorded in several synchronous segments, switched off between them, so a
 * training step can `await` a device read mid-forward (tfjs's `variableGrads` takes one
 * synchronous function). Between segments the engine is left exactly as with no tape: nothing
 * another task computes during the await is recorded, nor tracked in (and later freed with)
 * the step's tensors. The backward pass is tfjs's own (`tf.variableGrads`, handed the recorded
 * nodes), so gradients are those of one uninterrupted tape.
 *
 * Every tensor made inside a segment belongs to the step's scope and is freed by `close()`
 * unless kept (`tf.keep`) or passed to `close` to keep.
 */
export class SegmentedTape {
  private readonly engine = tf.engine() as unknown as EngineInternals;
  private readonly nodes: TapeNode[] = [];
  private readonly scope: ScopeInfo;
  private closed = false;

  constructor() {
    this.assertIdle('start');
    this.engine.startScope('detkit segmented tape');
    this.scope = this.engine.state.activeScope!;
    this.leaveScope();
  }

  private assertIdle(what: string): void {
    const s = this.engine.state;
    if (s.gradientDepth !== 0 || s.activeTape != null) {
      throw new DetkitError('INVALID_ARGUMENT', `SegmentedTape: cannot ${what} while another gradient tape is recording (a training step inside a tf.variableGrads?)`);
    }
  }

  private leaveScope(): void {
    const s = this.engine.state;
    if (s.activeScope !== this.scope) throw new DetkitError('INVALID_ARGUMENT', 'SegmentedTape: a tidy scope opened in a segment was not closed');
    s.scopeStack.pop();
    s.activeScope = s.scopeStack.length === 0 ? null : s.scopeStack[s.scopeStack.length - 1]!;
  }

  /** Runs `fn` (synchronously) with the tape recording and the step's scope active. */
  record<T>(fn: () => T): T {
    if (this.closed) throw new DetkitError('INVALID_ARGUMENT', 'SegmentedTape: record after close');
    this.assertIdle('record');
    const s = this.engine.state;
    s.scopeStack.push(this.scope);
    s.activeScope = this.scope;
    s.activeTape = this.nodes;
    s.gradientDepth = 1;
    try {
      return fn();
    } finally {
      s.gradientDepth = 0;
      s.activeTape = null;
      this.leaveScope();
    }
  }

  /**
   * Gradients of the scalar `y` (made in a segment) w.r.t. `vars`, as `tf.variableGrads`
   * returns them (variables with no path to `y` left out). Frees the tape's saved tensors;
   * the gradients are the caller's.
   */
  gradients(y: tf.Scalar, vars: tf.Variable[]): Record<string, tf.Tensor> {
    this.assertIdle('compute gradients');
    const nodes = this.nodes;
    try {
      const { value, grads } = tf.variableGrads(() => {
        // variableGrads starts an empty tape; what was recorded comes first, in order.
        const tape = this.engine.state.activeTape!;
        for (const n of nodes) tape.push(n);
        return y;
      }, vars);
      void value; // `y` itself: still owned by the step's scope
      nodes.length = 0; // variableGrads freed their saved tensors
      return grads as Record<string, tf.Tensor>;
    } finally {
      // tfjs leaves its tape installed when a gradient function throws (e.g. a data-parallel
      // collective aborted mid-backward): restore the idle engine the constructor checked.
      const s = this.engine.state;
      s.activeTape = null;
      s.gradientDepth = 0;
    }
  }

  /** Frees every tensor of the step's scope except `keep` (and kept ones), and any saved by the tape. */
  close(keep?: tf.TensorContainer): void {
    if (this.closed) return;
    this.closed = true;
    for (const n of this.nodes) n.saved?.forEach((t) => t.dispose());
    this.nodes.length = 0;
    const s = this.engine.state;
    s.scopeStack.push(this.scope);
    s.activeScope = this.scope;
    this.engine.endScope(keep);
  }
}
