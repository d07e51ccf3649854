// The exported site's page: draw digits or drop an image, and see the detections on the image,
// a table of them, the backend and the latency. Everything loads once (manifest, weights, wasm),
// so the page keeps working offline. Any failure is shown on the page as `error [CODE]: ...`.
import { detectImage, DetkitError, isDetkitError, rgbaToRgbImage, type Detection, type Logger, type RgbImage } from '../../browser.js';
import { parseSiteManifest, SITE_MANIFEST, type SiteManifest } from '../site-manifest.js';
import { startBackend } from './backends.js';
import { loadSiteModel, type PluginModule, type SiteModel } from './site-model.js';

/** Detections at or above this score are drawn and listed (all of them are in `window.detkit`). */
const SCORE_SHOWN = 0.3;
/** Largest side of the result view, in CSS pixels. */
const VIEW_SIZE = 384;

/** The page's state as `window.detkit`, for tests and the console. */
export interface PageState {
  status: 'loading' | 'ready' | 'error';
  error?: string;
  backend?: string;
  manifest?: SiteManifest;
  /** ms from navigation start to the end of the first detection (a blank drawing). */
  firstDetectionMs?: number;
  /** The last image's detections: every one the model returned (top-k), xyxy in its pixels. */
  last?: { source: string; detections: Detection[]; latencyMs: number; width: number; height: number };
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const logger: Logger = {
  debug: (m) => console.debug(m),
  info: (m) => console.info(m),
  warn: (m) => console.warn(m),
  error: (m) => console.error(m),
};

export async function startDetkitPage(plugins: PluginModule[]): Promise<void> {
  const state: PageState = { status: 'loading' };
  (window as unknown as { detkit: PageState }).detkit = state;
  try {
    const manifest = await loadManifest();
    state.manifest = manifest;
    $('model').textContent = describeModel(manifest);
    const backend = await startBackend(location.href, new URLSearchParams(location.search).get('backend'));
    state.backend = backend.name;
    if (backend.skipped.length) logger.info(`backends skipped: ${backend.skipped.join('; ')}`);
    const site = await loadSiteModel(manifest, await fetchBytes(manifest.weights), plugins, logger);
    const detect = detector(site, manifest, state);
    const pad = drawingPad(manifest.drawSize, (image) => detect(image, 'drawing'));
    wireImageDrop((image, name) => detect(image, name), pad.clear);
    await detect(pad.read(), 'drawing');
    state.firstDetectionMs = performance.now();
    state.status = 'ready';
  } catch (e) {
    showError(state, e);
  }
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new DetkitError('IO', `cannot load ${url}: HTTP ${res.status} ${res.statusText}`, { file: url });
  return new Uint8Array(await res.arrayBuffer());
}

async function loadManifest(): Promise<SiteManifest> {
  const text = new TextDecoder().decode(await fetchBytes(SITE_MANIFEST));
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new DetkitError('CONFIG_INVALID', `${SITE_MANIFEST} is not JSON: ${(e as Error).message}`, { file: SITE_MANIFEST });
  }
  return parseSiteManifest(raw, SITE_MANIFEST);
}

function describeModel(m: SiteManifest): string {
  const ap = m.checkpoint.metrics?.AP;
  const iter = m.checkpoint.iter === undefined ? '' : `, iteration ${m.checkpoint.iter}`;
  return `Model: ${m.name} (${m.model.type}, ${m.classNames.length} classes) · weights ${m.checkpoint.file}${iter} · ` + (ap === undefined ? 'AP not recorded' : `AP ${(ap * 100).toFixed(1)}`);
}

function showError(state: PageState, e: unknown): void {
  const message = isDetkitError(e) ? `error [${e.code}]: ${e.message}` : `error: ${e instanceof Error ? e.message : String(e)}`;
  state.status = 'error';
  state.error = message;
  const box = $('error');
  box.textContent = message;
  box.hidden = false;
  logger.error(message);
}

/** Runs one image at a time through the model and shows the result. */
function detector(site: SiteModel, manifest: SiteManifest, state: PageState) {
  let queue = Promise.resolve();
  return (image: RgbImage, source: string) => {
    queue = queue.then(async () => {
      try {
        const start = performance.now();
        const detections = await detectImage(site.model, image, site.transforms);
        const latencyMs = performance.now() - start;
        state.last = { source, detections, latencyMs, width: image.width, height: image.height };
        render(image, detections, manifest.classNames);
        $('stats').textContent = `backend: ${state.backend} · latency: ${latencyMs.toFixed(0)} ms per image (${image.width}x${image.height})`;
        $('error').hidden = true;
        if (state.status === 'error') state.status = 'ready';
      } catch (e) {
        showError(state, e);
      }
    });
    return queue;
  };
}

