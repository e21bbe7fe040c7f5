// Vigil console: live views of one node, from its API and its event stream (/v1/events).
//
// Every string from the node (summaries, labels, descriptions, domains) reaches the page as
// text through `h()`, never as markup, so nothing a reporter writes can become HTML. The page
// talks to its own node only (the Content-Security-Policy says so too). Read-only.
'use strict';

const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'];
const VIEWS = ['board', 'alerts', 'reports', 'reputation', 'governance', 'intel', 'plots'];
const UNITS = 1_000_000; // base units per VGL

const S = {
  view: 'board',
  status: null,
  params: null,
  globals: null,
  alerts: [],          // newest first
  reportPage: 1,
  blocks: [],          // {height, time, txs, seen}
  selected: {},        // view → id
  connected: false,
  everConnected: false,
};

// ---- DOM helpers -----------------------------------------------------------------------

/** An element with attributes and children; strings become text nodes. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    // Through the CSSOM: the Content-Security-Policy refuses style attributes.
    else if (k === 'style') el.style.cssText = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const $ = (id) => document.getElementById(id);
const fill = (el, ...children) => el.replaceChildren(...children.flat(Infinity).filter((c) => c != null));
const svgNs = 'http://www.w3.org/2000/svg';
function s(tag, attrs, ...children) {
  const el = document.createElementNS(svgNs, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c != null) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

const vgl = (base) => {
  const n = Number(base || 0) / UNITS;
  return `${n.toLocaleString(undefined, { maximumFractionDigits: 2 })} VGL`;
};
const short = (id) => (id ? `${String(id).slice(0, 10)}…` : '');
const sev = (x) => h('span', { class: `badge sev-${SEVERITIES.includes(x) ? x : 'info'}` }, x || '?');
const statusCls = (x) => `st-${String(x).replace(/[^a-z_]/g, '')}`;
const ago = (secs) => {
  const d = Math.max(0, Math.round(Date.now() / 1000 - secs));
  if (d < 90) return `${d}s ago`;
  if (d < 5400) return `${Math.round(d / 60)}m ago`;
  return `${Math.round(d / 3600)}h ago`;
};

async function api(path) {
  const res = await fetch(path, { cache: 'no-store', headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return res.json();
}

/** Seconds per block from the blocks seen live (1 s until there are two). */
function blockSeconds() {
  const b = S.blocks;
  if (b.length < 2) return 1;
  const first = b[0], last = b[b.length - 1];
  const dt = (last.seen - first.seen) / 1000;
  return dt > 0 ? dt / (last.height - first.height) : 1;
}
const height = () => (S.status ? S.status.height : 0);
function countdown(target) {
  const left = target - height();
  if (left <= 0) return `height ${target} (passed)`;
  const secs = Math.round(left * blockSeconds());
  return `in ${left} block${left === 1 ? '' : 's'} (~${secs}s), height ${target}`;
}

// ---- tabs and keyboard -----------------------------------------------------------------

function show(view) {
  S.view = view;
  for (const v of VIEWS) {
    const tab = $(`tab-${v}`);
    const on = v === view;
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    $(`view-${v}`).hidden = !on;
  }
  refresh(view);
}

function setupTabs() {
  VIEWS.forEach((v) => $(`tab-${v}`).addEventListener('click', () => show(v)));
  $('tabs').addEventListener('keydown', (e) => {
    const i = VIEWS.indexOf(S.view);
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      const next = VIEWS[(i + (e.key === 'ArrowRight' ? 1 : VIEWS.length - 1)) % VIEWS.length];
      show(next);
      $(`tab-${next}`).focus();
      e.preventDefault();
    }
  });
  document.addEventListener('keydown', (e) => {
    if (e.target.closest('input, select, textarea') || e.altKey || e.ctrlKey || e.metaKey) return;
    const n = Number(e.key);
    if (n >= 1 && n <= VIEWS.length) { show(VIEWS[n - 1]); $(`tab-${VIEWS[n - 1]}`).focus(); }
  });
}

