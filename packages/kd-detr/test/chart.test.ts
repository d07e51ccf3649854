import test from 'ava';
import sharp from 'sharp';
import { lineChartSvg, niceTicks } from '../src/demo/chart.js';
import { meanStd, metricsTable } from '../src/demo/report.js';

test('ticks cover the data range with 1/2/5 steps', (t) => {
  t.deepEqual(niceTicks(0, 0.32), [0, 0.1, 0.2, 0.3, 0.4]);
  t.deepEqual(niceTicks(0, 400), [0, 100, 200, 300, 400]);
  const ticks = niceTicks(3, 47);
  t.true(ticks[0]! <= 3 && ticks[ticks.length - 1]! >= 47);
});

test('the chart SVG renders to a PNG with both series and a legend', async (t) => {
  const svg = lineChartSvg(
    [
      { label: 'alone', color: '#1f77b4', points: [[0, 1], [100, 5]] },
      { label: 'KD', color: '#d62728', points: [[0, 1], [100, 9]], band: [[0, 0.5, 1.5], [100, 8, 10]] },
    ],
    { title: 'AP', xLabel: 'iteration', yLabel: 'AP (%)' },
  );
  t.is((svg.match(/<polyline/g) ?? []).length, 2);
  t.true(svg.includes('>alone<') && svg.includes('>KD<'));
  const meta = await sharp(Buffer.from(svg)).png().toBuffer().then((b) => sharp(b).metadata());
  t.is(meta.width, 720);
});

test('report helpers: percentages, mean and sample std', (t) => {
  t.regex(metricsTable([{ name: 'x', metrics: { AP: 0.1234, AP50: -1 } }]), /\| x \| 12\.3 \| - \| n\/a \| n\/a \| n\/a \| n\/a \|/);
  const { mean, std } = meanStd([1, 2, 3]);
  t.is(mean, 2);
  t.is(std, 1);
});
