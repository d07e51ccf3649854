/**
 * The fast evaluator against a deliberately naive one written straight from the COCO
 * definitions (plain objects, xyxy IoU, matching redone for every maxDets, interpolated
 * precision as a max over the tail), on a few hundred random small cases.
 */
import test from 'ava';
import { evaluateCoco, COCO_STAT_KEYS, type CocoEvalGroundTruth, type CocoResult, type CocoStats } from '../src/coco-eval/index.js';

interface NGt { image: number; cat: number; box: number[]; area: number; crowd: boolean }
interface NDt { image: number; cat: number; box: number[]; score: number; order: number }

const IOUS = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95];
const AREAS: Record<string, [number, number]> = { all: [0, 1e10], small: [0, 1024], medium: [1024, 9216], large: [9216, 1e10] };

function naiveIou(d: number[], g: number[], crowd: boolean): number {
  const [dx1, dy1, dx2, dy2] = [d[0], d[1], d[0] + d[2], d[1] + d[3]];
  const [gx1, gy1, gx2, gy2] = [g[0], g[1], g[0] + g[2], g[1] + g[3]];
  const iw = Math.min(dx2, gx2) - Math.max(dx1, gx1);
  const ih = Math.min(dy2, gy2) - Math.max(dy1, gy1);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = crowd ? d[2] * d[3] : d[2] * d[3] + g[2] * g[3] - inter;
  return inter / union;
}

const inRange = (area: number, [lo, hi]: [number, number]) => area >= lo && area <= hi;
const byScore = (a: NDt, b: NDt) => b.score - a.score || a.order - b.order;

/** Per image: which of the top-maxDet detections are TP / FP / ignored; plus the count of regular GT. */
function matchImage(gts: NGt[], dts: NDt[], thr: number, range: [number, number], maxDet: number) {
  const regular = gts.filter((g) => !g.crowd && inRange(g.area, range));
  const ignored = gts.filter((g) => g.crowd || !inRange(g.area, range));
  const taken = new Set<NGt>();
  const kept = [...dts].sort(byScore).slice(0, maxDet);
  const outcome = kept.map((d) => {
    // Best available regular GT first; only if none qualifies, the best ignored one.
    const pick = (pool: NGt[]) => {
      let best: NGt | undefined, bestIou = Math.min(thr, 1 - 1e-10);
      for (const g of pool) {
        if (taken.has(g) && !g.crowd) continue;
        const v = naiveIou(d.box, g.box, g.crowd);
        if (v >= bestIou) { best = g; bestIou = v; }
      }
      return best;
    };
    const reg = pick(regular);
    if (reg) { taken.add(reg); return { d, kind: 'tp' as const }; }
    const ign = pick(ignored);
    if (ign) { taken.add(ign); return { d, kind: 'ignore' as const }; }
    return { d, kind: inRange(d.box[2] * d.box[3], range) ? ('fp' as const) : ('ignore' as const) };
  });
  return { outcome, npig: regular.length };
}

function naiveCoco(gt: CocoEvalGroundTruth, results: CocoResult[]): { stats: CocoStats; perCat: number[] } {
  const imgs = [...new Set(gt.images.map((i) => i.id))].sort((a, b) => a - b);
  const cats = [...new Set(gt.categories.map((c) => c.id))].sort((a, b) => a - b);
  const gts: NGt[] = gt.annotations.map((a) => ({ image: a.image_id, cat: a.category_id, box: [...a.bbox], area: a.area ?? a.bbox[2] * a.bbox[3], crowd: !!a.iscrowd }));
  const dts: NDt[] = results.map((r, order) => ({ image: r.image_id, cat: r.category_id, box: [...r.bbox], score: r.score, order }));

  // ap[cat][area][maxDet][thr] and ar likewise; undefined = no regular GT.
  const cell = (cat: number, area: string, maxDet: number, thr: number) => {
    let npig = 0;
    const all: { score: number; imgRank: number; rank: number; kind: string }[] = [];
    imgs.forEach((img, imgRank) => {
      const r = matchImage(gts.filter((g) => g.image === img && g.cat === cat), dts.filter((d) => d.image === img && d.cat === cat), thr, AREAS[area], maxDet);
      npig += r.npig;
      r.outcome.forEach((o, rank) => all.push({ score: o.d.score, imgRank, rank, kind: o.kind }));
    });
    if (npig === 0) return undefined;
    all.sort((a, b) => b.score - a.score || a.imgRank - b.imgRank || a.rank - b.rank);
    const rec: number[] = [], prec: number[] = [];
    let tp = 0, fp = 0;
    for (const e of all) {
      if (e.kind === 'tp') tp++;
      if (e.kind === 'fp') fp++;
      rec.push(tp / npig);
      prec.push(tp + fp === 0 ? 0 : tp / (tp + fp));
    }
    let ap = 0;
    for (let r = 0; r <= 100; r++) {
      const first = rec.findIndex((x) => x >= r / 100);
      ap += first < 0 ? 0 : Math.max(...prec.slice(first));
    }
    return { ap: ap / 101, ar: rec.length ? rec[rec.length - 1] : 0 };
  };
  const mean = (xs: (number | undefined)[]) => {
    const ok = xs.filter((x): x is number => x !== undefined);
    return ok.length ? ok.reduce((s, x) => s + x, 0) / ok.length : -1;
  };
  const stat = (ap: boolean, thrs: number[], area: string, maxDet: number) =>
    mean(cats.flatMap((c) => thrs.map((t) => { const v = cell(c, area, maxDet, t); return v && (ap ? v.ap : v.ar); })));
  const stats: CocoStats = {
    AP: stat(true, IOUS, 'all', 100), AP50: stat(true, [0.5], 'all', 100), AP75: stat(true, [0.75], 'all', 100),
    APs: stat(true, IOUS, 'small', 100), APm: stat(true, IOUS, 'medium', 100), APl: stat(true, IOUS, 'large', 100),
    AR1: stat(false, IOUS, 'all', 1), AR10: stat(false, IOUS, 'all', 10), AR100: stat(false, IOUS, 'all', 100),
    ARs: stat(false, IOUS, 'small', 100), ARm: stat(false, IOUS, 'medium', 100), ARl: stat(false, IOUS, 'large', 100),
  };
  const perCat = cats.map((c) => mean(IOUS.map((t) => cell(c, 'all', 100, t)?.ap)));
  return { stats, perCat };
}

