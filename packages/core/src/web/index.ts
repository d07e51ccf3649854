// Detectors in a web page: `detkit export web` (a static site) and `detkit web` (serve it).
export { exportWebSite, type ExportWebOptions, type ExportedSite } from './export-site.js';
export { serveSite, type ServedSite } from './serve-site.js';
export { bundleBrowser, bundlePage, browserBuildOptions, CORE_BROWSER_ENTRY, type BundlePageOptions, type BundleResult } from './bundle-page.js';
export { parseSiteManifest, SITE_FORMAT, SITE_MANIFEST, SITE_WEIGHTS, type SiteManifest } from './site-manifest.js';
export { SITE_BUNDLE } from './site-html.js';
