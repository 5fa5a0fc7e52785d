// infergate canary console: polls the admin API's JSON (/weights, /versions, /rollouts, /pools)
// every 1.5 s and draws it; changes go through the same API (POST /weights, /rollouts/ACTION)
// with the X-CSRF-Token of GET /csrf_token and, when the admin listener wants one, the bearer
// token typed into this tab. No library, no other origin: every element is built with the
// DOM API (text is never parsed as HTML) and the charts are plain SVG.
'use strict';

const POLL_MS = 1500;
const WINDOW_MS = 15 * 60 * 1000;
const ACTIONS = ['promote', 'abort', 'pause', 'resume', 'retry'];

const state = {
  csrf: null,
  token: sessionStorage.getItem('infergate-admin-token') || '',
  versions: new Map(),     // "route|backend|version" -> {route, backend, version, last, points}
  nowMs: 0,                // the newest sample's time (server clock)
  weights: null,
  rollouts: [],
  pools: null,
  verdicts: new Map(),     // rollout key -> [{time, verdict, ...}] newest first
  rolloutWeights: new Map(), // rollout key -> {t: [], v: []} as seen by this page
  lastDecisions: new Map(),  // pool -> {at, counts}
  decisionRates: new Map(),  // pool -> {picked: r, ...}
  pending: new Map(),      // rule key -> timer of a weight change not sent yet
  dirty: new Set(),        // rules whose inputs the user moved since the last answer
  ruleSig: '',
  rolloutSig: '',
};

// ---------- DOM helpers ----------
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
function svg(tag, attrs) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  return el;
}
function replace(id, ...nodes) { document.getElementById(id).replaceChildren(...nodes.flat()); }
function fmt(v, digits = 2) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en');
  return Number(v.toFixed(digits)).toString();
}
function pct(v) { return v === null || v === undefined ? '–' : fmt(v * 100, 1) + ' %'; }
function ms(v) { return v === null || v === undefined ? '–' : fmt(v * 1000, 1) + ' ms'; }
function ago(t) { return t ? new Date(t).toLocaleTimeString() : ''; }

// ---------- API ----------
function headers(extra) {
  const hs = Object.assign({ Accept: 'application/json' }, extra || {});
  if (state.token) hs.Authorization = 'Bearer ' + state.token;
  return hs;
}
async function getJSON(path) {
  const r = await fetch(path, { headers: headers(), cache: 'no-store', credentials: 'same-origin' });
  if (r.status === 401) { askToken(); throw new Error(path + ': the admin listener wants a token'); }
  const body = await r.json().catch(() => null);
  if (!r.ok) throw new Error(path + ': ' + (body && body.error ? body.error : r.status));
  return body;
}
async function csrf() {
  if (!state.csrf) state.csrf = (await getJSON('/csrf_token')).csrf_token;
  return state.csrf;
}
// A change: JSON body, X-CSRF-Token, the bearer token when one was given. {ok, status, body}.
async function post(path, payload) {
  const send = async () => fetch(path, {
    method: 'POST', cache: 'no-store', credentials: 'same-origin',
    headers: headers({ 'Content-Type': 'application/json', 'X-CSRF-Token': await csrf() }),
    body: JSON.stringify(payload),
  });
  let r = await send();
  if (r.status === 403) {  // a restarted gateway has a new CSRF token: fetch it once more
    const b = await r.clone().json().catch(() => null);
    if (b && /X-CSRF-Token/.test(b.error || '')) { state.csrf = null; r = await send(); }
  }
  if (r.status === 401) askToken();
  const body = await r.json().catch(() => null);
  return { ok: r.ok, status: r.status, body };
}
function askToken() {
  const form = document.getElementById('token-form');
  form.hidden = false;
}
function showAnswer(el, res, okText) {
  el.classList.remove('ok', 'bad');
  if (res.ok) {
    el.classList.add('ok');
    el.textContent = okText(res.body);
    return;
  }
  el.classList.add('bad');
  const b = res.body || {};
  const details = Array.isArray(b.errors) && b.errors.length ? ' — ' + b.errors.join('; ') : '';
  el.textContent = 'refused (' + res.status + '): ' + (b.error || 'no answer') + details;
}

