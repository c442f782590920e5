// Clinician console: live view and controls of one VR session. Plain ES2020, no framework.
// The API is described in docs/console.md. Nothing here is fetched from outside this server.
'use strict';
(() => {

// ===== Helpers ==================================================================================
const $ = (sel) => document.querySelector(sel);
const $$ = (sel) => Array.from(document.querySelectorAll(sel));
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** A new element; attrs: class, text, on<event>, anything else as an attribute. Never innerHTML. */
function el(tag, attrs = {}, ...kids) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const kid of kids) if (kid != null) node.append(kid);
  return node;
}

function mmss(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.floor(seconds));
  const pad = (n) => String(n).padStart(2, '0');
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

const fmtNum = (v, digits) => (v == null || !Number.isFinite(+v) ? '—' : (+v).toFixed(digits));
const BANDS = ['warm', 'neutral', 'curt', 'critical', 'hostile'];
const BAND_UPPER = [0.2, 0.4, 0.6, 0.8, 1.0001];
const bandFor = (x) => BANDS[BAND_UPPER.findIndex((u) => x < u)] || BANDS[BANDS.length - 1];

// ===== The token: on a network address the server took it from the address of the page's first
// load, set its cookie and sent the browser back to the address without it. Every request and the
// WebSocket carry that cookie; the page never sees the token (the API does not take it in an address).
function api(path, opts = {}) {
  return fetch(path, { ...opts, credentials: 'same-origin', cache: 'no-store' });
}

// ===== Session data =============================================================================
const S = {
  info: null, infoKey: '', state: null,
  seen: new Set(), lastSeq: 0,            // events already handled, by seq
  ratings: [], markers: [],               // for the chart
  latest: { suds: null, pain: null },     // from rating events; the state's values win when present
  connected: false, everLive: false, helloSeen: false,
};
const isDistraction = () => S.info?.kind === 'distraction';

function allowed(command) {
  if (command === 'rating' || command === 'say') return true;
  return !!S.info && Array.isArray(S.info.commands) && S.info.commands.includes(command);
}

// ===== Commands: POST with a fresh id; a retry keeps the id, so the server applies it once ========
const TAG = Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) => b.toString(16).padStart(2, '0')).join('');
let counter = 0;
const logEntries = new Map();   // id -> log <li>
// Panic, stop and pause are tried until the server answers: the network dropping, the server
// busy or starting again (429, 5xx), an answer lost on its way back. Other commands: 4 tries.
const URGENT = new Set(['panic', 'stop', 'pause']);
const TRY_AGAIN = new Set([408, 425, 429, 500, 502, 503, 504]);
const TRY_TIMEOUT_MS = 5000;          // the server answers within about 2 s ("queued" at worst)
const BACKOFF_MS = [250, 500, 1000, 2000];
const retrying = new Map();           // urgent command -> {stop()} of its tries still going on

async function send(command, fields = {}) {
  const id = `c-${TAG}-${++counter}`;
  const entry = logCommand(id, command, fields);
  if (!allowed(command)) { setLogStatus(entry, 'refused', 'not available in this session'); return null; }
  if (command === 'resume') retrying.get('pause')?.stop();   // a pause still being tried must not land after this
  const urgent = URGENT.has(command), me = { stopped: false, stop() { this.stopped = true; } };
  if (urgent) retrying.set(command, me);
  const body = JSON.stringify({ command, id, ...fields });
  // (While trying, the log keeps a status the record already gave this id: it came by the socket.)
  const progress = (status, why) => { if (!entry.dataset.recorded) setLogStatus(entry, status, why); };
  try {
    for (let attempt = 0; ; attempt++) {
      const got = await tryOnce(body);
      if (got.answer) {
        setLogStatus(entry, got.answer.status || 'applied', got.answer.reason || (attempt ? `answered at try ${attempt + 1}` : ''));
        return got.answer;
      }
      if (!got.again) { setLogStatus(entry, 'error', got.why); return null; }
      if (me.stopped) { progress('failed', `${got.why}; not tried again: resume was sent after it`); return null; }
      if (S.state?.mode === 'ended') { progress('ended', 'the session has ended'); return null; }
      if (!urgent && attempt >= 3) { progress('failed', got.why); return null; }
      progress('retrying', `${got.why}; try ${attempt + 2}${urgent ? ', until the console answers' : ' of 4'}`);
      await sleep(BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)] * (0.8 + 0.4 * Math.random()));
    }
  } finally {
    if (retrying.get(command) === me) retrying.delete(command);
  }
}

/** One POST: {answer} when the server answered the command, else {again, why}. */
async function tryOnce(body) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), TRY_TIMEOUT_MS);
  try {
    const r = await api('/api/command', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body,
      signal: abort.signal });
    const text = await r.text();
    let answer = null;
    try { answer = JSON.parse(text); } catch (_) { /* a plain-text error, from a proxy say */ }
    if (r.ok && answer) return { answer };
    const why = answer ? (answer.error || answer.message || answer.reason || JSON.stringify(answer)) : text;
    const again = TRY_AGAIN.has(r.status) && !answer?.ended;   // (503 with ended: the session is over)
    return { again, why: `${r.status}${why ? ': ' + String(why).slice(0, 160) : ''}` };
  } catch (err) {
    return { again: true, why: abort.signal.aborted ? 'no answer within 5 s' : `network: ${err.message}` };
  } finally {
    clearTimeout(timer);
  }
}