/** Makes table rows selectable with the mouse and the keyboard (Enter, Space, arrows). */
function selectableRow(view, id, cells, onSelect) {
  const tr = h('tr', { tabindex: 0, 'aria-selected': String(S.selected[view] === id), 'data-id': id }, cells);
  const pick = () => {
    S.selected[view] = id;
    for (const r of tr.parentNode ? tr.parentNode.children : []) r.setAttribute('aria-selected', String(r === tr));
    onSelect(id);
  };
  tr.addEventListener('click', pick);
  tr.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') { pick(); e.preventDefault(); }
    if (e.key === 'ArrowDown' && tr.nextElementSibling) { tr.nextElementSibling.focus(); e.preventDefault(); }
    if (e.key === 'ArrowUp' && tr.previousElementSibling) { tr.previousElementSibling.focus(); e.preventDefault(); }
  });
  return tr;
}

// ---- status ----------------------------------------------------------------------------

function renderStatus() {
  const st = S.status;
  if (!st) return;
  $('status').textContent = `chain ${st.chain_id} · height ${st.height} · app hash ${String(st.app_hash).slice(0, 12)}… · mempool ${st.mempool_size} · ${st.validators.length} validator(s)`;
}

function setConn(state) {
  const el = $('conn');
  el.className = `conn conn-${state}`;
  el.textContent = { live: 'live', connecting: 'connecting…', reconnecting: 'reconnecting…' }[state];
  el.dataset.state = state;
}

// ---- incident board --------------------------------------------------------------------