// ---------- charts ----------
// series: [{label, cls, dash, t: [], v: []}] (v may hold nulls: the line breaks there).
function chart(title, series, unit, scale = 1) {
  const W = 300, H = 110, L = 52, B = 14, T = 6, R = 6;
  const fig = h('figure', { class: 'chart' });
  let points = 0, max = 0, t0 = Infinity;
  const t1 = state.nowMs || Date.now();
  for (const s of series) {
    s.t.forEach((t, i) => {
      if (s.v[i] === null || s.v[i] === undefined) return;
      points++;
      max = Math.max(max, s.v[i] * scale);
      t0 = Math.min(t0, t);
    });
  }
  t0 = Math.max(Math.min(t0, t1 - 60000), t1 - WINDOW_MS);
  const top = max > 0 ? max * 1.15 : 1;
  fig.dataset.points = points;
  const latest = series.map((s) => {
    for (let i = s.v.length - 1; i >= 0; i--) if (s.v[i] !== null && s.v[i] !== undefined) return s.label + ' ' + fmt(s.v[i] * scale) + unit;
    return s.label + ' no data';
  }).join(', ');
  fig.append(h('figcaption', { text: title }));
  const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': title + ': ' + latest });
  g.append(svg('line', { class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B }));
  g.append(svg('line', { class: 'axis', x1: L, y1: T, x2: L, y2: H - B }));
  const lbl = (x, y, text, anchor) => { const e = svg('text', { x, y, 'text-anchor': anchor }); e.textContent = text; g.append(e); };
  lbl(L - 3, T + 8, Number(top.toPrecision(3)).toString() + unit, 'end');
  lbl(L - 3, H - B, '0', 'end');
  lbl(L, H - 2, '−' + Math.round((t1 - t0) / 60000 * 10) / 10 + ' min', 'start');
  lbl(W - R, H - 2, 'now', 'end');
  const x = (t) => L + (W - L - R) * (t - t0) / Math.max(1, t1 - t0);
  const y = (v) => H - B - (H - B - T) * (v * scale) / top;
  for (const s of series) {
    let seg = [];
    const flush = () => {
      if (seg.length === 1) seg.push([seg[0][0] + 1, seg[0][1]]);
      if (seg.length > 1) g.append(svg('polyline', { class: `line ${s.cls}${s.dash ? ' dash' : ''}`, points: seg.map((p) => p.join(',')).join(' ') }));
      seg = [];
    };
    s.t.forEach((t, i) => {
      const v = s.v[i];
      if (v === null || v === undefined || t < t0) { flush(); return; }
      seg.push([x(t).toFixed(1), y(v).toFixed(1)]);
    });
    flush();
  }
  if (!points) lbl((W + L) / 2, H / 2, 'no data yet', 'middle');
  fig.append(g);
  fig.append(h('div', { class: 'legend' }, series.map((s) => h('span', {}, h('span', { class: 'swatch ' + s.cls }), s.label + (s.dash ? ' (dashed)' : '')))));
  return fig;
}