function describe(command, fields) {
  const extra = fields.scale ? `${fields.scale} ${fields.value}` : fields.value != null ? fields.value
    : fields.text ? `“${String(fields.text).slice(0, 40)}”` : '';
  return `${command}${extra !== '' ? ' ' + extra : ''}${fields.human ? ' by ' + fields.human : ''}`;
}

function logCommand(id, command, fields, time, source) {
  time = time || mmss(S.state?.t_s);
  const text = describe(command, fields) + (source && source !== 'console' ? ` · ${source}` : '');
  const li = el('li', { 'data-id': id }, el('span', { class: 't', text: time }),
    el('span', { class: 'c', text, title: id }),
    el('span', { class: 's sending', text: 'sending' }));
  const log = $('#log');
  log.prepend(li);
  while (log.children.length > 60) {
    logEntries.delete(log.lastElementChild.dataset.id);
    log.lastElementChild.remove();
  }
  logEntries.set(id, li);
  return li;
}

function setLogStatus(li, status, reason) {
  Object.assign(li.querySelector('.s'), { textContent: status, className: `s ${status}` });
  li.querySelector('.why')?.remove();
  if (reason) li.append(el('span', { class: 'why', text: reason }));
}

// ===== WebSocket: live state, events and mirror; reconnects by itself ===========================
let ws = null, wsDelay = 500, lastMessage = 0, mirrorUrl = null;

function wsUrl() {
  const q = new URLSearchParams();
  if (S.helloSeen) q.set('since', String(S.lastSeq));
  const qs = q.toString();
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/api/ws${qs ? '?' + qs : ''}`;
}

function connect() {
  let sock;
  try { sock = new WebSocket(wsUrl()); } catch (_) { reconnectLater(); return; }
  ws = sock;
  sock.binaryType = 'blob';
  sock.onopen = () => {
    wsDelay = 500; lastMessage = Date.now();
    setConnected(true);
    if (document.hidden) wsSend({ type: 'mirror', on: false });
  };
  sock.onmessage = (ev) => {
    lastMessage = Date.now();
    if (typeof ev.data === 'string') onText(ev.data); else showMirror(ev.data);
  };
  sock.onclose = () => { if (ws === sock) { ws = null; reconnectLater(); setConnected(false); } };
}

const reconnectLater = () => { setTimeout(connect, wsDelay); wsDelay = Math.min(wsDelay * 2, 5000); };

function wsSend(msg) { if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg)); }

function onText(text) {
  let m;
  try { m = JSON.parse(text); } catch (_) { return; }
  if (m.type === 'hello') {
    if (m.info) applyInfo(m.info);
    applyEvents(m.events || [], S.helloSeen);   // the first backlog is history: no toasts for it
    S.helloSeen = true;
    if (m.state) applyState(m.state);
  } else if (m.type === 'state') applyState(m.state);
  else if (m.type === 'events') applyEvents(m.events || [], true);
}

function setConnected(on) {
  S.connected = on;
  if (on) S.everLive = true;
  document.body.dataset.connected = on ? '1' : '0';
  const conn = $('#conn');
  conn.textContent = on ? 'live' : S.everLive || wsDelay > 500 ? 'reconnecting…' : 'connecting…';
  conn.classList.toggle('was-live', !on && S.everLive);
  $('#mirror-msg').textContent = on ? 'waiting for the picture…' : 'reconnecting… (controls still work)';
}

function showMirror(data) {
  const url = URL.createObjectURL(new Blob([data], { type: 'image/jpeg' }));
  const old = mirrorUrl;
  mirrorUrl = url;
  $('#mirror').src = url;
  if (old) URL.revokeObjectURL(old);
  $('#mirror-wrap').classList.add('has-pic');
}

// A socket silent for 20 s (the mirror alone comes 4 times a second) is dead: start again.
setInterval(() => {
  if (ws && S.connected && !document.hidden && Date.now() - lastMessage > 20000) ws.close();
}, 5000);

// While the socket is down, the plain HTTP API keeps the page current.
setInterval(async () => {
  if (S.connected) return;
  try {
    if (!S.info) applyInfo(await (await api('/api/info')).json());
    const ev = await (await api(`/api/events?since=${S.lastSeq}`)).json();
    applyEvents(ev.events || [], S.helloSeen);
    applyState(await (await api('/api/state')).json());
  } catch (_) { /* the server is away; the socket keeps trying */ }
}, 2000);

document.addEventListener('visibilitychange', () => {
  lastMessage = Date.now();
  wsSend({ type: 'mirror', on: !document.hidden });
});

// ===== Events ===================================================================================
function applyEvents(list, live) {
  for (const e of list) {
    if (!e || typeof e.seq !== 'number' || S.seen.has(e.seq)) continue;
    S.seen.add(e.seq);
    S.lastSeq = Math.max(S.lastSeq, e.seq);
    onEvent(e, live);
  }
  scheduleChart();
}

function onEvent(e, live) {
  const d = e.data || {}, t = e.t_s;
  switch (e.kind) {
    case 'rating':
      if (d.scale === 'suds' || d.scale === 'pain') {
        S.ratings.push({ t, scale: d.scale, value: +d.value });
        S.latest[d.scale] = +d.value;
      }
      break;
    case 'step_started': S.markers.push({ t, kind: 'step', label: `${(d.index ?? 0) + 1}` }); break;
    case 'phase_started': S.markers.push({ t, kind: 'phase', label: d.name || `phase ${(d.index ?? 0) + 1}` }); break;
    case 'panic':
      S.markers.push({ t, kind: 'panic', label: 'panic' });
      transcriptLine(t, null, 'Panic: the safe scene', 'sys');
      break;
    case 'alert': addAlert(e); break;
    case 'utterance': transcriptLine(t, isDistraction() ? 'Companion' : d.speaker || '?', d.text || '', 'human'); break;
    case 'patient_said': patientLine(t, d); break;
    case 'reply_withheld':
      transcriptLine(t, null, `Reply to the patient's turn ${d.said} withheld${d.why === 'corrected' ? ' (corrected)' : ''}.`, 'sys');
      document.querySelector(`[data-said="${+d.said}"]`)?.classList.add('withheld');
      break;
    case 'turn_yielded': transcriptLine(t, null, `${d.human} let the patient speak.`, 'sys'); break;
    case 'dialogue_quiet': transcriptLine(t, null, 'The humans are quiet after a risk alert.', 'sys'); break;
    case 'dialogue_resumed': transcriptLine(t, null, 'Dialogue resumed.', 'sys'); break;
    case 'line_dropped': case 'line_refused':
      transcriptLine(t, null, `Line ${d.line_id || ''} not said: ${d.reason || e.kind}`, 'sys'); break;
    case 'session_ended': transcriptLine(t, null, `Session ended (${d.reason || ''}).`, 'sys'); break;
    case 'hierarchy_completed': if (live) toast('The hierarchy is completed.', 'info'); break;
    case 'rating_refused': if (live) toast(`Rating refused: ${d.scale} ${d.value} (${d.reason || ''})`, 'refused'); break;
    case 'clinician_command': onCommandEvent(d, live, t); break;
  }
}

