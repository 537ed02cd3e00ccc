// The troupe dashboard: polls the node's REST API every second and
// renders members, jobs and the selected job. Everything from the API is
// inserted as text (textContent), never as HTML.
"use strict";

const refreshEvery = 1000; // ms
// readTimeout bounds a GET: a node that does not answer (stuck, stopped)
// is an error the page shows, and the polling goes on. It is longer than
// the node's own bound on a read it forwards to the coordinator
// (rest.ForwardReadTimeout, 10 s), whose 503 says more. Cancel and
// savepoint requests are not bounded: a savepoint takes its time.
const readTimeout = 15000; // ms
const svgNS = "http://www.w3.org/2000/svg";

const ui = {
  selected: null,      // the id of the job to show
  shown: null,         // the id of the job shown: what the buttons act on
  chosenByUser: false, // the user picked it: keep it even once it ended
  armedCancel: null,   // the armed cancel button: { job, timer }, or null
  live: false,         // the job shown runs: its rates are current
  savepointing: null,  // the job whose savepoint is being taken, or null
};

const $ = (id) => document.getElementById(id);

// ---- the API ----------------------------------------------------------

// The API token, when the node asks for one (--api-token-file): kept in
// the tab's session storage, sent as a bearer token.
const tokenKey = "troupe-api-token";

function apiToken() {
  try { return sessionStorage.getItem(tokenKey) || ""; } catch (e) { return ""; }
}

async function api(method, path, body) {
  const init = { method, cache: "no-store", headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const token = apiToken();
  if (token) init.headers["Authorization"] = "Bearer " + token;
  let timeout = null;
  if (method === "GET") {
    const abort = new AbortController();
    init.signal = abort.signal;
    timeout = setTimeout(() => abort.abort(), readTimeout);
  }
  let resp, text;
  try {
    resp = await fetch(path, init);
    text = await resp.text();
  } catch (e) {
    if (e.name === "AbortError") throw new Error(`${method} ${path}: no answer from the node within ${readTimeout / 1000} s`);
    throw e;
  } finally {
    clearTimeout(timeout);
  }
  $("token-form").hidden = resp.status !== 401;
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (!resp.ok) {
    const why = data && data.error ? data.error : text || resp.statusText;
    throw new Error(`${method} ${path}: ${resp.status} ${why}`);
  }
  return data;
}

// ---- formatting -------------------------------------------------------

function count(n) {
  if (n === undefined || n === null) return "—";
  const a = Math.abs(n);
  if (a >= 1e9) return (n / 1e9).toFixed(2) + "G";
  if (a >= 1e6) return (n / 1e6).toFixed(2) + "M";
  if (a >= 1e4) return (n / 1e3).toFixed(1) + "k";
  return String(Math.round(n));
}

function bytes(n) {
  if (!n) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

function pct(f) { return f === undefined || f === null ? "—" : Math.round(f * 100) + " %"; }

function millis(ms) {
  if (ms === undefined || ms === null) return "—";
  if (ms < 1) return ms.toFixed(2) + " ms";
  if (ms < 1000) return Math.round(ms) + " ms";
  return (ms / 1000).toFixed(2) + " s";
}

function duration(seconds) {
  if (!seconds) return "—";
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${r}s`;
  return `${r}s`;
}

function clock(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return isNaN(d) ? "—" : d.toLocaleTimeString();
}

function eventTime(ms) {
  if (ms === undefined || ms === null) return "—";
  return new Date(ms).toISOString().substring(11, 23);
}

function lag(ms, at) {
  if (ms === undefined || ms === null || !at) return "—";
  return millis(new Date(at).getTime() - ms);
}

// perSecond is a rate, shown while the job runs: an ended job's last
// sample is not a rate any more.
function perSecond(r) { return ui.live ? count(r) : "—"; }

// bpClass is Flink's backpressure level: OK up to 10 %, low up to 50 %, high above.
function bpClass(f) { return f > 0.5 ? "high" : f > 0.1 ? "low" : "ok"; }

// ---- DOM helpers --------------------------------------------------------

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function fillBody(table, rows) {
  const body = table.tBodies[0];
  body.replaceChildren(...rows);
}

function setStatus(text, error) {
  const s = $("status");
  s.textContent = text;
  s.classList.toggle("error", !!error);
}

function message(text, error) {
  const m = $("message");
  m.hidden = !text;
  m.textContent = text || "";
  m.classList.toggle("error", !!error);
}

// ---- rendering ----------------------------------------------------------

function renderMembers(members) {
  fillBody($("members"), members.map((m) => {
    const name = el("td", {}, m.name);
    if (m.coordinator) name.append(el("span", { class: "badge" }, "coordinator"));
    return el("tr", { "data-member": m.name },
      name,
      el("td", { class: "num", "data-slots": `${m.slotsUsed}/${m.slots}` }, `${m.slotsUsed} / ${m.slots}`),
      // Every node of a cluster serves alike: HTTPS with --tls-*.
      el("td", {}, el("a", { href: `${location.protocol}//${m.httpAddr}/` }, m.httpAddr)),
      el("td", {}, m.version),
      el("td", {}, clock(m.started)));
  }));
}