// ---------- routes ----------
function ruleKey(r) { return `${r.kind}/${r.namespace}/${r.name}/${r.rule}`; }
function rolloutFor(rule) {
  return state.rollouts.find((ro) => ro.target && ro.target.kind === rule.kind && ro.target.namespace === rule.namespace &&
    ro.target.name === rule.name);
}
function renderRoutes() {
  const rules = (state.weights && state.weights.rules) || [];
  const sig = rules.map((r) => ruleKey(r) + ':' + r.backends.map((b) => b.name).join(',')).join(';');
  if (sig !== state.ruleSig) {
    state.ruleSig = sig;
    if (!rules.length) {
      replace('routes-body', h('p', { class: 'empty', text: 'No route rule sends traffic to backends: nothing to weigh. Routes come from HTTPRoute and VirtualService documents.' }));
      return;
    }
    replace('routes-body', rules.map(buildRule));
  }
  for (const r of rules) updateRule(r);
}
function buildRule(rule) {
  const key = ruleKey(rule);
  const rows = rule.backends.map((b, i) => {
    const label = `${b.name} weight`;
    const range = h('input', { type: 'range', min: 0, max: 100, step: 1, 'aria-label': label + ' (slider)', 'data-backend': b.name, 'data-role': 'slider' });
    const num = h('input', { type: 'number', min: 0, max: 1000000, step: 1, 'aria-label': label, 'data-backend': b.name, 'data-role': 'number' });
    const onInput = (ev) => linkPartner(key, rule, i, Number(ev.target.value), ev.target);
    range.addEventListener('input', onInput);
    num.addEventListener('input', onInput);
    range.addEventListener('change', () => scheduleWeights(key, rule));
    num.addEventListener('change', () => scheduleWeights(key, rule));
    return h('tr', { 'data-backend': b.name },
      h('th', { scope: 'row' }, h('span', { class: 'swatch c' + (i % 6) }), b.name),
      h('td', { text: b.kind }),
      h('td', {}, range), h('td', {}, num),
      h('td', { class: 'num', 'data-role': 'percent' }));
  });
  const answer = h('output', { class: 'answer', role: 'status', 'aria-live': 'polite', 'data-role': 'answer' });
  const rollback = h('button', { type: 'button', class: 'danger', 'data-role': 'rollback', onclick: () => rollBack(key, rule, answer) }, 'Roll back');
  return h('div', { class: 'card', 'data-rule': key },
    h('h3', {}, `${rule.kind} ${rule.namespace}/${rule.name}`, h('span', { class: 'hint', text: ` rule ${rule.rule_name || rule.rule} · ${rule.source || ''}` })),
    h('table', {}, h('thead', {}, h('tr', {}, h('th', { text: 'backend' }), h('th', { text: 'kind' }), h('th', { text: 'slider' }),
      h('th', { text: 'weight' }), h('th', { text: 'share' }))), h('tbody', {}, rows)),
    h('div', { class: 'actions' }, rollback, h('span', { class: 'hint', 'data-role': 'stable' })),
    answer);
}
function ruleCard(key) { return document.querySelector(`[data-rule="${CSS.escape(key)}"]`); }
function updateRule(rule) {
  const card = ruleCard(ruleKey(rule));
  if (!card) return;
  const busy = state.dirty.has(ruleKey(rule));
  for (const b of rule.backends) {
    const row = card.querySelector(`tr[data-backend="${CSS.escape(b.name)}"]`);
    if (!row) continue;
    row.querySelector('[data-role="percent"]').textContent = fmt(b.percent, 2) + ' %';
    if (!busy) {
      row.querySelector('[data-role="slider"]').value = Math.min(100, b.weight);
      row.querySelector('[data-role="number"]').value = b.weight;
    }
  }
  const ro = rolloutFor(rule);
  card.querySelector('[data-role="stable"]').textContent =
    `puts 100 % on ${stableOf(rule)}` + (ro ? ` (stable of Rollout ${ro.namespace}/${ro.name}, ${ro.phase})` : ' (the rule\'s first backend)');
}
function stableOf(rule) {
  const ro = rolloutFor(rule);
  if (ro && rule.backends.some((b) => b.name === ro.stable)) return ro.stable;
  return rule.backends[0].name;
}
// With two backends the other one takes the rest of 100.
function linkPartner(key, rule, i, value, source) {
  const card = ruleCard(key);
  const row = card.querySelectorAll('tbody tr')[i];
  for (const el of row.querySelectorAll('input')) if (el !== source) el.value = Math.min(el.type === 'range' ? 100 : 1e6, value);
  if (rule.backends.length === 2 && value <= 100) {
    const other = card.querySelectorAll('tbody tr')[1 - i];
    for (const el of other.querySelectorAll('input')) el.value = 100 - value;
  }
  state.dirty.add(key);
}
// Keyboard arrows fire a change per press: send the last one 350 ms after the others.
function scheduleWeights(key, rule) {
  clearTimeout(state.pending.get(key));
  state.pending.set(key, setTimeout(() => sendWeights(key, rule), 350));
}
async function sendWeights(key, rule) {
  const card = ruleCard(key);
  const weights = {};
  for (const row of card.querySelectorAll('tbody tr')) weights[row.dataset.backend] = Number(row.querySelector('[data-role="number"]').value);
  await applyWeights(key, rule, weights, card.querySelector('[data-role="answer"]'));
}
async function applyWeights(key, rule, weights, answer) {
  answer.classList.remove('ok', 'bad');
  answer.textContent = 'sending…';
  const res = await post('/weights', { kind: rule.kind, namespace: rule.namespace, name: rule.name, rule: rule.rule, weights });
  showAnswer(answer, res, (b) => {
    const r = (b.rules || []).find((x) => x.rule === rule.rule) || (b.rules || [])[0];
    const split = r ? r.backends.map((x) => `${x.name} ${fmt(x.percent)} %`).join(', ') : '';
    return `applied: config version ${b.version}${split ? ' — ' + split : ''}`;
  });
  // The inputs show what serves again (the new weights, or the old ones after a refusal).
  state.dirty.delete(key);
  state.pending.delete(key);
  await refresh();
}
async function rollBack(key, rule, answer) {
  const stable = stableOf(rule);
  const weights = {};
  for (const b of rule.backends) weights[b.name] = b.name === stable ? 100 : 0;
  clearTimeout(state.pending.get(key));
  state.dirty.add(key);
  await applyWeights(key, rule, weights, answer);
}