function onCommandEvent(d, live, t) {
  // Commands from anywhere else (another viewer, the window's keys, the headset, a script) are
  // logged too, with their source and session time; this page's own are already there.
  const li = (d.id ? logEntries.get(d.id) : null) || logCommand(d.id || `ev-${t}-${d.command}`, d.command,
    { value: d.value, text: d.text }, `${mmss(t)}`, d.source);
  setLogStatus(li, d.applied === false ? 'refused' : 'applied', d.reason);
  li.dataset.recorded = '1';
  if (d.applied === false && live) toast(`Refused: ${d.command}${d.reason ? ' — ' + d.reason : ''}`, 'refused');
}

// ===== Info: what does not change during the session ============================================
function applyInfo(info) {
  const key = JSON.stringify(info);
  if (key === S.infoKey) return;
  S.info = info; S.infoKey = key;
  document.body.dataset.kind = info.kind || 'exposure';
  $('#profile').textContent = info.profile || '—';
  $('#scene').textContent = info.scene || '';
  $('#pseudonym').textContent = info.pseudonym || '';
  document.title = `${info.profile || 'Session'} · console`;
  $('#step-kind').textContent = isDistraction() ? 'phase' : 'step';
  $('#t-step-kind').textContent = isDistraction() ? 'in phase' : 'in step';
  $('#intensity').max = String(info.caps?.max_intensity ?? 1);
  $('#goto').replaceChildren(...(info.steps || []).map((s) =>
    el('option', { value: s.index, text: `${s.index + 1} · ${s.name}` })));
  renderPhaseList();
  renderLines();
  renderScaleButtons();
  $('#lines-box').hidden = !(info.lines || []).length;
  renderAvailability();
  scheduleChart();
}

function renderScaleButtons() {
  const [sLo, sHi] = S.info?.scales?.suds || [0, 100];
  const [pLo, pHi] = S.info?.scales?.pain || [0, 10];
  const make = (scale, v) => el('button', { type: 'button', class: 'btn', [`data-${scale}`]: v, 'data-cmd': 'rating',
    text: String(v), title: `Record ${scale.toUpperCase()} ${v}`, onclick: (ev) => rate(scale, v, ev.currentTarget) });
  const suds = [], pain = [];
  for (let v = sLo; v <= sHi; v += 10) suds.push(make('suds', v));
  for (let v = pLo; v <= pHi; v += 1) pain.push(make('pain', v));
  $('#suds-btns').replaceChildren(...suds);
  $('#pain-btns').replaceChildren(...pain);
}

function renderPhaseList() {
  $('#phases').replaceChildren(...(S.info?.phases || []).map((p) => el('li', { 'data-phase': p.index },
    el('span', { text: `${p.index + 1}. ${p.name}` }),
    el('span', { class: 'muted', text: p.expected_min != null ? `~${p.expected_min} min` : '' }))));
}

function renderLines() {
  const lines = S.info?.lines || [];
  const q = $('#line-filter').value.trim().toLowerCase();
  const cap = BANDS.indexOf(bandFor(S.info?.caps?.max_intensity ?? 1));
  const shown = lines.filter((l) => !q || [l.id, l.text, l.band, l.role].some((f) => String(f || '').toLowerCase().includes(q)));
  $('#lines').replaceChildren(...shown.slice(0, 300).map((l) => {
    const over = BANDS.indexOf(l.band) > cap;
    return el('li', {}, el('button', {
      type: 'button', 'data-line-id': l.id, 'data-cmd': 'say_line', 'data-over': over ? '1' : null,
      disabled: over || !allowed('say_line') || S.state?.mode === 'ended',
      title: over ? 'Harsher than the profile\'s cap allows' : `Have ${$('#line-human').value || 'the nearest human'} say this (${l.id})`,
      onclick: () => sayLine(l.id),
    }, el('span', { class: `band band-${l.band}`, text: l.band || '' }),
    el('span', { class: 'role', text: l.role || '' }), l.text || ''));
  }));
}