function renderJobs(jobs) {
  $("no-jobs").hidden = jobs.length > 0;
  if (!(ui.chosenByUser && jobs.some((j) => j.id === ui.selected))) {
    // Show the newest running job, else the newest one.
    ui.chosenByUser = false;
    const running = jobs.filter((j) => j.state === "running" || j.state === "restarting");
    const pick = running.length ? running[running.length - 1] : jobs[jobs.length - 1];
    ui.selected = pick ? pick.id : null;
  }
  fillBody($("jobs"), jobs.slice().reverse().map((j) => {
    const tr = el("tr", { class: "selectable" + (j.id === ui.selected ? " selected" : ""), "data-job": j.id },
      el("td", {}, el("code", {}, j.id)),
      el("td", {}, j.pipeline),
      el("td", {}, el("span", { class: "state " + j.state }, j.state)),
      el("td", {}, duration(j.uptimeSeconds)),
      el("td", { class: "num" }, j.restarts),
      el("td", {}, clock(j.submitted)));
    tr.addEventListener("click", () => { ui.selected = j.id; ui.chosenByUser = true; refresh(); });
    return tr;
  }));
}

function renderJob(job) {
  ui.shown = job.id;
  $("job").hidden = false;
  $("job-pipeline").textContent = job.pipeline;
  $("job-id").textContent = job.id;
  // An armed Cancel is for the job it was armed on: another one shown in
  // its place (the user picked it, or it is the newest) disarms it.
  if (ui.armedCancel && ui.armedCancel.job !== job.id) disarm();
  const state = $("job-state");
  state.textContent = job.state;
  state.className = "state " + job.state;
  const facts = [`parallelism ${job.parallelism}`, `restarts ${job.restarts}`];
  if (job.uptimeSeconds) facts.push(`up ${duration(job.uptimeSeconds)}`);
  if (job.owner) facts.push(`master on ${job.owner}`);
  $("job-facts").textContent = facts.join(" · ");
  const live = job.state === "running" || job.state === "restarting" || job.state === "waiting-for-slots";
  $("cancel").disabled = !live;
  // One savepoint at a time: the button stays disabled until the one
  // asked for is answered, whatever the refreshes meanwhile say.
  $("savepoint").disabled = ui.savepointing !== null || job.state !== "running" || !job.checkpoints;
  const failure = $("failure");
  failure.hidden = !job.failure;
  failure.textContent = job.failure || "";
  ui.live = job.state === "running";
  // A job known here only by its record in the job store (one of a
  // cluster that restarted, or one another node runs) comes without its
  // graph, checkpoints or exceptions.
  job.vertices = job.vertices || [];
  job.edges = job.edges || [];
  renderGraph(job);
  renderOperators(job);
  renderCheckpoints(job);
  renderExceptions(job.exceptions || []);
}

// levels places each vertex in the column after its furthest input.
function levels(job) {
  const level = job.vertices.map(() => 0);
  for (let pass = 0; pass < job.vertices.length; pass++) {
    for (const e of job.edges || []) level[e.to] = Math.max(level[e.to], level[e.from] + 1);
  }
  return level;
}

const box = { w: 230, h: 112, gapX: 90, gapY: 24, pad: 12 };