// ---------- versions ----------
function mergeVersions(v) {
  state.nowMs = v.now_ms || state.nowMs;
  for (const s of v.versions) {
    const key = `${s.route}|${s.backend}|${s.version}`;
    let cur = state.versions.get(key);
    if (!cur) {
      cur = { route: s.route, backend: s.backend, version: s.version, points: {} };
      for (const k of Object.keys(s.points)) cur.points[k] = [];
      state.versions.set(key, cur);
    }
    cur.last = s.last;
    cur.requests_total = s.requests_total;
    const lastT = cur.points.t.length ? cur.points.t[cur.points.t.length - 1] : 0;
    s.points.t.forEach((t, i) => {
      if (t <= lastT) return;
      for (const k of Object.keys(s.points)) (cur.points[k] || (cur.points[k] = [])).push(s.points[k][i]);
    });
    const cut = state.nowMs - WINDOW_MS;
    let drop = 0;
    while (drop < cur.points.t.length && cur.points.t[drop] < cut) drop++;
    if (drop) for (const k of Object.keys(cur.points)) cur.points[k].splice(0, drop);
  }
}
function renderVersions() {
  const byRoute = new Map();
  for (const s of state.versions.values()) {
    if (!byRoute.has(s.route)) byRoute.set(s.route, []);
    byRoute.get(s.route).push(s);
  }
  if (!byRoute.size) {
    replace('versions-body', h('p', { class: 'empty', text: 'No per-version series yet: they appear with the first route that sends to a backend.' }));
    return;
  }
  const out = [];
  for (const [route, list] of byRoute) {
    const series = (field, extra) => list.map((s, i) => Object.assign({ label: s.version === s.backend ? s.backend : `${s.backend} (${s.version})`, cls: 'c' + (i % 6), t: s.points.t, v: s.points[field] }, extra || {}));
    const table = h('table', { class: 'versions-table' },
      h('thead', {}, h('tr', {}, ['version', 'weight', 'req/s', 'share', 'errors', 'p50', 'p99', 'TTFT p90', 'TPOT p90', 'out tok/s', 'requests'].map((t) => h('th', { text: t })))),
      h('tbody', {}, list.map((s, i) => {
        const l = s.last || {};
        return h('tr', { 'data-version': s.version, 'data-backend': s.backend },
          h('th', { scope: 'row' }, h('span', { class: 'swatch c' + (i % 6) }), s.version === s.backend ? s.backend : `${s.backend} (${s.version})`),
          h('td', { class: 'num', text: l.weight === null || l.weight === undefined ? '–' : fmt(l.weight, 1) + ' %' }),
          h('td', { class: 'num', text: fmt(l.rps) }), h('td', { class: 'num', text: pct(l.share) }),
          h('td', { class: 'num', text: pct(l.error_rate) }), h('td', { class: 'num', text: ms(l.p50_seconds) }),
          h('td', { class: 'num', text: ms(l.p99_seconds) }), h('td', { class: 'num', text: ms(l.ttft_p90_seconds) }),
          h('td', { class: 'num', text: ms(l.tpot_p90_seconds) }), h('td', { class: 'num', text: fmt(l.output_tokens_per_second, 1) }),
          h('td', { class: 'num', text: fmt(s.requests_total, 0) }));
      })));
    const charts = h('div', { class: 'charts' },
      chart('Requests per second', series('rps'), ''),
      chart('Share of traffic and weight (dashed)', [...series('share'), ...series('weight', { dash: true }).map((s) => Object.assign(s, { v: s.v.map((x) => (x === null ? null : x / 100)) }))], ' %', 100),
      chart('Error rate', series('error_rate'), ' %', 100),
      chart('Latency p99 and p50 (dashed)', [...series('p99_seconds'), ...series('p50_seconds', { dash: true })], ' ms', 1000),
      chart('Time to first token p90', series('ttft_p90_seconds'), ' ms', 1000),
      chart('Time per output token p90', series('tpot_p90_seconds'), ' ms', 1000),
      chart('Output tokens per second', series('output_tokens_per_second'), ''));
    out.push(h('div', { class: 'card', 'data-route': route }, h('h3', { text: 'Route ' + route }), table, charts));
  }
  replace('versions-body', out);
}