function renderAvailability() {
  const ended = S.state?.mode === 'ended';
  for (const node of $$('[data-cmd]')) {
    let ok = allowed(node.dataset.cmd) && !ended;
    if (node.dataset.over) ok = false;
    node.disabled = !ok;
  }
  $('#panic').disabled = !allowed('panic') || ended;
}

// ===== State: the session now ===================================================================
let renderPending = false;
function applyState(state) {
  if (!state || typeof state !== 'object') return;
  S.state = state;
  if (!renderPending) { renderPending = true; requestAnimationFrame(renderState); }
}

function renderState() {
  renderPending = false;
  const s = S.state, body = document.body;
  const wasEnded = body.dataset.mode === 'ended';
  body.dataset.mode = s.mode || '';
  $('#mode').textContent = { running: 'running', paused: 'paused', safe: 'safe scene', ended: 'ended' }[s.mode] || s.mode || '—';
  $('#step').textContent = $('#step').title = stepText(s.step);
  const goto = $('#goto');
  if (document.activeElement !== goto && s.step?.index >= 0) goto.value = String(s.step.index);
  $('#t-session').textContent = mmss(s.timers?.session_s ?? s.t_s);
  $('#t-step').textContent = mmss(s.timers?.step_s ?? s.step?.t_s);
  renderIntensity(s);
  renderPause(s.mode);
  renderRatings(s.ratings || {});
  renderHumans(s.humans || []);
  renderGame(s);
  const quiet = !!s.dialogue?.quiet;
  body.classList.toggle('dialogue-quiet', quiet);
  $('#quiet').hidden = !quiet;
  renderListening(s.listening);
  renderPhysio(s.physio);
  if (wasEnded !== (s.mode === 'ended')) renderAvailability();
  // The session spaces pictures out when reading them back would slow the patient's frames.
  const every = s.mirror_every_s, rate = $('#mirror-rate');
  rate.hidden = !(every > 1);
  if (every > 1) rate.textContent = `one picture every ${every < 10 ? every.toFixed(1) : Math.round(every)} s: this computer renders slowly, and the patient's frames come first`;
  if (Math.floor(s.t_s || 0) !== chartSecond) scheduleChart();
}

// The microphone: whether the recogniser is ready, the patient is speaking now, and what it heard.
function renderListening(l) {
  const tag = $('#listening');
  tag.hidden = !l;
  if (!l) return;
  let text, cls;
  if (l.failed) { text = 'not listening: type the patient\'s words'; cls = 'off'; }
  else if (!l.ready) { text = 'microphone: starting'; cls = 'wait'; }
  else if (l.speaking) { text = 'patient speaking'; cls = 'speaking'; }
  else { text = `listening · ${l.heard} heard`; cls = 'on'; }
  tag.textContent = text;
  tag.className = `listening ${cls}`;
  tag.title = `${l.source === 'file' ? 'file microphone' : 'microphone'}: ${l.device}` +
    `; turns ${l.turns}, heard ${l.heard}, not speech ${l.discarded}, lost ${l.lost}` +
    (l.restarts ? `; recogniser restarted ${l.restarts}×` : '') + (l.keep_audio ? '; audio is kept' : '; audio is not kept') +
    (l.failed ? `; ${l.failed}` : '');
}

// Lab streams (heart rate, skin conductance): the latest value and the last two minutes as a trace.
const SVG = 'http://www.w3.org/2000/svg';
function renderPhysio(p) {
  const box = $('#physio');
  const kinds = p ? Object.keys(p) : [];
  box.hidden = !kinds.length;
  for (const kind of kinds) {
    const st = p[kind];
    let row = box.querySelector(`[data-kind="${kind}"]`);
    if (!row) {
      row = document.createElement('div');
      row.className = 'latest physio-row';
      row.dataset.kind = kind;
      const lbl = document.createElement('span');
      lbl.className = 'lbl';
      lbl.textContent = kind === 'hr' ? 'HR' : 'EDA';
      const val = document.createElement('b');
      val.className = 'num';
      const svg = document.createElementNS(SVG, 'svg');
      svg.setAttribute('viewBox', '0 0 120 30');
      svg.setAttribute('class', 'trace');
      svg.appendChild(document.createElementNS(SVG, 'polyline'));
      row.append(lbl, val, svg);
      box.appendChild(row);
    }
    const val = row.querySelector('b');
    val.textContent = st.value == null ? '—' : (kind === 'hr' ? Math.round(st.value) : st.value.toFixed(2));
    row.classList.toggle('lost', !!st.lost || !st.connected);
    row.title = `${st.source}: ${st.lost ? 'lost, reconnecting' : st.connected ? 'connected' : 'searching'} (${st.unit})`;
    const tr = st.trace || [];
    let pts = '';
    if (tr.length > 1) {
      const t1 = tr[tr.length - 1][0], t0 = t1 - 120;
      const vs = tr.map(x => x[1]), lo = Math.min(...vs), hi = Math.max(...vs), span = (hi - lo) || 1;
      pts = tr.map(([t, v]) => `${(((t - t0) / 120) * 120).toFixed(1)},${(28 - ((v - lo) / span) * 26).toFixed(1)}`).join(' ');
    }
    row.querySelector('polyline').setAttribute('points', pts);
  }
}

function stepText(step) {
  if (!step) return '—';
  const count = step.count ?? (isDistraction() ? S.info?.phases?.length : S.info?.steps?.length) ?? '?';
  if (step.index == null || step.index < 0) return `– / ${count} · before the first phase`;
  return `${step.index + 1} / ${count}${step.name ? ' · ' + step.name : ''}`;
}