function render(image: RgbImage, detections: Detection[], classNames: readonly string[]): void {
  const { width: w, height: h } = image;
  const scale = Math.min(VIEW_SIZE / Math.max(w, h), 8);
  const view = $<HTMLCanvasElement>('view');
  view.width = Math.round(w * scale);
  view.height = Math.round(h * scale);
  const ctx = view.getContext('2d')!;
  ctx.imageSmoothingEnabled = scale < 1;
  ctx.drawImage(toCanvas(image), 0, 0, view.width, view.height);
  const shown = detections.filter((d) => d.score >= SCORE_SHOWN);
  ctx.font = '14px sans-serif';
  ctx.lineWidth = 2;
  for (const d of shown) {
    const [x0, y0, x1, y1] = d.box.map((v) => v * scale) as [number, number, number, number];
    const colour = `hsl(${(d.label * 137) % 360} 90% 55%)`;
    const text = `${classNames[d.label] ?? d.label} ${d.score.toFixed(2)}`;
    const ty = Math.max(16, y0);
    ctx.strokeStyle = ctx.fillStyle = colour;
    ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
    ctx.fillRect(x0 - 1, ty - 16, ctx.measureText(text).width + 6, 16);
    ctx.fillStyle = '#000';
    ctx.fillText(text, x0 + 2, ty - 3);
  }
  const rows = shown.map((d, i) => `<tr><td>${i + 1}</td><td>${escapeHtml(classNames[d.label] ?? String(d.label))}</td><td>${d.score.toFixed(3)}</td>${d.box.map((v) => `<td>${v.toFixed(1)}</td>`).join('')}</tr>`);
  $('detections').querySelector('tbody')!.innerHTML = rows.join('') || `<tr><td colspan="7">no detection scores ${SCORE_SHOWN} or more</td></tr>`;
}

function toCanvas(image: RgbImage): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = image.width;
  c.height = image.height;
  const data = new ImageData(image.width, image.height);
  for (let i = 0; i < image.width * image.height; i++) {
    for (let k = 0; k < 3; k++) data.data[4 * i + k] = Math.round(image.image[3 * i + k]! * 255);
    data.data[4 * i + 3] = 255;
  }
  c.getContext('2d')!.putImageData(data, 0, 0);
  return c;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** A black square at the model's input size to draw white digits on, as MNIST-detection draws them. */
function drawingPad(size: number, onStroke: (image: RgbImage) => void) {
  const pad = $<HTMLCanvasElement>('pad');
  pad.width = pad.height = size;
  const ctx = pad.getContext('2d', { willReadFrequently: true })!;
  const clear = () => {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, size, size);
  };
  const read = () => rgbaToRgbImage(ctx.getImageData(0, 0, size, size).data, size, size);
  clear();
  let drawing = false;
  const at = (e: PointerEvent): [number, number] => {
    const r = pad.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * size, ((e.clientY - r.top) / r.height) * size];
  };
  pad.addEventListener('pointerdown', (e) => {
    drawing = true;
    pad.setPointerCapture(e.pointerId);
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = size / 14;
    ctx.lineCap = ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(...at(e));
  });
  pad.addEventListener('pointermove', (e) => {
    if (!drawing) return;
    ctx.lineTo(...at(e));
    ctx.stroke();
  });
  pad.addEventListener('pointerup', () => {
    drawing = false;
    onStroke(read());
  });
  $('clear').addEventListener('click', () => {
    clear();
    onStroke(read());
  });
  return { read, clear };
}

/** The file input and drag-and-drop anywhere on the page: the image at its own size, alpha dropped. */
function wireImageDrop(onImage: (image: RgbImage, name: string) => void, clearPad: () => void): void {
  const take = async (file: File | undefined) => {
    if (!file) return;
    let bitmap: ImageBitmap;
    try {
      // No colour management: the same pixel values as decoding the file in Node.
      bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    } catch {
      $('error').textContent = `error: cannot decode ${file.name} as an image`;
      $('error').hidden = false;
      return;
    }
    const c = document.createElement('canvas');
    c.width = bitmap.width;
    c.height = bitmap.height;
    const ctx = c.getContext('2d', { willReadFrequently: true })!;
    ctx.drawImage(bitmap, 0, 0);
    clearPad();
    onImage(rgbaToRgbImage(ctx.getImageData(0, 0, c.width, c.height).data, c.width, c.height), file.name);
  };
  const input = $<HTMLInputElement>('file');
  input.addEventListener('change', () => void take(input.files?.[0]));
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    void take(e.dataTransfer?.files[0]);
  });
}