// ---------- rollouts ----------
function rolloutKey(r) { return `${r.namespace}/${r.name}`; }
function noteRollout(r) {
  const key = rolloutKey(r);
  if (r.analysis && r.analysis.time) {
    const list = state.verdicts.get(key) || [];
    if (!list.length || list[0].time !== r.analysis.time) list.unshift(r.analysis);
    state.verdicts.set(key, list.slice(0, 100));
  }
  const w = state.rolloutWeights.get(key) || { t: [], v: [] };
  w.t.push(state.nowMs || Date.now());
  w.v.push(r.canary_weight);
  state.rolloutWeights.set(key, w);
}
function renderRollouts() {
  const list = state.rollouts;
  const sig = list.map(rolloutKey).join(',');
  if (!list.length) {
    state.rolloutSig = sig;
    replace('rollouts-body', h('p', { class: 'empty', text: 'No Rollouts. A Rollout document (kind: Rollout, docs/ROLLOUTS.md) walks a canary through weight steps with an analysis at each; its steps, verdicts and events show here.' }));
    return;
  }
  if (sig !== state.rolloutSig) {
    state.rolloutSig = sig;
    replace('rollouts-body', list.map(buildRollout));
  }
  for (const r of list) updateRollout(r);
}
function buildRollout(r) {
  const key = rolloutKey(r);
  const answer = h('output', { class: 'answer', role: 'status', 'aria-live': 'polite', 'data-role': 'answer' });
  const reason = h('input', { type: 'text', 'aria-label': `reason for ${r.name}`, placeholder: 'reason (optional)' });
  const buttons = ACTIONS.map((a) => h('button', { type: 'button', 'data-action': a, class: a === 'abort' ? 'danger' : null,
    onclick: async () => {
      answer.textContent = a + '…';
      const res = await post('/rollouts/' + a, { name: r.name, namespace: r.namespace, reason: reason.value || 'from the console' });
      showAnswer(answer, res, (b) => { const x = (b.rollouts || [])[0] || {}; return `${a}: ${x.phase || 'done'}, step ${x.step}, canary ${x.canary_weight} %`; });
      await refresh();
    } }, a[0].toUpperCase() + a.slice(1)));
  return h('div', { class: 'card', 'data-rollout': key },
    h('h3', {}, `Rollout ${key} `, h('span', { 'data-role': 'phase' })),
    h('p', { 'data-role': 'summary' }),
    h('ol', { class: 'steps', 'aria-label': 'steps', 'data-role': 'steps' }),
    h('div', { class: 'actions' }, buttons, reason),
    answer,
    h('div', { class: 'charts', 'data-role': 'chart' }),
    h('h4', { text: 'Analysis verdicts (newest first)' }),
    h('div', { 'data-role': 'verdicts' }),
    h('h4', { text: 'Events' }),
    h('div', { 'data-role': 'events' }));
}
function side(s) {
  if (!s) return '–';
  return `${s.requests} req, errors ${pct(s.error_rate)}, p99 ${ms(s.p99_latency_seconds)}, TTFT p90 ${ms(s.ttft_p90_seconds)}, TPOT p90 ${ms(s.tpot_p90_seconds)}`;
}
function updateRollout(r) {
  const card = document.querySelector(`[data-rollout="${CSS.escape(rolloutKey(r))}"]`);
  if (!card) return;
  const q = (role) => card.querySelector(`[data-role="${role}"]`);
  q('phase').replaceChildren(h('span', { class: 'phase phase-' + r.phase, 'data-phase': r.phase, text: r.phase }));
  const t = r.target || {};
  q('summary').textContent = `${t.kind} ${t.namespace}/${t.name}: ${r.stable} → ${r.canary}, canary at ${r.canary_weight} %` +
    (r.weight_applied ? '' : ' (not applied yet)') + `, step ${r.step} of ${r.steps.length}`;
  q('steps').replaceChildren(...r.steps.map((s, i) => {
    const n = i + 1;
    const current = n === r.step && r.phase !== 'Completed';
    const done = n < r.step || r.phase === 'Completed';
    const text = s.setWeight !== undefined ? `${n}. weight ${s.setWeight} %` : `${n}. pause ${s.pause && s.pause.duration_ms ? s.pause.duration_ms / 1000 + ' s' : '(until resumed)'}`;
    return h('li', { class: done ? 'done' : null, 'aria-current': current ? 'step' : null, text });
  }));
  for (const b of card.querySelectorAll('button[data-action]')) {
    const a = b.dataset.action;
    const terminal = r.phase === 'Completed' || r.phase === 'Aborted';
    b.disabled = (a === 'retry' && r.phase !== 'Aborted') || (a === 'resume' && r.phase !== 'Paused') ||
      (a === 'pause' && r.phase !== 'Progressing') || ((a === 'promote' || a === 'abort') && terminal);
  }
  // Weight over time: the route's own record (15 min) when it is an HTTPRoute or VirtualService, else this page's.
  let weight = null;
  for (const s of state.versions.values())
    if (s.route === `${t.namespace}/${t.name}` && (s.backend === r.canary || s.version === r.canary)) weight = { t: s.points.t, v: s.points.weight };
  if (!weight || !weight.v.some((x) => x !== null)) weight = state.rolloutWeights.get(rolloutKey(r));
  q('chart').replaceChildren(chart(`Canary weight (${r.canary})`, [{ label: r.canary, cls: 'c1', t: weight.t, v: weight.v }], ' %'));
  const verdicts = state.verdicts.get(rolloutKey(r)) || [];
  q('verdicts').replaceChildren(verdicts.length ? h('table', {},
    h('thead', {}, h('tr', {}, ['time', 'verdict', 'canary', 'stable', 'reasons'].map((x) => h('th', { text: x })))),
    h('tbody', {}, verdicts.slice(0, 20).map((v) => h('tr', { 'data-verdict': v.verdict },
      h('td', { text: new Date(v.time).toLocaleTimeString() }),
      h('td', {}, h('span', { class: 'verdict verdict-' + v.verdict, text: v.verdict })),
      h('td', { text: side(v.canary) }), h('td', { text: side(v.stable) }),
      h('td', { text: (v.reasons || []).join('; ') + (v.failures !== undefined ? ` (failures ${v.failures}/${v.failure_limit})` : '') })))))
    : h('p', { class: 'empty', text: 'No verdict yet: the first comes after one analysis interval with traffic.' }));
  const events = (r.events || []).slice().reverse().slice(0, 30);
  q('events').replaceChildren(events.length ? h('table', {},
    h('thead', {}, h('tr', {}, ['time', 'type', 'step', 'weight', 'reason'].map((x) => h('th', { text: x })))),
    h('tbody', {}, events.map((e) => h('tr', {}, h('td', { text: new Date(e.time).toLocaleTimeString() }), h('td', { text: e.type }),
      h('td', { class: 'num', text: e.step }), h('td', { class: 'num', text: e.weight + ' %' }), h('td', { text: e.message })))))
    : h('p', { class: 'empty', text: 'No events yet.' }));
}