async function renderBoard() {
  const { protocols } = await api('/v1/protocols');
  if (!protocols.length) {
    fill($('board'), h('p', { class: 'muted' }, 'No protocol is registered yet (vigil protocol register --file protocol.toml).'));
    return;
  }
  fill($('board'), protocols.map((p) => {
    const b = p.breaker || {};
    const tripped = b.state === 'tripped';
    const sec = p.security || {};
    const cost = Number(sec.cost_of_corruption || 0), value = Number(p.spec.protected_value || 0);
    const scale = Math.max(cost, value, 1);
    const reason = b.reason || {};
    const why = reason.type === 'guardian' ? `guardian: ${reason.note}`
      : reason.type === 'fast_path' ? `fast path: monitor alert ${short(reason.alert)}`
      : reason.type === 'confirmed_report' ? `confirmed report ${short(reason.report)}` : '';
    return h('article', { class: `card${tripped ? ' tripped' : ''}`, 'data-protocol': p.id, 'data-breaker': tripped ? 'tripped' : 'armed' },
      h('h3', {}, p.spec.name, ' ', h('span', { class: 'muted mono' }, p.id)),
      h('p', {}, tripped ? h('span', { class: 'badge tripped-badge' }, 'TRIPPED') : h('span', { class: 'badge armed' }, 'ARMED'),
        ` ${p.trips} trip(s)`),
      tripped ? h('dl', {},
        h('dt', {}, 'by'), h('dd', { class: 'mono' }, short(b.by)),
        h('dt', {}, 'why'), h('dd', {}, why),
        h('dt', {}, 'since'), h('dd', {}, `height ${b.at_height} (${height() - b.at_height} blocks ago)`),
        h('dt', {}, 'reset'), h('dd', {}, `${(p.reset_approvals || []).length} of ${p.spec.threshold} guardian approvals (of ${p.spec.guardians.length})`)) : null,
      h('dl', {},
        h('dt', {}, 'protects'), h('dd', {}, vgl(value)),
        h('dt', {}, 'bounty pool'), h('dd', {}, vgl(p.bounty_pool)),
        h('dt', {}, 'guardians'), h('dd', {}, `${p.spec.threshold} of ${p.spec.guardians.length} re-arm`),
        h('dt', {}, 'policy'), h('dd', {}, `trips at ${p.spec.policy.min_severity}, confidence ≥ ${p.spec.policy.min_confidence}`)),
      h('div', { title: 'cost of corruption against the value protected' },
        h('div', { class: 'muted' }, `cost of corruption ${vgl(cost)} vs ${vgl(value)} protected — ${sec.stable ? 'stable' : 'NOT stable'}`),
        h('div', { class: 'gauge', role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': scale, 'aria-valuenow': cost, 'aria-label': 'cost of corruption' },
          h('span', { class: sec.stable ? 'stable' : 'unstable', style: `width:${(100 * cost / scale).toFixed(1)}%` }),
          h('span', { class: 'line', style: `left:${(100 * value / scale).toFixed(1)}%`, title: 'value protected' }))));
  }));
  // Protocol filter of the alerts view.
  const select = $('f-protocol');
  const chosen = select.value;
  fill(select, h('option', { value: '' }, 'all'), protocols.map((p) => h('option', { value: p.id }, p.id)));
  select.value = chosen;
  S.protocols = protocols;
}

// ---- alerts ----------------------------------------------------------------------------

function alertLoss(a) {
  const m = a.alert.payload.metadata || {};
  const losses = Object.entries(m).filter(([k]) => k.startsWith('predicted_loss.'));
  return losses.map(([k, v]) => `${v} ${k.slice('predicted_loss.'.length)}`).join(', ');
}

function alertMatches(rec) {
  const a = rec.alert.payload;
  const fp = $('f-protocol').value, fd = $('f-detector').value, fs = $('f-severity').value, since = Number($('f-since').value);
  if (fd && a.detector !== fd) return false;
  if (fs && SEVERITIES.indexOf(a.severity) < SEVERITIES.indexOf(fs)) return false;
  if (since && rec.received < Date.now() / 1000 - since) return false;
  if (fp) {
    const p = (S.protocols || []).find((x) => x.id === fp);
    if (!p) return false;
    const contracts = p.spec.contracts.map((c) => c.toLowerCase());
    const touched = [a.tx.to, ...(a.addresses || [])].filter(Boolean).map((x) => x.toLowerCase());
    if (!touched.some((x) => contracts.includes(x))) return false;
  }
  return true;
}

function renderAlerts() {
  const detectors = [...new Set(S.alerts.map((r) => r.alert.payload.detector))].sort();
  const sel = $('f-detector'), chosen = sel.value;
  fill(sel, h('option', { value: '' }, 'all'), detectors.map((d) => h('option', {}, d)));
  sel.value = chosen;
  const shown = S.alerts.filter(alertMatches).slice(0, 200);
  $('alert-count').textContent = `${shown.length} shown of ${S.alerts.length} recent`;
  fill($('alerts'), shown.map((rec) => {
    const a = rec.alert.payload;
    const pre = (a.metadata || {}).pre_execution === 'true' || a.tx.block == null;
    return selectableRow('alerts', rec.id, [
      h('td', {}, ago(rec.received)), h('td', {}, sev(a.severity)), h('td', { class: 'mono' }, a.detector),
      h('td', {}, pre ? 'pre-execution' : `mined #${a.tx.block}`), h('td', {}, alertLoss(rec)),
      h('td', {}, a.description)], () => alertDetail(rec));
  }));
}

function callTree(detection) {
  const f = (detection || []).find((d) => d.type === 'fingerprint');
  if (!f) return null;
  return h('ul', { class: 'tree', 'aria-label': 'call tree' }, f.steps.map((st) =>
    h('li', {}, `${'  '.repeat(st.depth)}${st.kind} → ${typeof st.target === 'string' ? st.target : JSON.stringify(st.target)} ${st.selector || ''}${st.ok ? '' : ' (reverted)'}${st.flow && st.flow !== 'none' ? ` ${st.flow}` : ''}`)));
}

function alertDetail(rec) {
  const a = rec.alert.payload;
  const meta = Object.entries(a.metadata || {});
  fill($('alert-detail'),
    h('h3', {}, sev(a.severity), ' ', a.detector),
    h('p', {}, a.description),
    h('dl', {},
      h('dt', {}, 'transaction'), h('dd', { class: 'mono' }, `eip155:${a.tx.chain} ${a.tx.hash}`),
      h('dt', {}, 'from → to'), h('dd', { class: 'mono' }, `${a.tx.from} → ${a.tx.to || '(create)'}`),
      h('dt', {}, 'stage'), h('dd', {}, a.tx.block == null ? 'pending: pre-executed before it was mined' : `mined in block ${a.tx.block}`),
      h('dt', {}, 'confidence'), h('dd', {}, `${a.confidence}`),
      h('dt', {}, 'raised by'), h('dd', { class: 'mono' }, `${short(rec.alert.signer)} via ${rec.peer}`),
      h('dt', {}, 'labels'), h('dd', {}, (a.labels || []).join(', ')),
      h('dt', {}, 'indicators'), h('dd', { class: 'mono' }, (a.indicators || []).map((i) => typeof i === 'string' ? i : JSON.stringify(i)).join(' · '))),
    callTree(a.detection),
    meta.length ? h('details', {}, h('summary', {}, `metadata (${meta.length})`),
      h('dl', {}, meta.map(([k, v]) => [h('dt', { class: 'mono' }, k), h('dd', { class: 'mono' }, String(v).slice(0, 2000))]))) : null);
}

async function loadAlerts() {
  const { alerts } = await api('/v1/alerts?limit=1000');
  S.alerts = alerts;
  S.alertsLoaded = true;
}

// ---- reports ---------------------------------------------------------------------------

function weightBars(t, quorum) {
  const c = Number(t.confirm_weight), d = Number(t.dispute_weight);
  const scale = Math.max(c + d, quorum, 1);
  return h('div', { class: 'bars', title: `confirm ${c}, dispute ${d}, quorum ${quorum}`, role: 'img', 'aria-label': `confirm weight ${c}, dispute weight ${d}, quorum ${quorum}` },
    h('span', { class: 'yes', style: `width:${(100 * c / scale).toFixed(1)}%` }),
    h('span', { class: 'no', style: `width:${(100 * d / scale).toFixed(1)}%` }),
    h('span', { class: 'q', style: `left:${(100 * quorum / scale).toFixed(1)}%` }));
}

async function renderReports() {
  const status = $('r-status').value;
  const q = new URLSearchParams({ page: S.reportPage, limit: 25 });
  if (status) q.set('status', status);
  const r = await api(`/v1/reports?${q}`);
  const pages = Math.max(1, Math.ceil(r.total / r.limit));
  $('r-page').textContent = `page ${r.page} of ${pages} (${r.total} reports)`;
  $('r-prev').disabled = r.page <= 1;
  $('r-next').disabled = r.page >= pages;
  fill($('reports'), r.reports.map((x) => selectableRow('reports', x.id, [
    h('td', { class: statusCls(x.status), 'data-status': x.status }, x.status), h('td', {}, sev(x.severity)),
    h('td', {}, x.summary, h('br'), h('span', { class: 'muted mono' }, `${short(x.id)} · ${x.category} · bond ${vgl(x.bond)}`)),
    h('td', {}, weightBars(x.tally, r.quorum), h('span', { class: 'muted' }, `${x.tally.attestations} attestation(s)`)),
    h('td', {}, x.status === 'open' ? countdown(x.deadline) : `closed at ${x.deadline}`)], reportDetail)));
  if (S.selected.reports && S.view === 'reports') reportDetail(S.selected.reports);
}

async function reportDetail(id) {
  const r = await api(`/v1/reports/${encodeURIComponent(id)}`);
  const st = r.settlement;
  fill($('report-detail'),
    h('h3', {}, h('span', { class: statusCls(r.status) }, r.status), ' ', r.report ? r.report.summary : r.summary),
    h('dl', {},
      h('dt', {}, 'id'), h('dd', { class: 'mono' }, id),
      h('dt', {}, 'reporter'), h('dd', { class: 'mono' }, r.reporter),
      h('dt', {}, 'deadline'), h('dd', {}, r.status === 'open' ? countdown(r.deadline) : String(r.deadline)),
      st ? [h('dt', {}, 'slashed'), h('dd', {}, vgl(st.slashed)),
        h('dt', {}, 'reporter paid'), h('dd', {}, vgl(st.reporter_reward)),
        h('dt', {}, 'winners paid'), h('dd', {}, vgl(st.winners_reward)),
        h('dt', {}, 'to treasury'), h('dd', {}, vgl(st.to_treasury))] : null),
    h('h3', {}, 'Attestations'),
    h('table', { class: 'list' }, h('thead', {}, h('tr', {}, h('th', {}, 'attester'), h('th', {}, 'stance'), h('th', {}, 'stake'), h('th', {}, 'outcome'))),
      h('tbody', {}, (r.attestations || []).map((a) => h('tr', {},
        h('td', { class: 'mono' }, short(a.attester)), h('td', {}, a.stance), h('td', {}, vgl(a.stake)),
        h('td', {}, a.outcome ? (a.outcome.won ? `won, paid ${vgl(a.outcome.reward)}` : `lost, slashed ${vgl(a.outcome.slashed)}`) : 'pending'))))));
}

// ---- reputation ------------------------------------------------------------------------

async function renderReputation() {
  const r = await api('/v1/accounts?limit=100');
  fill($('leaders'), r.accounts.map((a) => selectableRow('reputation', a.account, [
    h('td', {}, a.rank), h('td', { class: 'mono' }, short(a.account)),
    h('td', {}, h('meter', { min: 0, max: 100, value: a.reputation_score, 'aria-label': 'reputation' }), ` ${a.reputation_score}`),
    h('td', {}, vgl(a.bonded)), h('td', {}, a.reports_confirmed), h('td', {}, a.reports_rejected), h('td', {}, a.reports_pending)], leaderDetail)));
}

async function leaderDetail(account) {
  const [a, reports] = await Promise.all([
    api(`/v1/accounts/${account}`), api(`/v1/reports?limit=50&reporter=${account}`)]);
  fill($('leader-detail'),
    h('h3', { class: 'mono' }, account),
    h('dl', {}, h('dt', {}, 'reputation'), h('dd', {}, a.reputation_score),
      h('dt', {}, 'bonded'), h('dd', {}, vgl(a.bonded)), h('dt', {}, 'balance'), h('dd', {}, vgl(a.balance)),
      h('dt', {}, 'record'), h('dd', {}, `good ${a.reputation.good}, bad ${a.reputation.bad}`)),
    h('h3', {}, `Reports (${reports.total})`),
    h('ul', {}, reports.reports.map((x) => h('li', {}, h('span', { class: statusCls(x.status) }, x.status), ` ${x.summary}`))));
}

// ---- governance ------------------------------------------------------------------------

function describe(action) {
  const a = action || {};
  switch (a.type) {
    case 'treasury_spend': return `spend ${vgl(a.amount)} to ${short(a.to)}`;
    case 'breaker_reset': return `re-arm the breaker of ${a.protocol}`;
    case 'slash': return `slash ${short(a.account)} by ${vgl(a.amount)}`;
    case 'resolve_report': return `${a.confirm ? 'confirm' : 'reject'} report ${short(a.report)}`;
    case 'revoke_detection': return `revoke detection ${short(a.detection)}`;
    case 'decide_disclosure': return `decide disclosure ${a.disclosure}`;
    case 'decide_recovery': return `decide recovery claim ${a.claim}`;
    case 'parameter_change': return 'change parameters';
    default: return String(a.type || '?');
  }
}

async function renderGovernance() {
  const [{ proposals }, p] = await Promise.all([api('/v1/proposals'), api('/v1/params')]);
  S.params = p.params; S.globals = p.globals;
  const bonded = Number(p.globals.total_bonded);
  fill($('proposals'), proposals.map((x) => {
    const t = x.tally, yes = Number(t.yes), no = Number(t.no), ab = Number(t.abstain);
    const quorum = x.quorum != null ? Number(x.quorum) : Math.ceil(bonded * p.params.governance_quorum_bps / 10000);
    const scale = Math.max(yes + no + ab, quorum, 1);
    const thresholdAt = (yes + no) > 0 ? (yes + no) * p.params.governance_threshold_bps / 10000 : 0;
    const when = x.status === 'voting' ? `voting ends ${countdown(x.voting_ends)}`
      : x.status === 'passed' ? `timelock: executes ${countdown(x.execute_at)}` : x.failure ? `failed: ${x.failure}` : '';
    return h('tr', {},
      h('td', {}, x.id), h('td', {}, describe(x.action), h('br'), h('span', { class: 'muted' }, x.description)),
      h('td', { class: statusCls(x.status) }, x.status),
      h('td', {}, h('div', { class: 'bars', role: 'img', 'aria-label': `yes ${yes}, no ${no}, abstain ${ab}, quorum ${quorum}` },
        h('span', { class: 'yes', style: `width:${(100 * yes / scale).toFixed(1)}%` }),
        h('span', { class: 'no', style: `width:${(100 * no / scale).toFixed(1)}%` }),
        h('span', { class: 'abstain', style: `width:${(100 * ab / scale).toFixed(1)}%` }),
        h('span', { class: 'q', style: `left:${(100 * quorum / scale).toFixed(1)}%`, title: 'quorum' }),
        thresholdAt ? h('span', { class: 't', style: `left:${(100 * thresholdAt / scale).toFixed(1)}%`, title: 'threshold' }) : null),
        h('span', { class: 'muted' }, `yes ${vgl(yes)} · no ${vgl(no)} · abstain ${vgl(ab)}`)),
      h('td', {}, when));
  }));
  if (!proposals.length) fill($('proposals'), h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No proposals yet.')));
}

// ---- intel -----------------------------------------------------------------------------

async function renderIntel() {
  const { sources } = await api('/v1/intel/sources');
  fill($('sources'), sources.map((x) => {
    const last = (x.imports || []).at(-1);
    const policy = x.policy || {};
    const decay = policy.half_life_days != null ? `half-life ${policy.half_life_days} days` : JSON.stringify(policy);
    return h('tr', {}, h('td', {}, x.name), h('td', {}, x.indicators),
      h('td', {}, last ? `${last.at} (${last.file || 'API'})` : 'never'), h('td', { class: 'mono' }, decay));
  }));
  if (!sources.length) fill($('sources'), h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'No feed imported yet (vigil feed import …).')));
}

