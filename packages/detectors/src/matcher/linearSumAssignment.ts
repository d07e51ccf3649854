import { DetkitError } from '@detkit/core';

/** A minimum-cost assignment: `rowIdx[k]` is matched to `colIdx[k]`, sorted by row. */
export interface Assignment {
  rowIdx: Int32Array;
  colIdx: Int32Array;
  /** Sum of the matched costs. */
  cost: number;
}

/**
 * Exact rectangular linear sum assignment (shortest augmenting path, Jonker-Volgenant style,
 * as in Crouse 2016 / scipy's `linear_sum_assignment`), O(r^2 c) for r = min(n, m).
 *
 * `cost` is an `n x m` row-major matrix. Exactly `min(n, m)` pairs are returned, minimising
 * their total cost. `+Infinity` marks a forbidden pair; NaN or -Infinity is rejected, and so is
 * a matrix where no full assignment avoids forbidden pairs.
 */
export function linearSumAssignment(cost: ArrayLike<number>, n: number, m: number): Assignment {
  if (!Number.isInteger(n) || !Number.isInteger(m) || n < 0 || m < 0 || cost.length !== n * m) {
    throw new DetkitError('INVALID_ARGUMENT', `linearSumAssignment: cost has ${cost.length} entries, expected n*m = ${n}*${m}`);
  }
  for (let k = 0; k < cost.length; k++) {
    const c = cost[k];
    if (Number.isNaN(c) || c === -Infinity) {
      throw new DetkitError(
        'INVALID_ARGUMENT',
        `linearSumAssignment: cost[${Math.floor(k / Math.max(m, 1))}][${k % Math.max(m, 1)}] is ${c}; costs must be finite or +Infinity`,
      );
    }
  }
  if (n === 0 || m === 0) return { rowIdx: new Int32Array(0), colIdx: new Int32Array(0), cost: 0 };

  // The solver wants rows <= columns: solve the transpose and swap back otherwise.
  const transposed = n > m;
  const nr = transposed ? m : n;
  const nc = transposed ? n : m;
  const c = new Float64Array(nr * nc);
  if (transposed) {
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) c[j * n + i] = cost[i * m + j];
  } else {
    for (let k = 0; k < c.length; k++) c[k] = cost[k];
  }
  const col4row = solve(c, nr, nc);

  const rowIdx = new Int32Array(nr);
  const colIdx = new Int32Array(nr);
  let total = 0;
  if (!transposed) {
    for (let i = 0; i < nr; i++) {
      rowIdx[i] = i;
      colIdx[i] = col4row[i];
      total += c[i * nc + col4row[i]];
    }
  } else {
    // Rows of the original are the solver's columns: list them in increasing order.
    const pairs: Array<[number, number]> = [];
    for (let j = 0; j < nr; j++) pairs.push([col4row[j], j]);
    pairs.sort((p, q) => p[0] - q[0]);
    pairs.forEach(([r, col], k) => {
      rowIdx[k] = r;
      colIdx[k] = col;
      total += c[col * nc + r];
    });
  }
  return { rowIdx, colIdx, cost: total };
}

/** Core solver for nr <= nc: returns the column assigned to each row. */
function solve(cost: Float64Array, nr: number, nc: number): Int32Array {
  const u = new Float64Array(nr); // row potentials
  const v = new Float64Array(nc); // column potentials
  const shortest = new Float64Array(nc);
  const path = new Int32Array(nc).fill(-1);
  const col4row = new Int32Array(nr).fill(-1);
  const row4col = new Int32Array(nc).fill(-1);
  const visitedRow = new Uint8Array(nr);
  const visitedCol = new Uint8Array(nc);
  const remaining = new Int32Array(nc);

  for (let curRow = 0; curRow < nr; curRow++) {
    // Dijkstra on reduced costs from curRow until an unassigned column is reached.
    let minVal = 0;
    let numRemaining = nc;
    for (let it = 0; it < nc; it++) remaining[it] = nc - it - 1;
    visitedRow.fill(0);
    visitedCol.fill(0);
    shortest.fill(Infinity);
    let sink = -1;
    let i = curRow;
    while (sink === -1) {
      visitedRow[i] = 1;
      let index = -1;
      let lowest = Infinity;
      const base = i * nc;
      const ui = u[i];
      for (let it = 0; it < numRemaining; it++) {
        const j = remaining[it];
        const r = minVal + cost[base + j] - ui - v[j];
        if (r < shortest[j]) {
          path[j] = i;
          shortest[j] = r;
        }
        // Prefer a free column on ties: it ends the search sooner.
        if (shortest[j] < lowest || (shortest[j] === lowest && row4col[j] === -1)) {
          lowest = shortest[j];
          index = it;
        }
      }
      minVal = lowest;
      if (minVal === Infinity) {
        throw new DetkitError('INVALID_ARGUMENT', `linearSumAssignment: infeasible cost matrix (row ${curRow} cannot be assigned without a +Infinity entry)`);
      }
      const j = remaining[index];
      if (row4col[j] === -1) sink = j;
      else i = row4col[j];
      visitedCol[j] = 1;
      remaining[index] = remaining[--numRemaining];
    }

    // Update potentials so reduced costs stay non-negative.
    u[curRow] += minVal;
    for (let r = 0; r < nr; r++) {
      if (visitedRow[r] && r !== curRow) u[r] += minVal - shortest[col4row[r]];
    }
    for (let j = 0; j < nc; j++) {
      if (visitedCol[j]) v[j] -= minVal - shortest[j];
    }

    // Augment along the path back to curRow.
    let j = sink;
    for (;;) {
      const r = path[j];
      row4col[j] = r;
      const prev = col4row[r];
      col4row[r] = j;
      j = prev;
      if (r === curRow) break;
    }
  }
  return col4row;
}