function renderIntensity(s) {
  const over = s.intensity_override != null;
  const hdr = $('#hdr-intensity');
  hdr.replaceChildren(`${fmtNum(s.intensity, 2)}${over ? ' (set)' : ''}`,
    s.band ? el('span', { class: 'band-hdr muted', text: ` · ${s.band}` }) : '');
  $('#intensity-value').textContent = fmtNum(s.intensity, 2);
  $('#intensity-src').textContent = over ? 'set by the clinician' : "the step's own";
  if (!sliderBusy && s.intensity != null) $('#intensity').value = String(s.intensity);
}

function renderPause(mode) {
  const btn = $('#pause');
  const resume = mode === 'paused' || mode === 'safe';
  btn.dataset.cmd = resume ? 'resume' : 'pause';
  btn.textContent = mode === 'safe' ? 'Resume (leave safe scene)' : resume ? 'Resume' : mode === 'ended' ? 'Ended' : 'Pause';
  btn.disabled = mode === 'ended' || !allowed(btn.dataset.cmd);
}

function renderRatings(r) {
  const suds = r.suds ?? S.latest.suds, pain = r.pain ?? S.latest.pain;
  $('#last-suds').textContent = suds == null ? '—' : String(Math.round(suds));
  $('#last-pain').textContent = pain == null ? '—' : String(Math.round(pain * 10) / 10);
  for (const b of $$('#suds-btns .btn')) b.classList.toggle('current', suds != null && +b.dataset.suds === Math.round(suds / 10) * 10);
  for (const b of $$('#pain-btns .btn')) b.classList.toggle('current', pain != null && +b.dataset.pain === Math.round(pain));
  const prompt = $('#prompt');
  prompt.hidden = !r.prompt;
  prompt.textContent = r.prompt ? `waiting for ${r.prompt === 'suds' ? 'SUDS' : r.prompt} in the headset` : '';
}

let humanIds = '';
const MAX_HUMAN_ROWS = 40;   // a crowd shows its nearest (and whoever speaks)
function humanRow(h, minD) {
  return el('tr', { class: h.speaking ? 'speaking' : '' }, el('td', { text: h.id }),
    el('td', { class: h.distance_m != null && h.distance_m < minD + 0.5 ? 'near' : '', text: `${fmtNum(h.distance_m, 1)} m` }),
    el('td', { class: h.gaze_at_patient ? 'yes' : '', text: h.gaze_at_patient ? 'yes' : 'no' }),
    el('td', { text: h.mood || '—' }), el('td', { text: h.speaking ? '● yes' : '' }));
}

function renderHumans(humans) {
  const rows = [...humans].sort((a, b) => (a.distance_m ?? 1e9) - (b.distance_m ?? 1e9));
  const shown = rows.filter((h, i) => i < MAX_HUMAN_ROWS || h.speaking), minD = S.info?.caps?.min_distance_m ?? 0;
  const more = rows.length - shown.length;
  const trs = shown.map((h) => humanRow(h, minD));
  if (!rows.length || more) trs.push(el('tr', {}, el('td', { colspan: 5, class: 'empty', text: more ? `${more} more, farther` : 'nobody present' })));
  $('#humans').replaceChildren(...trs);
  $('#humans-count').textContent = rows.length ? `(${rows.length})` : '';
  const ids = rows.map((h) => h.id).sort().join(',');
  if (ids === humanIds) return;
  humanIds = ids;
  const pick = $('#line-human'), chosen = pick.value;
  pick.replaceChildren(el('option', { value: '', text: 'nearest' }),
    ...ids.split(',').filter(Boolean).map((id) => el('option', { value: id, text: id })));
  pick.value = rows.some((h) => h.id === chosen) ? chosen : '';
}

function renderGame(s) {
  if (!isDistraction()) return;
  const g = s.game || {}, idx = s.step?.index ?? -1;
  for (const li of $$('#phases li')) {
    const i = +li.dataset.phase;
    li.classList.toggle('current', i === idx);
    li.classList.toggle('running', i === idx && !!g.phase_running);
    li.classList.toggle('done', i < idx || (i === idx && !g.phase_running));
  }
  const br = $('#breathing');
  br.setAttribute('aria-pressed', g.breathing_on ? 'true' : 'false');
  br.textContent = `Breathing pacer: ${g.breathing_on ? 'on' : 'off'}`;
  const cell = (label, value, cls) => el('div', {}, el('dt', { text: label }), el('dd', { class: cls || '', text: value }));
  $('#game').replaceChildren(
    cell('score', g.score ?? '—'), cell('hits', g.hits ?? '—'), cell('misses', g.misses ?? '—'),
    cell('hit rate', g.hit_rate == null ? '—' : `${Math.round(g.hit_rate * 100)} %`),
    cell('difficulty', fmtNum(g.difficulty, 2)),
    cell('engaged', g.engaged == null ? '—' : g.engaged ? 'yes' : 'no', g.engaged == null ? '' : g.engaged ? 'yes' : 'no'));
}

// ===== Chart: SUDS (left axis) and pain (right axis) over session time ==========================
let chartQueued = false, chartSecond = -1;
const COLORS = { suds: '#5aa9e6', pain: '#e8965a', grid: '#2b333c', axis: '#93a0ad', step: '#6d7b88', phase: '#4fb3a6', panic: '#e04848' };