function setupCheck() {
  $('check').addEventListener('submit', async (e) => {
    e.preventDefault();
    const q = $('check-q').value.trim();
    if (!q) return;
    const res = await fetch(`/v1/check/${encodeURIComponent(q)}`, { cache: 'no-store' });
    const v = await res.json();
    fill($('check-result'), res.ok
      ? [h('p', {}, h('strong', {}, v.flagged ? 'FLAGGED' : 'not flagged'), ` — confidence ${v.confidence ?? 0}`),
        h('pre', { class: 'mono' }, JSON.stringify(v, null, 2))]
      : h('p', {}, `${v.error}: ${v.message}`));
  });
}

// ---- plots -----------------------------------------------------------------------------

function axes(w, hgt, maxY, label) {
  return [s('line', { x1: 40, y1: hgt - 20, x2: w - 5, y2: hgt - 20, stroke: '#59616b' }),
    s('line', { x1: 40, y1: 5, x2: 40, y2: hgt - 20, stroke: '#59616b' }),
    s('text', { x: 2, y: 14, 'font-size': 11, fill: '#15191e' }, String(maxY)),
    s('text', { x: 2, y: hgt - 22, 'font-size': 11, fill: '#15191e' }, '0'),
    s('text', { x: w - 120, y: hgt - 5, 'font-size': 11, fill: '#59616b' }, label)];
}