// ---------- pools ----------
function endpointState(e, scrape) {
  if (e.health_flags === '/failed_outlier_check' || e.ejected) return 'ejected';
  if (e.health_flags !== 'healthy') return 'unhealthy';
  if (scrape && scrape.enabled && e.stale) return 'stale';
  return 'ready';
}
function renderPools() {
  const p = state.pools;
  const pools = (p && p.pools) || [];
  if (!pools.length) {
    replace('pools-body', h('p', { class: 'empty', text: 'No InferencePools in the configuration: routes send to plain Services only.' }));
    return;
  }
  const now = Date.now();
  replace('pools-body', pools.map((pool) => {
    const d = pool.decisions || {};
    const prev = state.lastDecisions.get(pool.name);
    let rates = state.decisionRates.get(pool.name) || {};
    if (prev && now - prev.at >= 900) {
      rates = {};
      for (const k of ['picked', 'fallback', 'shed', 'no_endpoint']) rates[k] = Math.max(0, (d[k] - prev.counts[k]) * 1000 / (now - prev.at));
      state.decisionRates.set(pool.name, rates);
      state.lastDecisions.set(pool.name, { at: now, counts: d });
    } else if (!prev) state.lastDecisions.set(pool.name, { at: now, counts: d });
    const picker = pool.endpoint_picker ? `external EPP ${pool.endpoint_picker.target} (${pool.endpoint_picker.failure_mode}${pool.endpoint_picker.ready === false ? ', not ready' : ''})` : `built-in picker: ${pool.picker.profile}`;
    return h('div', { class: 'card', 'data-pool': pool.name },
      h('h3', {}, `InferencePool ${pool.name} `, h('span', { class: 'state state-' + (pool.ready ? 'ready' : 'unhealthy'), text: pool.ready ? 'ready' : 'no ready endpoint' })),
      h('p', { text: picker + (p.scrape && !p.scrape.enabled ? ' · model-server metrics not scraped' : '') }),
      h('table', { 'aria-label': 'picker decisions' },
        h('thead', {}, h('tr', {}, ['decisions', 'picked', 'fallback', 'shed', 'no endpoint'].map((x) => h('th', { text: x })))),
        h('tbody', {},
          h('tr', {}, h('th', { scope: 'row', text: 'per second' }), ['picked', 'fallback', 'shed', 'no_endpoint'].map((k) => h('td', { class: 'num', text: fmt(rates[k]) }))),
          h('tr', {}, h('th', { scope: 'row', text: 'since start' }), ['picked', 'fallback', 'shed', 'no_endpoint'].map((k) => h('td', { class: 'num', text: fmt(d[k], 0) }))))),
      h('table', { 'aria-label': 'endpoints' },
        h('thead', {}, h('tr', {}, ['endpoint', 'address', 'state', 'waiting', 'KV use', 'running', 'in flight', 'prefill', 'adapters', 'scraped', 'last scrape error'].map((x) => h('th', { text: x })))),
        h('tbody', {}, pool.endpoints.map((e) => {
          const st = endpointState(e, p.scrape);
          return h('tr', { 'data-endpoint': e.name },
            h('th', { scope: 'row', text: e.name }), h('td', { text: e.address }),
            h('td', {}, h('span', { class: 'state state-' + st, text: st })),
            h('td', { class: 'num', text: fmt(e.queue_size, 0) }), h('td', { class: 'num', text: pct(e.kv_cache_usage) }),
            h('td', { class: 'num', text: fmt(e.running_requests, 0) }), h('td', { class: 'num', text: fmt(e.rq_active, 0) }),
            h('td', { class: 'num', text: e.prefill_bytes ? fmt(e.prefill_bytes / 1024, 1) + ' KiB' : '0' }),
            h('td', { text: [...(e.running_adapters || []), ...(e.waiting_adapters || []).map((a) => a + ' (waiting)')].join(', ') || '–' }),
            h('td', { text: e.scraped_ms_ago === null ? 'never' : fmt(e.scraped_ms_ago / 1000, 1) + ' s ago' }),
            h('td', { class: e.last_error ? 'err' : null, text: e.last_error || '' }));
        }))));
  }));
}

