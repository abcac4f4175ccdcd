// The files the status page and the dashboard load, read once when the gateway starts: the
// repository's public/ directory (shipped in the npm package) and uPlot's browser build from
// node_modules. The gateway serves them itself: no CDN, nothing fetched from elsewhere, which is
// what lets the pages' Content-Security-Policy allow scripts and styles from 'self' only.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ServerResponse } from 'node:http';
import type { RequestContext } from '../server/context.js';

export interface Asset {
  body: Buffer;
  contentType: string;
  etag: string;
}

/** This file is dist/src/ops/static-assets.js once built: public/ is at the repository's root. */
const PUBLIC_DIR = new URL('../../../public/', import.meta.url);

const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

function asset(body: Buffer, name: string): Asset {
  const ext = name.slice(name.lastIndexOf('.') + 1);
  return { body, contentType: TYPES[ext] ?? 'application/octet-stream', etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

export interface OpsAssets {
  statusCss: Asset;
  dashboardHtml: Asset;
  dashboardJs: Asset;
  dashboardCss: Asset;
  uplotJs: Asset;
  uplotCss: Asset;
}

let loaded: OpsAssets | undefined;

/** Read on the first call (the gateway's start), then kept for the life of the process. */
export function opsAssets(): OpsAssets {
  if (loaded) return loaded;
  const pub = (name: string) => asset(readFileSync(new URL(name, PUBLIC_DIR)), name);
  const require = createRequire(import.meta.url);
  const uplot = (name: string) => asset(readFileSync(require.resolve(`uplot/dist/${name}`)), name);
  loaded = {
    statusCss: pub('status.css'),
    dashboardHtml: pub('dashboard.html'),
    dashboardJs: pub('dashboard.js'),
    dashboardCss: pub('dashboard.css'),
    uplotJs: uplot('uPlot.iife.min.js'),
    uplotCss: uplot('uPlot.min.css'),
  };
  return loaded;
}

/** Headers every ops page and file carries: no sniffing, no framing, no referrer leaving. */
export const HARDENING = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
} as const;

/**
 * A body with a strong ETag, or 304 when the browser already has it. The 304 saves the body,
 * not the work: callers hand over bodies they already hold.
 */
export function sendCached(ctx: RequestContext, body: Buffer | string, contentType: string, etag: string, headers: Record<string, string>): void {
  const res: ServerResponse = ctx.res;
  const common = { ...HARDENING, ...headers, etag, 'x-request-id': ctx.id };
  if (ctx.req.headers['if-none-match'] === etag) {
    res.writeHead(304, common).end();
    return;
  }
  res.writeHead(200, { ...common, 'content-type': contentType, 'content-length': Buffer.byteLength(body) }).end(body);
}

export function sendAsset(ctx: RequestContext, a: Asset, headers: Record<string, string> = {}): void {
  // no-cache: revalidated each time (a 304 while unchanged), so an upgrade is seen at once.
  sendCached(ctx, a.body, a.contentType, a.etag, { 'cache-control': 'no-cache', ...headers });
}