function plotAlerts() {
  const W = 600, H = 180, bins = 30, now = Date.now() / 1000;
  const colours = { critical: '#a4161a', high: '#c2410c', medium: '#ca8a04', low: '#2563eb', info: '#6b7280' };
  const counts = SEVERITIES.map(() => new Array(bins).fill(0));
  for (const r of S.alerts) {
    const b = Math.floor((now - r.received) / 60);
    if (b >= 0 && b < bins) counts[SEVERITIES.indexOf(r.alert.payload.severity)][bins - 1 - b] += 1;
  }
  const totals = counts[0].map((_, i) => counts.reduce((n, c) => n + c[i], 0));
  const maxY = Math.max(1, ...totals), bw = (W - 50) / bins;
  const bars = [];
  for (let i = 0; i < bins; i++) {
    let y = H - 20;
    SEVERITIES.forEach((sv, k) => {
      const hh = (H - 30) * counts[k][i] / maxY;
      if (hh > 0) bars.push(s('rect', { x: 42 + i * bw, y: y - hh, width: bw - 2, height: hh, fill: colours[sv] }, s('title', {}, `${counts[k][i]} ${sv}`)));
      y -= hh;
    });
  }
  fill($('plot-alerts'), s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'alerts per minute by severity' }, axes(W, H, maxY, 'minutes (now at right)'), bars),
    h('div', { class: 'legend' }, SEVERITIES.map((sv) => h('span', {}, h('span', { class: `badge sev-${sv}` }, sv)))));
}