function scheduleChart() {
  if (chartQueued) return;
  chartQueued = true;
  requestAnimationFrame(() => { chartQueued = false; drawChart(); });
}

function niceStep(span) {
  for (const step of [30, 60, 120, 300, 600, 900, 1800, 3600]) if (span / step <= 8) return step;
  return 7200;
}

function drawChart() {
  const canvas = $('#chart'), dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (!w || !h) return;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
  }
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  g.font = '11px system-ui, sans-serif';
  chartSecond = Math.floor(S.state?.t_s || 0);
  const [, sudsMax] = S.info?.scales?.suds || [0, 100], [, painMax] = S.info?.scales?.pain || [0, 10];
  const showSuds = !isDistraction() || S.ratings.some((r) => r.scale === 'suds');
  const pad = { l: 34, r: 30, t: 22, b: 22 }, pw = w - pad.l - pad.r, ph = h - pad.t - pad.b;
  const lastT = Math.max(S.state?.t_s || 0, ...S.ratings.map((r) => r.t), ...S.markers.map((m) => m.t), 60);
  const tStep = niceStep(lastT), tMax = Math.ceil(lastT / tStep) * tStep;
  const x = (t) => pad.l + (t / tMax) * pw;
  const ys = (v) => pad.t + (1 - v / sudsMax) * ph, yp = (v) => pad.t + (1 - v / painMax) * ph;

  // grid and axes
  g.lineWidth = 1; g.textBaseline = 'middle';
  for (let i = 0; i <= 5; i++) {
    const yy = Math.round(pad.t + (i / 5) * ph) + 0.5;
    g.strokeStyle = COLORS.grid; g.beginPath(); g.moveTo(pad.l, yy); g.lineTo(pad.l + pw, yy); g.stroke();
    g.fillStyle = COLORS.suds; g.textAlign = 'right';
    if (showSuds) g.fillText(String(Math.round(sudsMax * (1 - i / 5))), pad.l - 6, yy);
    g.fillStyle = COLORS.pain; g.textAlign = 'left'; g.fillText(String(Math.round(painMax * (1 - i / 5))), pad.l + pw + 6, yy);
  }
  g.fillStyle = COLORS.axis; g.textAlign = 'center'; g.textBaseline = 'top';
  for (let t = 0; t <= tMax + 1e-6; t += tStep) g.fillText(tStep < 60 ? mmss(t) : `${Math.round(t / 60)} min`, x(t), pad.t + ph + 6);

  const ceiling = S.info?.caps?.suds_ceiling;
  if (ceiling != null && !isDistraction()) {
    g.setLineDash([2, 4]); g.strokeStyle = 'rgba(224,72,72,.6)';
    g.beginPath(); g.moveTo(pad.l, ys(ceiling)); g.lineTo(pad.l + pw, ys(ceiling)); g.stroke(); g.setLineDash([]);
  }
  drawMarkers(g, x, pad, pw, ph);
  drawSeries(g, 'suds', x, ys);
  drawSeries(g, 'pain', x, yp);

  // legend
  g.textAlign = 'left'; g.textBaseline = 'middle';
  let lx = pad.l;
  const legend = [['SUDS (left)', COLORS.suds], ['pain (right)', COLORS.pain]].slice(showSuds ? 0 : 1);
  for (const [name, color] of legend) {
    g.fillStyle = color; g.fillRect(lx, 6, 10, 3); g.fillText(name, lx + 14, 8); lx += g.measureText(name).width + 30;
  }
  if (!S.ratings.length) {
    g.fillStyle = COLORS.axis; g.textAlign = 'center'; g.fillText('no ratings yet', pad.l + pw / 2, pad.t + ph / 2);
  }
}

function drawMarkers(g, x, pad, pw, ph) {
  g.textAlign = 'left'; g.textBaseline = 'top';
  const rowEnd = [-Infinity, -Infinity, -Infinity];   // labels that would overlap go one row lower
  for (const m of [...S.markers].sort((a, b) => a.t - b.t)) {
    const xx = Math.round(x(m.t)) + 0.5;
    g.strokeStyle = COLORS[m.kind]; g.lineWidth = m.kind === 'panic' ? 2 : 1;
    g.setLineDash(m.kind === 'panic' ? [] : [4, 3]);
    g.beginPath(); g.moveTo(xx, pad.t); g.lineTo(xx, pad.t + ph); g.stroke();
    g.setLineDash([]);
    const label = m.kind === 'step' ? `step ${m.label}` : m.label, width = g.measureText(label).width;
    const lx = xx + 3 + width > pad.l + pw ? xx - 3 - width : xx + 3;
    let row = rowEnd.findIndex((end) => lx > end + 4);
    if (row < 0) row = rowEnd.indexOf(Math.min(...rowEnd));
    rowEnd[row] = lx + width;
    g.fillStyle = COLORS[m.kind];
    g.fillText(label, lx, pad.t + 2 + row * 13);
  }
  g.lineWidth = 1;
}

function drawSeries(g, scale, x, y) {
  const pts = S.ratings.filter((r) => r.scale === scale).sort((a, b) => a.t - b.t);
  if (!pts.length) return;
  g.strokeStyle = g.fillStyle = COLORS[scale]; g.lineWidth = 2;
  g.beginPath();
  pts.forEach((p, i) => (i ? g.lineTo(x(p.t), y(p.value)) : g.moveTo(x(p.t), y(p.value))));
  g.stroke();
  for (const p of pts) { g.beginPath(); g.arc(x(p.t), y(p.value), 3.5, 0, 2 * Math.PI); g.fill(); }
  g.lineWidth = 1;
}

