// The admin dashboard's script (public/dashboard.html): signs in with the admin token (kept in
// this tab's sessionStorage only), polls GET /admin/dashboard/data every few seconds and draws it.
// Every value reaches the page through textContent, never as HTML: a model id or an account id
// holding markup shows as the text it is. Charts: uPlot, served by the gateway itself.
'use strict';
(() => {
  const TOKEN_KEY = 'sluice-admin-token';
  const REFRESH_MS = 3000;
  const $ = (id) => document.getElementById(id);
  let timer;
  /**
   * The polling loop in force. Signing out or in starts a new one; a refresh of an older loop that
   * was in flight meanwhile drops its answer and schedules nothing, so only one loop ever polls.
   */
  let loop = 0;
  let charts = {};

  const fmt = (v) => (v === null || v === undefined ? '–' : String(v));
  const usd = (v) => `$${v.toFixed(6)}`;

  function stopPolling() {
    clearTimeout(timer);
    loop++;
  }

  function startPolling() {
    stopPolling();
    refresh(loop);
  }

  function showSignIn(message) {
    stopPolling();
    $('board').hidden = true;
    $('sign-out').hidden = true;
    $('sign-in').hidden = false;
    $('sign-in-error').textContent = message || '';
    $('token').focus();
  }

  function showBoard() {
    $('sign-in').hidden = true;
    $('board').hidden = false;
    $('sign-out').hidden = false;
  }

  /** The data with the token; null (and the sign-in form again) when the token is refused. */
  async function fetchData(token) {
    const res = await fetch('/admin/dashboard/data', { headers: { authorization: `Bearer ${token}` }, cache: 'no-store' });
    const body = await res.json();
    if (res.status === 401) return { refused: body && body.error ? body.error.message : 'The admin token is not valid.' };
    if (!res.ok) throw new Error(body && body.error ? body.error.message : `HTTP ${res.status}`);
    return { data: body };
  }

  function cell(row, text, className) {
    const td = document.createElement('td');
    td.textContent = fmt(text);
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  /** Replaces a table's rows: one per item, cells from `cells(item)` as [text, class?] pairs. */
  function fillTable(id, items, cells, empty) {
    const tbody = $(id).tBodies[0];
    const rows = items.map((item) => {
      const tr = document.createElement('tr');
      for (const [text, className] of cells(item)) cell(tr, text, className);
      return tr;
    });
    if (rows.length === 0) {
      const tr = document.createElement('tr');
      const td = cell(tr, empty);
      td.colSpan = $(id).tHead.rows[0].cells.length;
      td.className = 'empty';
      rows.push(tr);
    }
    tbody.replaceChildren(...rows);
  }

  function field(path, data) {
    return path.split('.').reduce((o, k) => (o === null || o === undefined ? undefined : o[k]), data);
  }

  function chart(id, series, data) {
    const el = $(id);
    const key = series.map((s) => s.label).join('\u0000');
    const existing = charts[id];
    if (existing && existing.key === key) {
      existing.plot.setData(data);
      return;
    }
    if (existing) existing.plot.destroy();
    const opts = {
      width: Math.max(300, el.clientWidth || 600),
      height: 220,
      scales: { x: { time: true } },
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, spanGaps: s.spanGaps === true, ...(s.points && { points: { show: true, size: 6 } }) }))],
      axes: [{}, { size: 60 }],
      legend: { live: true },
    };
    charts[id] = { key, plot: new uPlot(opts, data, el) };
  }

  const PALETTE = ['#cf222e', '#9a6700', '#8250df', '#0969da', '#bf3989', '#1a7f37', '#57606a', '#fb8f44'];

  function render(d) {
    for (const el of document.querySelectorAll('[data-field]')) el.textContent = fmt(field(el.dataset.field, d));
    $('updated').textContent = `Updated ${d.generatedAt}`;

    fillTable('errors', d.traffic.errorsByCode, (e) => [[e.code, 'id'], [e.status, 'num'], [e.count, 'num'], [e.perSecond, 'num']], 'No errors');
    fillTable('models', d.models, (m) => [[m.id, 'id'], [m.state, `state-${m.state}`], [m.requests, 'num'], [m.serverErrors, 'num']], 'No models');
    fillTable('deployments', d.deployments, (x) => [[x.model, 'id'], [x.deployment, 'id'], [x.circuit, `circuit-${x.circuit}`], [x.health, `health-${x.health}`], [x.maintenance ? 'yes' : 'no'], [x.inFlight, 'num']], 'No deployments');
    fillTable('queues', d.queues, (q) => [[q.deployment, 'id'], [q.total, 'num'], [q.queued.critical, 'num'], [q.queued.standard, 'num'], [q.queued.batch, 'num'], [q.capacity, 'num'], [q.inService, 'num'], [q.limit, 'num']], 'No deployment has an admission queue');
    fillTable('rate-limits', d.rateLimits.sinceStart, (r) => [[r.code, 'id'], [r.scope], [r.count, 'num']], 'None');
    fillTable('accounts', d.topAccounts.accounts, (a) => [[a.account, 'id'], [a.requests, 'num'], [a.inputTokens, 'num'], [a.outputTokens, 'num'], [usd(a.spendUsd), 'num']], d.topAccounts.available ? 'No spend' : 'The store did not answer');

    const s = d.series;
    chart('chart-traffic', [{ label: 'requests/s', stroke: '#0969da' }, { label: 'server errors/s', stroke: '#cf222e' }], [s.t, s.requestsPerSecond, s.serverErrorsPerSecond]);
    const codes = Object.keys(s.errorsPerSecondByCode);
    chart('chart-errors', codes.length > 0 ? codes.map((c, i) => ({ label: c, stroke: PALETTE[i % PALETTE.length] })) : [{ label: 'errors/s', stroke: '#57606a' }], [s.t, ...(codes.length > 0 ? codes.map((c) => s.errorsPerSecondByCode[c]) : [s.t.map(() => 0)])]);
    chart('chart-ttft', [{ label: 'p50', stroke: '#1a7f37', spanGaps: true, points: true }, { label: 'p95', stroke: '#9a6700', spanGaps: true, points: true }, { label: 'p99', stroke: '#cf222e', spanGaps: true, points: true }], [s.t, s.ttftMs.p50, s.ttftMs.p95, s.ttftMs.p99]);
    document.body.dataset.generatedAt = d.generatedAt;
  }

  async function refresh(current) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) return showSignIn();
    try {
      const r = await fetchData(token);
      if (current !== loop) return; // signed out (and perhaps in again) meanwhile
      if (r.refused) {
        sessionStorage.removeItem(TOKEN_KEY);
        return showSignIn(r.refused);
      }
      render(r.data);
    } catch (err) {
      if (current !== loop) return;
      $('updated').textContent = `Cannot reach the gateway (${err.message}); retrying`;
    }
    timer = setTimeout(refresh, REFRESH_MS, current);
  }

  $('sign-in').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const token = $('token').value;
    $('token').value = '';
    sessionStorage.setItem(TOKEN_KEY, token);
    showBoard();
    startPolling();
  });

  $('sign-out').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    for (const c of Object.values(charts)) c.plot.destroy();
    charts = {};
    showSignIn();
  });

  if (sessionStorage.getItem(TOKEN_KEY)) {
    showBoard();
    startPolling();
  } else showSignIn();
})();