// ---------- loop ----------
let since = 0;
let refreshing = null;
async function refreshOnce() {
  const status = document.getElementById('status');
  try {
    const [weights, versions, rollouts, pools] = await Promise.all([
      getJSON('/weights'), getJSON('/versions' + (since ? '?since=' + since : '')), getJSON('/rollouts'), getJSON('/pools')]);
    state.weights = weights;
    mergeVersions(versions);
    since = versions.now_ms || since;
    state.rollouts = rollouts.rollouts || [];
    state.rollouts.forEach(noteRollout);
    state.pools = pools;
    renderRoutes();
    renderVersions();
    renderRollouts();
    renderPools();
    status.dataset.state = 'live';
    status.textContent = `live · config version ${weights.version} · updated ${ago(Date.now())}`;
    document.body.dataset.ready = '1';
  } catch (e) {
    status.dataset.state = 'error';
    status.textContent = 'cannot read the admin API: ' + e.message;
  }
}
function refresh() {
  if (!refreshing) refreshing = refreshOnce().finally(() => { refreshing = null; });
  return refreshing;
}
document.getElementById('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  state.token = document.getElementById('token').value.trim();
  sessionStorage.setItem('infergate-admin-token', state.token);
  state.csrf = null;
  refresh();
});
refresh();
setInterval(refresh, POLL_MS);
