// The operators' pages: GET /status (public) and GET /admin/dashboard (a static page that signs in
// with the admin token and polls GET /admin/dashboard/data). Each page carries a strict
// Content-Security-Policy: scripts, styles and requests from this origin only, no inline script
// or style, so that even a value that escaped escaping could not run.
import type { Route } from '../server/router.js';
import { sendJson } from '../server/respond.js';
import { createAdminAuth } from '../admin/admin-auth.js';
import { createDashboardData, type DashboardSources } from './dashboard-data.js';
import { HARDENING, opsAssets, sendAsset, sendCached, type Asset } from './static-assets.js';
import { StatusPage } from './status-page.js';

const STATUS_CSP = "default-src 'none'; style-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const DASHBOARD_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function opsRoutes(src: DashboardSources, adminToken: string | undefined): Route[] {
  const assets = opsAssets();
  const status = new StatusPage(src.registry, src.traffic);
  const file = (path: string, a: Asset): Route => ({ method: 'GET', path, handler: async (ctx) => sendAsset(ctx, a) });
  const statusPage: Route['handler'] = async (ctx) => {
    const page = status.current();
    sendCached(ctx, page.html, 'text/html; charset=utf-8', page.etag, { 'cache-control': `public, max-age=${status.maxAgeSeconds(page)}`, 'content-security-policy': STATUS_CSP });
  };
  const routes: Route[] = [
    { method: 'GET', path: '/status', handler: statusPage },
    // Uptime monitors often ask with HEAD; Node sends the headers without the body.
    { method: 'HEAD', path: '/status', handler: statusPage },
    file('/status/status.css', assets.statusCss),
  ];
  const auth = createAdminAuth(adminToken);
  // Without an admin token there is no admin API, and no dashboard either (404, as for the rest).
  if (!auth.enabled) return routes;
  const data = createDashboardData(src);
  return [
    ...routes,
    { method: 'GET', path: '/admin/dashboard', handler: async (ctx) => sendAsset(ctx, assets.dashboardHtml, { 'content-security-policy': DASHBOARD_CSP }) },
    file('/admin/dashboard/dashboard.js', assets.dashboardJs),
    file('/admin/dashboard/dashboard.css', assets.dashboardCss),
    file('/admin/dashboard/uplot.min.js', assets.uplotJs),
    file('/admin/dashboard/uplot.min.css', assets.uplotCss),
    {
      method: 'GET',
      path: '/admin/dashboard/data',
      handler: async (ctx) => {
        auth.check(ctx.req.headers.authorization);
        const body = await data();
        // Figures about accounts: never kept by a browser or a proxy.
        ctx.res.setHeader('cache-control', 'no-store');
        for (const [k, v] of Object.entries(HARDENING)) ctx.res.setHeader(k, v);
        sendJson(ctx.res, body, ctx.id);
      },
    },
  ];
}