/** p-quantile of a Prometheus histogram's cumulative buckets ([le, count]). */
function quantile(buckets, p) {
  const total = buckets.length ? buckets[buckets.length - 1][1] : 0;
  if (!total) return null;
  const want = p * total;
  let prevLe = 0, prevCount = 0;
  for (const [le, count] of buckets) {
    if (count >= want) {
      if (!Number.isFinite(le)) return prevLe;
      const span = count - prevCount;
      return span > 0 ? prevLe + (le - prevLe) * (want - prevCount) / span : le;
    }
    prevLe = le; prevCount = count;
  }
  return prevLe;
}

async function plotLatency() {
  const text = await (await fetch('/metrics', { cache: 'no-store' })).text();
  const buckets = [];
  for (const line of text.split('\n')) {
    const m = line.match(/^vigil_detection_to_pause_sent_seconds_bucket\{le="([^"]+)"\} (\d+)/);
    if (m) buckets.push([m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])]);
  }
  const p50 = quantile(buckets, 0.5), p99 = quantile(buckets, 0.99);
  if (p50 == null) {
    fill($('plot-latency'), h('p', { class: 'muted' }, 'No pause sent by this node yet.'));
    return;
  }
  const W = 600, H = 90, max = Math.max(p99, 0.001);
  const bar = (y, v, label, colour) => [s('rect', { x: 60, y, width: (W - 80) * v / max, height: 22, fill: colour }),
    s('text', { x: 2, y: y + 16, 'font-size': 12, fill: '#15191e' }, label),
    s('text', { x: 66 + (W - 80) * v / max, y: y + 16, 'font-size': 12, fill: '#15191e' }, `${(v * 1000).toFixed(0)} ms`)];
  fill($('plot-latency'), s('svg', { viewBox: `0 0 ${W + 60} ${H}`, role: 'img', 'aria-label': `detection latency p50 ${p50} s, p99 ${p99} s` },
    bar(10, p50, 'p50', '#2563eb'), bar(45, p99, 'p99', '#a4161a')));
}