function renderGraph(job) {
  const g = $("graph");
  if (job.vertices.length === 0) {
    g.setAttribute("viewBox", "0 0 0 0");
    g.setAttribute("width", 0);
    g.setAttribute("height", 0);
    g.replaceChildren();
    return;
  }
  const level = levels(job);
  const rows = {};
  const pos = job.vertices.map((v, i) => {
    const col = level[i];
    const row = rows[col] = (rows[col] || 0) + 1;
    return { x: box.pad + col * (box.w + box.gapX), y: box.pad + (row - 1) * (box.h + box.gapY) };
  });
  const width = Math.max(...pos.map((p) => p.x)) + box.w + box.pad;
  const height = Math.max(...pos.map((p) => p.y)) + box.h + box.pad;
  g.setAttribute("viewBox", `0 0 ${width} ${height}`);
  g.setAttribute("width", width);
  g.setAttribute("height", height);
  const parts = [];
  for (const e of job.edges || []) {
    const a = pos[e.from], b = pos[e.to];
    const x1 = a.x + box.w, y1 = a.y + box.h / 2, x2 = b.x, y2 = b.y + box.h / 2, mx = (x1 + x2) / 2;
    parts.push(svg("path", { class: "edge", d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2 - 6},${y2}`, "marker-end": "url(#arrow)" }));
    const label = e.partitioning + (e.sideOutput ? ` (${e.sideOutput})` : "");
    parts.push(svg("text", { class: "edge-label", x: mx, y: (y1 + y2) / 2 - 6, "text-anchor": "middle" }, label));
  }
  job.vertices.forEach((v, i) => parts.push(vertexBox(v, pos[i])));
  const defs = svg("defs");
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 4, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
  marker.append(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#8d97ad" }));
  defs.append(marker);
  g.replaceChildren(defs, ...parts);
}

function vertexBox(v, p) {
  const m = v.metrics || {};
  const bp = m.backpressured || 0;
  const grp = svg("g", { class: "vertex", transform: `translate(${p.x},${p.y})`, "data-vertex": v.id, "data-name": v.name,
    "data-records-in": m.recordsIn || 0, "data-records-out": m.recordsOut || 0, "data-rate-out": m.recordsOutPerSecond || 0,
    "data-backpressured": bp });
  grp.append(svg("rect", { class: "box", width: box.w, height: box.h, rx: 6 }));
  const title = v.name.length > 34 ? v.name.substring(0, 33) + "…" : v.name;
  const t = svg("text", { class: "title", x: 10, y: 18 }, title);
  t.append(svg("title", {}, v.name));
  grp.append(t);
  grp.append(svg("text", { class: "small", x: 10, y: 34 }, `parallelism ${v.parallelism}`));
  grp.append(svg("text", { x: 10, y: 52 }, `in ${perSecond(m.recordsInPerSecond)}/s · out ${perSecond(m.recordsOutPerSecond)}/s`));
  grp.append(svg("text", { class: "small", x: 10, y: 68 },
    `busy ${pct(m.busy)} · wm ${eventTime(m.inputWatermark !== undefined ? m.inputWatermark : m.outputWatermark)}`));
  grp.append(svg("text", { class: "small", x: 10, y: 84 }, `state ${bytes(m.stateBytes)}`));
  grp.append(svg("rect", { class: "bp-track", x: 10, y: 92, width: box.w - 20, height: 10, rx: 3 }));
  grp.append(svg("rect", { class: "bp-" + bpClass(bp), x: 10, y: 92, width: Math.max((box.w - 20) * bp, 2), height: 10, rx: 3 }));
  const tip = svg("title", {}, `${v.name}\nbackpressured ${pct(bp)} of the time`);
  grp.append(tip);
  return grp;
}

function renderOperators(job) {
  fillBody($("operators"), job.vertices.map((v) => {
    const m = v.metrics || {};
    const bp = m.backpressured || 0;
    const nodes = [...new Set((v.subtasks || []).map((s) => s.node).filter((n) => n))];
    const wm = m.inputWatermark !== undefined ? m.inputWatermark : m.outputWatermark;
    return el("tr", { "data-operator": v.name },
      el("td", {}, v.name),
      el("td", { class: "num" }, v.parallelism),
      el("td", { class: "num", "data-records-in": m.recordsIn || 0 }, count(m.recordsIn)),
      el("td", { class: "num" }, perSecond(m.recordsInPerSecond)),
      el("td", { class: "num", "data-records-out": m.recordsOut || 0 }, count(m.recordsOut)),
      el("td", { class: "num" }, perSecond(m.recordsOutPerSecond)),
      el("td", { class: "num" }, pct(m.busy)),
      el("td", {}, el("span", { class: "bp " + bpClass(bp) }, pct(bp))),
      el("td", {}, eventTime(wm)),
      el("td", { class: "num" }, lag(wm, m.sampledAt)),
      el("td", { class: "num" }, bytes(m.stateBytes)),
      el("td", {}, nodes.join(", ") || "—"));
  }));
}

function renderCheckpoints(job) {
  const ck = job.checkpoints;
  if (!ck) {
    $("checkpoint-counts").textContent = noCheckpoints(job);
    fillBody($("checkpoints"), []);
    return;
  }
  const latest = ck.latest ? ` · latest ${ck.latest.id}, ${millis(ck.latest.durationMs)}, ${bytes(ck.latest.sizeBytes)}` : "";
  $("checkpoint-counts").textContent = `completed ${ck.completed} · failed ${ck.failed} · in progress ${ck.inProgress}${latest}`;
  fillBody($("checkpoints"), ck.history.slice().reverse().map((c) => el("tr", { "data-checkpoint": c.id, "data-status": c.status },
    el("td", { class: "num" }, c.id),
    el("td", {}, c.savepoint ? "savepoint" : c.unaligned ? "checkpoint (unaligned)" : "checkpoint"),
    el("td", { class: "ck-" + c.status }, c.status),
    el("td", {}, clock(c.triggered)),
    el("td", { class: "num" }, millis(c.durationMs)),
    el("td", { class: "num" }, bytes(c.sizeBytes)),
    el("td", { class: "num" }, bytes(c.inFlightBytes || 0)),
    el("td", { class: "num" }, millis(c.alignmentMs)),
    el("td", { class: "wrap" }, c.failure || c.path || ""))));
}

// noCheckpoints says why a job's status has no checkpoints.
function noCheckpoints(job) {
  if (job.vertices.length === 0) {
    const latest = job.latestCheckpoint ? ` Its latest checkpoint: ${job.latestCheckpoint.id}, ${job.latestCheckpoint.path}.` : "";
    const owner = job.owner ? ` (last run by ${job.owner})` : "";
    return `This node knows the job only by its record${owner}: no graph, checkpoint history or exceptions.${latest}`;
  }
  if (job.state === "waiting-for-slots") return "None yet: the job waits for slots.";
  return "Checkpoints are off for this job.";
}

function renderExceptions(exceptions) {
  $("no-exceptions").hidden = exceptions.length > 0;
  $("exceptions").hidden = exceptions.length === 0;
  fillBody($("exceptions"), exceptions.slice().reverse().map((x) => el("tr", {},
    el("td", {}, clock(x.time)),
    el("td", { class: "num" }, x.attempt),
    el("td", {}, x.vertex || "—"),
    el("td", { class: "num" }, x.subtask === undefined ? "—" : x.subtask),
    el("td", {}, x.node || "—"),
    el("td", { class: "wrap" }, x.error))));
}

// ---- actions ------------------------------------------------------------

// The cancel button asks to be clicked twice: the first click arms it for
// three seconds, for the job shown then; the second cancels that job.
function onCancel() {
  const b = $("cancel");
  if (!ui.armedCancel || ui.armedCancel.job !== ui.shown) {
    disarm();
    b.classList.add("armed");
    b.textContent = "Click again to cancel";
    ui.armedCancel = { job: ui.shown, timer: setTimeout(disarm, 3000) };
    return;
  }
  const id = ui.armedCancel.job;
  disarm();
  api("POST", `/v1/jobs/${encodeURIComponent(id)}/cancel`, {})
    .then(() => { message(`Job ${id} cancelled.`); refresh(); })
    .catch((e) => message(e.message, true));
}

function disarm() {
  if (ui.armedCancel) clearTimeout(ui.armedCancel.timer);
  ui.armedCancel = null;
  const b = $("cancel");
  b.classList.remove("armed");
  b.textContent = "Cancel job";
}

function onSavepoint() {
  if (ui.savepointing !== null) return;
  const id = ui.shown;
  ui.savepointing = id;
  $("savepoint").disabled = true;
  message(`Taking a savepoint of ${id}…`);
  api("POST", `/v1/jobs/${encodeURIComponent(id)}/savepoint`, { stop: false })
    .then((r) => message(`Savepoint of ${id}: ${r.path}`))
    .catch((e) => message(e.message, true))
    .finally(() => { ui.savepointing = null; refresh(); }); // the next rendering enables the button
}

// ---- the loop -------------------------------------------------------------

let timer = null;
// latest numbers the refreshes: a click starts one at once, beside one
// that may be under way. Only the latest draws what it got (an older
// answer arriving last would draw a job the user has left) and arms the
// next poll, so there is one polling loop.
let latest = 0;

async function refresh() {
  clearTimeout(timer);
  const mine = ++latest;
  try {
    const [members, jobs] = await Promise.all([api("GET", "/v1/members"), api("GET", "/v1/jobs")]);
    if (mine !== latest) return;
    renderMembers(members.members);
    renderJobs(jobs.jobs);
    if (ui.selected) {
      const job = await api("GET", `/v1/jobs/${encodeURIComponent(ui.selected)}`);
      if (mine !== latest) return;
      renderJob(job);
    } else {
      ui.shown = null;
      $("job").hidden = true;
    }
    setStatus(`${members.members.length} members · updated ${new Date().toLocaleTimeString()}`);
  } catch (e) {
    if (mine === latest) setStatus(e.message, true);
  } finally {
    if (mine === latest) timer = setTimeout(refresh, refreshEvery);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("node").textContent = location.host;
  $("cancel").addEventListener("click", onCancel);
  $("savepoint").addEventListener("click", onSavepoint);
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    try { sessionStorage.setItem(tokenKey, $("token").value.trim()); } catch (err) { setStatus(err.message, true); }
    $("token").value = "";
    refresh();
  });
  refresh();
});
