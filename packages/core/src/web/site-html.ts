/** The bundle's file name in an exported site. */
export const SITE_BUNDLE = 'detkit-page.js';

/** The exported site's index.html: static markup the page module fills in; no framework, no network beyond the site. */
export function siteIndexHtml(title: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)} · detkit</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #222; max-width: 60rem; }
  h1 { font-size: 1.3rem; margin: 0 0 .3rem; }
  #model, #stats { color: #555; margin: .2rem 0; }
  #error { background: #fde8e8; border: 1px solid #d33; color: #a00; padding: .6rem .8rem; margin: .8rem 0; white-space: pre-wrap; }
  .row { display: flex; gap: 1.5rem; flex-wrap: wrap; align-items: flex-start; margin-top: 1rem; }
  .row > div:first-child { width: 260px; }
  #pad { width: 256px; height: 256px; image-rendering: pixelated; touch-action: none; cursor: crosshair; border: 1px solid #888; }
  #view { border: 1px solid #888; image-rendering: pixelated; max-width: 100%; }
  table { border-collapse: collapse; margin-top: .6rem; }
  td, th { border-bottom: 1px solid #ddd; padding: .15rem .6rem; text-align: right; font-variant-numeric: tabular-nums; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p id="model">Loading the model…</p>
<div id="error" role="alert" hidden></div>
<div class="row">
  <div>
    <canvas id="pad" aria-label="drawing pad: draw digits here"></canvas><br>
    <button id="clear" type="button">Clear</button>
    <label>or open an image <input id="file" type="file" accept="image/*"></label>
    <p>Draw digits on the black square, or drop an image anywhere on the page.</p>
  </div>
  <div>
    <canvas id="view" aria-label="the image with its detections" width="256" height="256"></canvas>
    <p id="stats"></p>
    <table id="detections"><thead><tr><th>#</th><th>class</th><th>score</th><th>x0</th><th>y0</th><th>x1</th><th>y1</th></tr></thead><tbody></tbody></table>
  </div>
</div>
<script type="module" src="${SITE_BUNDLE}"></script>
</body>
</html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