new ResizeObserver(scheduleChart).observe($('#chart'));

// ===== Transcript, alerts, toasts ===============================================================
// The transcript follows the newest line unless the clinician has scrolled up to read.
let stickToEnd = true;
const transcriptToEnd = () => { const box = $('#transcript'); if (stickToEnd) box.scrollTop = box.scrollHeight; };
$('#transcript').addEventListener('scroll', (e) => {
  const box = e.currentTarget;
  stickToEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 30;
});
new ResizeObserver(transcriptToEnd).observe($('#transcript'));

function transcriptLine(t, who, text, cls) {
  const box = $('#transcript');
  box.append(el('p', { class: cls }, el('span', { class: 't', text: mmss(t) }),
    who ? el('span', { class: 'who', text: `${who}:` }) : null, who ? ` ${text}` : text));
  while (box.children.length > 400) box.firstElementChild.remove();
  transcriptToEnd();
}

// The patient's turn: heard by the microphone it can be wrong, so the clinician may withhold the
// humans' reply or put the words right (the risk screen has already read them as heard).
function patientLine(t, d) {
  const who = d.source === 'microphone' ? 'Patient (heard)' : 'Patient';
  transcriptLine(t, who, d.text || '', d.risk ? 'patient risk' : 'patient');
  const line = $('#transcript').lastElementChild;
  if (!d.said || !allowed('withhold_reply')) return;
  line.dataset.said = d.said;
  line.append(' ',
    el('button', { type: 'button', class: 'btn small mini', 'data-testid': `withhold-${d.said}`, title: 'The humans do not answer this',
                   text: 'Withhold reply', onclick: () => send('withhold_reply', { value: +d.said }) }),
    el('button', { type: 'button', class: 'btn small mini', 'data-testid': `correct-${d.said}`, title: 'Put the words right; the humans answer those',
                   text: 'Correct', onclick: () => startCorrection(+d.said, d.text || '') }));
}

let correcting = 0;
function startCorrection(said, text) {
  correcting = said;
  const input = $('#words');
  input.value = text;
  input.placeholder = `Correct the patient's turn ${said}, Enter sends (Esc cancels)`;
  input.classList.add('correcting');
  input.focus();
  input.select();
}
function endCorrection() {
  correcting = 0;
  const input = $('#words');
  input.placeholder = 'What the patient said (W), Enter sends';
  input.classList.remove('correcting');
}

function addAlert(e) {
  const d = e.data || {}, level = ['critical', 'warning', 'info'].includes(d.level) ? d.level : 'warning';
  const list = $('#alerts');
  list.querySelector('.empty')?.remove();
  const li = el('li', { class: level, 'data-seq': e.seq, role: level === 'critical' ? 'alert' : null },
    el('span', { class: 'msg' }, el('span', { class: 't', text: `${mmss(e.t_s)} · ${level}${d.reason ? ' · ' + d.reason : ''}` }),
      d.message || d.reason || 'alert'),
    el('button', { type: 'button', title: 'Dismiss', 'aria-label': 'Dismiss alert', text: '×', onclick: () => dismissAlert(li) }));
  list.prepend(li);
  renderAlertChip();
}

function dismissAlert(li) {
  li.remove();
  if (!$('#alerts').children.length) $('#alerts').append(el('li', { class: 'empty', text: 'No alerts.' }));
  renderAlertChip();
}

function renderAlertChip() {
  const n = $$('#alerts li.critical').length, chip = $('#alert-chip');
  chip.hidden = !n;
  chip.textContent = `⚠ ${n} critical`;
  chip.title = `${n} critical alert${n > 1 ? 's' : ''} not dismissed: show`;
}

function toast(text, cls = '') {
  const node = el('div', { class: `toast ${cls}`, text, role: 'status', onclick: () => node.remove() });
  $('#toasts').append(node);
  while ($('#toasts').children.length > 4) $('#toasts').firstElementChild.remove();
  setTimeout(() => node.remove(), 6000);
}

// ===== Actions ==================================================================================
/** Brief feedback on the button that sent something (the result shows in the log and the state). */
function flash(btn, cls = 'sent') {
  btn?.classList.add(cls);
  setTimeout(() => btn?.classList.remove(cls), 400);
}

const panic = () => { flash($('#panic'), 'flash'); send('panic'); };
const togglePause = () => { const c = $('#pause').dataset.cmd; if (S.state?.mode !== 'ended') send(c); };
const rate = (scale, value, btn) => { flash(btn || $(`[data-${scale}="${value}"]`)); send('rating', { scale, value }); };
const ask = (scale) => { flash($(scale === 'suds' ? '#ask-suds' : '#ask-pain')); send('ask_rating', { text: scale }); };
const resumeDialogue = () => { flash($('#resume-dialogue')); send('resume_dialogue'); };

function speak() {
  const human = $('#line-human').value;
  flash($('#speak'));
  send('speak', human ? { human } : {});
}

function sayLine(lineId) {
  const human = $('#line-human').value;
  flash($(`[data-line-id="${CSS.escape(lineId)}"]`));
  send('say_line', human ? { text: lineId, human } : { text: lineId });
}

async function sendText(inputSel, command) {
  const input = $(inputSel), text = input.value.trim();
  if (!text) { input.focus(); return; }
  input.value = '';
  const fields = { text };
  if (command === 'say' && correcting) { fields.corrects = correcting; endCorrection(); }
  const answer = await send(command, fields);
  if (!answer && !input.value) input.value = text;   // not delivered: keep the words
}