function plotBlocks() {
  const W = 600, H = 180, b = S.blocks.slice(-120);
  if (b.length < 2) { fill($('plot-blocks'), h('p', { class: 'muted' }, 'Waiting for blocks…')); return; }
  const pts = [];
  for (let i = 1; i < b.length; i++) {
    const dt = Math.max(0.05, (b[i].seen - b[i - 1].seen) / 1000);
    pts.push(b[i].txs / dt);
  }
  const maxY = Math.max(1, ...pts), dx = (W - 50) / Math.max(1, pts.length - 1);
  const path = pts.map((v, i) => `${i ? 'L' : 'M'}${(42 + i * dx).toFixed(1)},${(H - 20 - (H - 30) * v / maxY).toFixed(1)}`).join(' ');
  fill($('plot-blocks'), s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'committed transactions per second' },
    axes(W, H, maxY.toFixed(1), `${b.length} blocks, now at right`), s('path', { d: path, fill: 'none', stroke: '#0a6b2d', 'stroke-width': 2 })),
    h('p', { class: 'muted' }, `${b.length} blocks seen live, ${blockSeconds().toFixed(2)} s per block`));
}

async function renderPlots() {
  plotAlerts();
  plotBlocks();
  await plotLatency();
}

// ---- refresh and the event stream ------------------------------------------------------

