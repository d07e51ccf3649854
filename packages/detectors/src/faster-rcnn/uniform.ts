/** Mulberry32: a seeded uniform [0, 1) stream. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A seeded uniform [0, 1) stream (mulberry32, as core's SeededRng) for anchor and RoI
 * sampling. It advances with every training pass, so a resumed run draws a different
 * (equally distributed) sample than an uninterrupted one would: Faster R-CNN runs are not
 * bit-identical across a resume, unlike the DETRs.
 */
export function uniformStream(seed: number): () => number {
  return mulberry32(seed ^ 0x5bd1e995);
}