let stopTimer = null;
function onStop() {
  const btn = $('#stop');
  if (stopTimer) {
    clearTimeout(stopTimer); stopTimer = null;
    btn.classList.remove('armed'); btn.textContent = 'Stop';
    send('stop');
    return;
  }
  btn.classList.add('armed'); btn.textContent = 'Click again to stop';
  stopTimer = setTimeout(() => { stopTimer = null; btn.classList.remove('armed'); btn.textContent = 'Stop'; }, 3000);
}

// The slider sends on change (release), not on every movement; the state does not move it meanwhile.
let sliderBusy = false;
function bindSlider() {
  const slider = $('#intensity');
  const busy = () => { sliderBusy = true; };
  slider.addEventListener('pointerdown', busy);
  slider.addEventListener('input', () => { busy(); $('#intensity-value').textContent = fmtNum(slider.value, 2); });
  slider.addEventListener('change', () => { sliderBusy = false; send('set_intensity', { value: Math.round(+slider.value * 100) / 100 }); });
  slider.addEventListener('blur', () => { sliderBusy = false; });
}

function bindControls() {
  $('#panic').addEventListener('click', panic);
  $('#pause').addEventListener('click', togglePause);
  $('#stop').addEventListener('click', onStop);
  $('#step-up').addEventListener('click', (e) => { flash(e.currentTarget); send('step_up'); });
  $('#step-down').addEventListener('click', (e) => { flash(e.currentTarget); send('step_down'); });
  $('#goto-send').addEventListener('click', () => { const v = $('#goto').value; if (v !== '') send('goto_step', { value: +v }); });
  $('#intensity-clear').addEventListener('click', (e) => { flash(e.currentTarget); send('clear_intensity'); });
  $('#phase-next').addEventListener('click', (e) => { flash(e.currentTarget); send('phase_start'); });
  $('#phase-end').addEventListener('click', (e) => { flash(e.currentTarget); send('phase_end'); });
  $('#breathing').addEventListener('click', () => send('breathing', { value: S.state?.game?.breathing_on ? 0 : 1 }));
  $('#ask-suds').addEventListener('click', () => ask('suds'));
  $('#ask-pain').addEventListener('click', () => ask('pain'));
  $('#resume-dialogue').addEventListener('click', resumeDialogue);
  $('#words-send').addEventListener('click', () => sendText('#words', 'say'));
  $('#words').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.isComposing) { e.preventDefault(); sendText('#words', 'say'); }
    else if (e.key === 'Escape' && correcting) { e.preventDefault(); $('#words').value = ''; endCorrection(); }
  });
  $('#note-send').addEventListener('click', () => sendText('#note', 'note'));
  $('#note').addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); sendText('#note', 'note'); } });
  $('#line-filter').addEventListener('input', renderLines);
  $('#line-human').addEventListener('change', renderLines);
  $('#speak').addEventListener('click', speak);
  $('#alert-chip').addEventListener('click', () => $('#p-alerts').scrollIntoView({ behavior: 'smooth', block: 'center' }));
  $('#help-btn').addEventListener('click', () => toggleHelp());
  $('#help-close').addEventListener('click', () => toggleHelp(false));
  $('#help').addEventListener('click', (e) => { if (e.target.id === 'help') toggleHelp(false); });
  bindSlider();
}

// ===== Keyboard shortcuts (docs/console.md) =====================================================
const toggleHelp = (show) => { const help = $('#help'); help.hidden = show === undefined ? !help.hidden : !show; };

const isTyping = (t) => !!t && (['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName) || t.isContentEditable);

function onKey(e) {
  if (e.key === 'F12') { e.preventDefault(); if (!e.repeat) panic(); return; }
  if (e.key === 'Escape') {
    toggleHelp(false);
    if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
    return;
  }
  if (isTyping(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
  const k = e.key, dis = isDistraction();
  let handled = true;
  if (e.repeat) { if (k === ' ') e.preventDefault(); return; }   // a held key acts once
  if (k === ' ' || k === 'Spacebar') togglePause();
  else if (k === 'p' || k === 'P') panic();
  else if (k === 'ArrowUp') send(dis ? 'phase_start' : 'step_up');
  else if (k === 'ArrowDown') send(dis ? 'phase_end' : 'step_down');
  // The same keys as the desktop window's: SUDS 1-9 are 10-90, 0 is 100, ` is 0; pain 0-9, - is 10.
  else if (/^[0-9]$/.test(k)) (dis ? rate('pain', +k) : rate('suds', +k === 0 ? 100 : +k * 10));
  else if (k === '`' && !dis) rate('suds', 0);
  else if (k === '-' && dis) rate('pain', 10);
  else if (k === 's' || k === 'S') ask('suds');
  else if (k === 'a' || k === 'A') ask('pain');
  else if (k === 'w' || k === 'W') $('#words').focus();
  else if (k === 'n' || k === 'N') $('#note').focus();
  else if (k === 'r' || k === 'R') resumeDialogue();
  else if (k === '?') toggleHelp();
  else handled = false;
  if (handled) e.preventDefault();
}

document.addEventListener('keydown', onKey);
// Space on a focused button would also click it on key-up: the shortcut has already acted.
document.addEventListener('keyup', (e) => { if (e.key === ' ' && !isTyping(e.target)) e.preventDefault(); });

// ===== Start ====================================================================================
bindControls();
renderScaleButtons();
renderAvailability();
setConnected(false);
connect();
})();