/** Small seeded generator (mulberry32) so a failure names a reproducible case. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T,>(xs: T[]) => xs[Math.floor(next() * xs.length)] };
}

function randomCase(seed: number): { gt: CocoEvalGroundTruth; results: CocoResult[] } {
  const r = rng(seed);
  const nImg = 1 + r.int(5), nCat = 1 + r.int(4);
  const images = Array.from({ length: nImg }, (_, i) => ({ id: 3 * i + 1 + r.int(3) }));
  const cats = Array.from({ length: nCat }, (_, i) => ({ id: 2 * i + 1 }));
  const box = () => {
    const s = r.pick([6, 20, 45, 120]);
    return [r.next() * 150, r.next() * 150, 1 + r.next() * s, 1 + r.next() * s];
  };
  const annotations = [];
  let id = 1;
  for (const im of images) {
    if (r.next() < 0.25) continue; // an image without GT
    for (let n = r.int(5); n > 0; n--) {
      const b = box();
      const area = r.next() < 0.2 ? b[2] * b[3] * (0.3 + 1.4 * r.next()) : b[2] * b[3];
      annotations.push({ id: id++, image_id: im.id, category_id: r.pick(cats).id, bbox: b, area, iscrowd: r.next() < 0.15 ? 1 : 0 });
    }
  }
  const quant = r.pick([0, 0.25, 0.5]); // coarse scores -> many ties
  const score = () => (quant ? Math.round(r.next() / quant) * quant : r.next());
  const results: CocoResult[] = [];
  for (const a of annotations) {
    for (let n = r.pick([0, 1, 1, 2]); n > 0; n--) {
      const j = (v: number) => v + (r.next() - 0.5) * 0.3 * Math.max(a.bbox[2], a.bbox[3]);
      results.push({ image_id: a.image_id, category_id: r.next() < 0.9 ? a.category_id : r.pick(cats).id, bbox: [j(a.bbox[0]), j(a.bbox[1]), Math.max(0.5, j(a.bbox[2])), Math.max(0.5, j(a.bbox[3]))], score: score() });
    }
  }
  for (const im of images) for (let n = r.next() < 0.1 ? 14 : r.int(3); n > 0; n--) results.push({ image_id: im.id, category_id: r.pick(cats).id, bbox: box(), score: score() });
  for (let i = results.length - 1; i > 0; i--) { const k = r.int(i + 1); [results[i], results[k]] = [results[k], results[i]]; }
  return { gt: { images, categories: cats, annotations }, results };
}

test('fast evaluator equals the naive definition on 300 random cases (1e-9)', (t) => {
  let compared = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const { gt, results } = randomCase(seed);
    const fast = evaluateCoco(gt, results);
    const slow = naiveCoco(gt, results);
    for (const k of COCO_STAT_KEYS) {
      if (Math.abs(fast.stats[k] - slow.stats[k]) > 1e-9) return t.fail(`seed ${seed} ${k}: fast ${fast.stats[k]} naive ${slow.stats[k]}`);
    }
    fast.perCategory.forEach((c, i) => {
      if (Math.abs(c.ap - slow.perCat[i]) > 1e-9) t.fail(`seed ${seed} AP of category ${c.categoryId}: fast ${c.ap} naive ${slow.perCat[i]}`);
    });
    compared++;
  }
  t.is(compared, 300);
});

test('the random cases exercise the interesting branches', (t) => {
  // Guard against a generator that silently stopped producing crowds, ties or empty images.
  let crowds = 0, ties = 0, noGtImages = 0, undefinedStats = 0, midStats = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const { gt, results } = randomCase(seed);
    crowds += gt.annotations.filter((a) => a.iscrowd).length;
    ties += results.length - new Set(results.map((r) => r.score)).size;
    noGtImages += gt.images.filter((im) => !gt.annotations.some((a) => a.image_id === im.id)).length;
    const s = evaluateCoco(gt, results).stats;
    undefinedStats += COCO_STAT_KEYS.filter((k) => s[k] === -1).length;
    midStats += COCO_STAT_KEYS.filter((k) => s[k] > 0.05 && s[k] < 0.95).length;
  }
  t.true(crowds > 50 && ties > 200 && noGtImages > 50 && undefinedStats > 100 && midStats > 500, JSON.stringify({ crowds, ties, noGtImages, undefinedStats, midStats }));
});