const RENDER = {
  board: renderBoard,
  alerts: async () => {
    if (!S.alertsLoaded) await loadAlerts();
    renderAlerts();
  },
  reports: renderReports,
  reputation: renderReputation,
  governance: renderGovernance,
  intel: renderIntel,
  plots: renderPlots,
};

async function refresh(view) {
  try {
    S.status = await api('/v1/status');
    renderStatus();
    await RENDER[view || S.view]();
    document.body.dataset.rendered = String(Date.now());
  } catch (e) {
    document.body.dataset.error = String(e.message || e);
  }
}

let pending = null;
/** Refreshes the current view soon, once for a burst of events. */
function soon() {
  if (pending) return;
  pending = setTimeout(() => { pending = null; refresh(); }, 120);
}

function connect() {
  const ev = new EventSource('/v1/events');
  ev.addEventListener('open', () => {
    const again = S.everConnected;
    S.connected = true; S.everConnected = true;
    setConn('live');
    if (again) { loadAlerts().then(() => refresh()); }
  });
  ev.addEventListener('error', () => {
    S.connected = false;
    setConn('reconnecting');
  });
  ev.addEventListener('block', (m) => {
    const b = JSON.parse(m.data);
    S.blocks.push({ height: b.height, time: b.time, txs: b.txs, seen: Date.now() });
    if (S.blocks.length > 240) S.blocks.shift();
    if (S.status) { S.status.height = b.height; S.status.app_hash = b.app_hash; renderStatus(); }
    if (b.txs > 0 || S.view === 'plots' || S.view === 'reports' || S.view === 'governance') soon();
  });
  for (const kind of ['report', 'attestation', 'verdict', 'settlement', 'ledger']) ev.addEventListener(kind, soon);
  ev.addEventListener('alert', (m) => {
    const a = JSON.parse(m.data);
    if (!S.alerts.some((r) => r.id === a.id)) {
      S.alerts.unshift({ id: a.id, peer: a.peer, received: Math.floor(Date.now() / 1000), alert: a.alert });
      if (S.alerts.length > 5000) S.alerts.pop();
    }
    if (S.view === 'alerts' || S.view === 'plots') soon();
  });
}

function setup() {
  setupTabs();
  setupCheck();
  for (const id of ['f-protocol', 'f-detector', 'f-severity', 'f-since']) $(id).addEventListener('change', renderAlerts);
  $('r-status').addEventListener('change', () => { S.reportPage = 1; renderReports(); });
  $('r-prev').addEventListener('click', () => { S.reportPage = Math.max(1, S.reportPage - 1); renderReports(); });
  $('r-next').addEventListener('click', () => { S.reportPage += 1; renderReports(); });
  setConn('connecting');
  const started = performance.now();
  refresh('board').then(() => {
    document.body.dataset.firstRenderMs = String(Math.round(performance.now() - started));
  });
  loadAlerts().catch(() => {});
  connect();
  setInterval(() => { if (S.view === 'board' || S.view === 'plots') soon(); }, 5000);
}

document.addEventListener('DOMContentLoaded', setup);
