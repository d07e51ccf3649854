import { meanStd } from './report.js';

/** Final AP (fraction) of one variant, by seed. */
export type ApBySeed = ReadonlyMap<number, number>;

/** `better` minus `worse` over the seeds both finished: runs with one seed share data order and init. */
export interface PairedGain {
  /** Mean per-seed difference (fraction; 0.03 = +3.0 AP). */
  mean: number;
  /** Sample std of the per-seed differences. */
  std: number;
  /** Seeds compared. */
  n: number;
  /** The per-seed differences, in seed order. */
  diffs: number[];
}

export function pairedGain(better: ApBySeed, worse: ApBySeed): PairedGain {
  const seeds = [...better.keys()].filter((seed) => worse.has(seed)).sort((x, y) => x - y);
  const diffs = seeds.map((seed) => better.get(seed)! - worse.get(seed)!);
  return { ...meanStd(diffs), n: diffs.length, diffs };
}

/** A claim from the paper: variant `better` beats variant `worse`, by at least `atLeast` when given. */
export interface Claim {
  text: string;
  better: string;
  worse: string;
  atLeast?: number;
}

/** The directions KD-DETR's ablations report (kd-detr-method.md), by ablation variant key. */
export const PAPER_CLAIMS: readonly Claim[] = [
  { text: 'KD-DETR (general + specific) beats the student alone', better: 'kd-gs', worse: 'alone' },
  { text: 'KD-DETR gains at least +3.0 AP over the student alone', better: 'kd-gs', worse: 'alone', atLeast: 0.03 },
  { text: 'general + specific beats general only', better: 'kd-gs', worse: 'kd-g' },
  { text: 'general + specific beats specific only', better: 'kd-gs', worse: 'kd-s' },
  { text: 'consistent points beat hungarian-logits', better: 'kd-gs', worse: 'hungarian' },
  { text: "consistent points beat the reference's GT-matched baseline", better: 'kd-gs', worse: 'gt-matched' },
  { text: 'foreground re-weighting helps', better: 'kd-gs', worse: 'kd-gs-nofg' },
  { text: 'extra detection queries do not explain the gain', better: 'kd-gs', worse: 'alone-more-queries' },
  { text: 'more general points help (paper: 10 -> 300 on COCO; here 100 -> 300)', better: 'kd-gs-g300', worse: 'kd-gs' },
];

export type Verdict = 'holds' | 'not settled (mean gain within seed spread)' | 'does not hold' | 'not measured';

/**
 * Whether a claim holds on these runs. A mean gain past the threshold that is not past it on
 * every seed, or by less than the spread of the per-seed gains, is not settled: its sign could
 * flip with the next seed, and three seeds settle little. `cleared`: seeds whose gain is past
 * the threshold.
 */
export function judge(claim: Claim, ap: ReadonlyMap<string, ApBySeed>): { verdict: Verdict; gain?: PairedGain; cleared?: number } {
  const better = ap.get(claim.better);
  const worse = ap.get(claim.worse);
  if (!better || !worse) return { verdict: 'not measured' };
  const gain = pairedGain(better, worse);
  if (gain.n === 0) return { verdict: 'not measured' };
  const threshold = claim.atLeast ?? 0;
  // Judged on gains as printed (0.1 AP points), so a +0.00006 difference shown as 0.0 is no win.
  const cleared = gain.diffs.filter((d) => asPrinted(d) > threshold).length;
  if (!(asPrinted(gain.mean) > threshold)) return { verdict: 'does not hold', gain, cleared };
  const clear = cleared === gain.n && (gain.n < 2 || gain.mean - threshold > gain.std);
  return { verdict: clear ? 'holds' : 'not settled (mean gain within seed spread)', gain, cleared };
}

/** A markdown table: one row per claim, with the paired gain in AP points and its verdict. */
export function claimsTable(claims: readonly Claim[], ap: ReadonlyMap<string, ApBySeed>): string {
  const lines = ['| claim (paper) | gain, AP points: mean ± std over seeds | seeds past the bar | verdict here |', '| --- | --- | --- | --- |'];
  for (const c of claims) {
    const { verdict, gain, cleared } = judge(c, ap);
    const g = !gain ? 'n/a' : gain.n < 2 ? signedPoints(gain.mean) : `${signedPoints(gain.mean)} ± ${(100 * gain.std).toFixed(1)}`;
    lines.push(`| ${c.text} | ${g} | ${gain ? `${cleared}/${gain.n}` : 'n/a'} | ${verdict} |`);
  }
  return lines.join('\n');
}

/** A fraction rounded as the tables print it: 0.1 AP points. */
function asPrinted(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** A fraction as signed AP points with one decimal: 0.012 -> '+1.2', -1e-17 -> '0.0'. */
export function signedPoints(x: number): string {
  const text = (100 * x).toFixed(1);
  if (Number(text) === 0) return '0.0';
  return x > 0 ? `+${text}` : text;
}
