// GET /status: the public status page. Server-rendered HTML, every value escaped, built from
// the registry and the traffic window at most once per cacheMs whatever the request rate (a
// public page is what a crowd reloads during an incident). Public models only: a private model
// (`owner`) is an account's business, and no account, key, deployment or engine appears.
import { createHash } from 'node:crypto';
import type { ModelRegistry } from '../routing/registry.js';
import { escapeHtml } from './escape-html.js';
import { modelStatus, STATE_ORDER, type ModelState } from './model-status.js';
import { WINDOW_SECONDS, type TrafficWindow } from './traffic-window.js';

export const STATUS_CACHE_MS = 5_000;

const LABEL: Record<ModelState, string> = { operational: 'Operational', degraded: 'Degraded', outage: 'Outage', maintenance: 'Maintenance' };
const HEADLINE: Record<ModelState, string> = {
  operational: 'All models operational',
  degraded: 'Some models are degraded',
  outage: 'Some models are unavailable',
  maintenance: 'Some models are under maintenance',
};

export interface RenderedStatus {
  html: string;
  etag: string;
  builtAt: number;
}

export class StatusPage {
  private cached: RenderedStatus | undefined;

  constructor(private readonly registry: ModelRegistry, private readonly traffic: TrafficWindow, private readonly cacheMs = STATUS_CACHE_MS, private readonly now: () => number = Date.now) {}

  /** The page, rebuilt when the cached one is cacheMs old. */
  current(): RenderedStatus {
    const now = this.now();
    if (!this.cached || now - this.cached.builtAt >= this.cacheMs) {
      const html = this.render(now);
      this.cached = { html, etag: `"${createHash('sha256').update(html).digest('base64url').slice(0, 27)}"`, builtAt: now };
    }
    return this.cached;
  }

  /** Seconds a browser or proxy may keep the page: what is left of the cached copy's life. */
  maxAgeSeconds(page: RenderedStatus): number {
    return Math.max(0, Math.ceil((page.builtAt + this.cacheMs - this.now()) / 1000));
  }

  private render(now: number): string {
    const recent = this.traffic.totals().byModel;
    const rows = this.registry
      .list()
      .filter((m) => m.config.owner === undefined)
      .map((m) => ({ id: m.config.id, ...modelStatus(m, recent[m.config.id]) }));
    const worst = STATE_ORDER.find((s) => rows.some((r) => r.state === s)) ?? 'operational';
    const updated = new Date(now).toISOString();
    const body = rows
      .map((r) => `<tr><td class="model">${escapeHtml(r.id)}</td><td><span class="state state-${r.state}">${LABEL[r.state]}</span></td><td class="reason">${escapeHtml(r.reason)}</td></tr>`)
      .join('\n');
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="30">
<title>Status</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/status/status.css">
</head>
<body>
<header><h1>Status</h1><p class="headline state-${worst}">${rows.length === 0 ? 'No public models' : HEADLINE[worst]}</p></header>
<main>
<table>
<thead><tr><th scope="col">Model</th><th scope="col">State</th><th scope="col">Details</th></tr></thead>
<tbody>
${body}
</tbody>
</table>
<p class="updated">Updated <time datetime="${updated}">${updated}</time>, from the last ${WINDOW_SECONDS / 60} minutes of traffic and the models' health.</p>
</main>
</body>
</html>
`;
  }
}
