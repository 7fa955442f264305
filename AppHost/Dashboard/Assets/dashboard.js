// The dashboard page: one SignalR connection feeds the resources table, console logs and charts.
"use strict";

const resources = new Map();   // replica name -> snapshot
let workers = {};              // replica name -> heartbeat
let samples = [];
let scaling = [];              // resources the page offers +/− for
let logReplica = null;
let logLines = [];

const connection = new signalR.HubConnectionBuilder().withUrl("/hubs/dashboard").withAutomaticReconnect().build();
const status = document.getElementById("connection");
function setConnection(state) { status.dataset.state = state; status.textContent = state; }
connection.onreconnecting(() => setConnection("reconnecting"));
connection.onreconnected(() => { setConnection("connected"); load(); });
connection.onclose(() => setConnection("disconnected"));

connection.on("resource", s => { resources.set(s.name, s); renderResources(); fillReplicas(); });
connection.on("resourceRemoved", name => { resources.delete(name); delete workers[name]; renderResources(); fillReplicas(); });
connection.on("sample", (w, sample) => { workers = w; samples.push(sample); if (samples.length > 120) samples.shift(); renderResources(); renderCharts(); });
connection.on("log", line => { if (line.replica === logReplica) { logLines.push(line); trimLog(); renderLog(); } });

async function load() {
  const state = await connection.invoke("GetState");
  resources.clear();
  for (const s of state.resources) resources.set(s.name, s);
  workers = state.workers;
  samples = state.metrics;
  scaling = state.scaling;
  renderResources(); fillReplicas(); renderCharts();
  if (logReplica) await subscribe(logReplica);
}

// Resources
const tbody = document.querySelector("#resources tbody");
function cell(tr, cls, text) { const td = tr.insertCell(); if (cls) td.className = cls; if (text !== undefined && text !== null) td.textContent = text; return td; }
function renderResources() {
  tbody.replaceChildren();
  // Replicas of one resource stay together (one added at run time arrives last), in the model's order of resources.
  const groups = [...new Set([...resources.values()].map(s => s.resource))];
  const rows = [...resources.values()].sort((a, b) => groups.indexOf(a.resource) - groups.indexOf(b.resource) || a.replica - b.replica);
  for (const s of rows) {
    const tr = tbody.insertRow();
    tr.dataset.name = s.name;
    cell(tr, "name", s.name);
    cell(tr, "kind", s.kind);
    cell(tr, "replica", s.replica);
    const state = cell(tr, "state", s.state); state.dataset.state = s.state;
    cell(tr, "health", s.health ?? "");
    cell(tr, "pid", s.pid ?? "");
    const ep = cell(tr, "endpoints");
    for (const e of s.endpoints) {
      if (e.startsWith("http")) { const a = document.createElement("a"); a.href = e; a.target = "_blank"; a.textContent = e; ep.append(a, " "); }
      else ep.append(e + " ");
    }
    cell(tr, "started", s.startedAt ? new Date(s.startedAt).toLocaleTimeString() : "");
    cell(tr, "restarts", s.restarts);
    cell(tr, "exit", s.exitCode ?? "");
    const w = workers[s.name];
    cell(tr, "models", w ? w.models : "");
    cell(tr, "inflight", w ? w.inFlight : "");
    cell(tr, "batch", w ? w.meanBatchSize.toFixed(2) : "");
    cell(tr, "busy", w && w.utilisation !== null && w.utilisation !== undefined ? `${(w.utilisation * 100).toFixed(0)}%` : "");
    const cmds = cell(tr, "commands");
    const running = !["Exited", "FailedToStart", "NotStarted"].includes(s.state);
    for (const [command, enabled] of [["Restart", true], ["Stop", running], ["Start", !running]]) {
      const b = document.createElement("button");
      b.className = "cmd"; b.textContent = command; b.dataset.command = command.toLowerCase(); b.disabled = !enabled;
      b.onclick = async () => { b.disabled = true; try { await connection.invoke(command, s.name); } catch (e) { alert(e); } };
      cmds.append(b);
    }
    const logs = document.createElement("button");
    logs.className = "cmd"; logs.textContent = "Logs"; logs.dataset.command = "logs";
    logs.onclick = () => { showTab("logs"); document.getElementById("log-replica").value = s.name; subscribe(s.name); };
    cmds.append(logs);
  }
  renderScaling();
}

// Scaling: "worker 2 replicas [−] [+]" per scalable resource; the new or removed replica shows up in the table.
const scalingBar = document.getElementById("scaling");
const commandResult = document.getElementById("command-result");
function showResult(target, ok, text) { target.dataset.ok = ok; target.textContent = text; }
function renderScaling() {
  if (scalingBar.childElementCount !== scaling.length) {
    scalingBar.replaceChildren(...scaling.map(r => {
      const span = document.createElement("span"); span.className = "scale"; span.dataset.resource = r.name;
      const count = document.createElement("span"); count.className = "count";
      const button = (command, text, method) => {
        const b = document.createElement("button"); b.className = "cmd"; b.dataset.command = command; b.textContent = text;
        b.title = command === "scale-up" ? `Add a ${r.name} replica` : `Remove a ${r.name} replica (it finishes its jobs first)`;
        b.onclick = async () => {
          for (const x of span.querySelectorAll("button")) x.disabled = true;
          showResult(commandResult, true, command === "scale-up" ? `adding a ${r.name} replica…` : `draining a ${r.name} replica…`);
          try {
            const name = await connection.invoke(method, r.name);
            showResult(commandResult, true, command === "scale-up" ? `${name} added` : `${name} stopped and removed`);
          } catch (e) { showResult(commandResult, false, String(e.message ?? e).replace(/^.*HubException: /, "")); }
          finally { for (const x of span.querySelectorAll("button")) x.disabled = false; }
        };
        return b;
      };
      span.append(r.name, count, "replicas ", button("scale-down", "−", "ScaleDown"), button("scale-up", "+", "ScaleUp"));
      return span;
    }));
  }
  for (const r of scaling) {
    const n = [...resources.values()].filter(s => s.resource === r.name).length;
    scalingBar.querySelector(`.scale[data-resource="${r.name}"] .count`).textContent = n;
  }
}

// Console logs
const replicaSelect = document.getElementById("log-replica");
const filterBox = document.getElementById("log-filter");
const lastBox = document.getElementById("log-last");
const pre = document.getElementById("log-lines");
function fillReplicas() {
  const names = [...resources.keys()];
  if ([...replicaSelect.options].map(o => o.value).join() === names.join()) return;
  const current = replicaSelect.value;
  replicaSelect.replaceChildren(...names.map(n => new Option(n, n)));
  if (names.includes(current)) replicaSelect.value = current;
  if (!logReplica && names.length) subscribe(names[0]);
}
async function subscribe(name) {
  if (logReplica && logReplica !== name) await connection.invoke("UnsubscribeLogs", logReplica);
  logReplica = name; replicaSelect.value = name; logLines = [];
  const lines = await connection.invoke("SubscribeLogs", name, lastN());
  if (logReplica === name) { logLines = lines.concat(logLines); trimLog(); renderLog(); }
}
function lastN() { return Math.max(10, Math.min(2000, parseInt(lastBox.value, 10) || 500)); }
function trimLog() { const n = lastN(); if (logLines.length > n) logLines = logLines.slice(logLines.length - n); }
function renderLog() {
  const filter = filterBox.value.toLowerCase();
  const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 20;
  pre.replaceChildren(...logLines.filter(l => !filter || l.text.toLowerCase().includes(filter)).map(l => {
    const div = document.createElement("div"); if (l.isError) div.className = "err";
    div.textContent = `${new Date(l.at).toLocaleTimeString()}  ${l.text}`; return div;
  }));
  if (atBottom) pre.scrollTop = pre.scrollHeight;
}
replicaSelect.onchange = () => subscribe(replicaSelect.value);
filterBox.oninput = renderLog;
lastBox.onchange = () => subscribe(logReplica);

// Charts: plain SVG polylines, drawn again on every sample.
const colors = ["#3fb950", "#f85149", "#8ab4f8", "#d29922", "#bc8cff", "#ff7b72"];
const NS = "http://www.w3.org/2000/svg";
function el(name, attrs) { const e = document.createElementNS(NS, name); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); return e; }
function lineChart(id, legendId, series) {
  const svg = document.getElementById(id);
  const w = svg.clientWidth || 500, h = svg.clientHeight || 180, pad = 30;
  const n = Math.max(2, ...series.map(s => s.values.length));
  const max = Math.max(1, ...series.flatMap(s => s.values.filter(v => v !== null)));
  svg.replaceChildren(el("line", { x1: pad, y1: h - pad, x2: w, y2: h - pad, stroke: "#555" }));
  for (const frac of [0, 0.5, 1]) {
    const t = el("text", { x: 0, y: h - pad - frac * (h - 2 * pad) + 4, fill: "#888", "font-size": 10 }); t.textContent = (max * frac).toPrecision(3); svg.append(t);
  }
  series.forEach((s, i) => {
    const pts = s.values.map((v, j) => v === null ? null : `${pad + j * (w - pad) / (n - 1)},${h - pad - (v / max) * (h - 2 * pad)}`).filter(p => p).join(" ");
    const color = s.color ?? colors[i % colors.length];
    const line = el("polyline", { points: pts, fill: "none", stroke: color, "stroke-width": 2 });
    line.dataset.series = s.name; line.dataset.max = Math.max(0, ...s.values.filter(v => v !== null));
    svg.append(line);
    // Dots too: a series with gaps (no jobs in an interval) may have lone points.
    s.values.forEach((v, j) => { if (v !== null) svg.append(el("circle", { cx: pad + j * (w - pad) / (n - 1), cy: h - pad - (v / max) * (h - 2 * pad), r: 2, fill: color })); });
  });
  document.getElementById(legendId).replaceChildren(...series.map((s, i) => {
    const span = document.createElement("span"); span.style.color = s.color ?? colors[i % colors.length];
    const last = s.values.length ? s.values[s.values.length - 1] : null;
    span.textContent = `${s.name} ${last === null ? "–" : last.toFixed(1)}`; return span;
  }));
}
function renderCharts() {
  if (document.getElementById("metrics").hidden) return;
  lineChart("chart-throughput", "legend-throughput", [
    { name: "accepted", color: "#8ab4f8", values: samples.map(s => s.acceptedPerSecond) },
    { name: "succeeded", color: "#3fb950", values: samples.map(s => s.succeededPerSecond) },
    { name: "failed", color: "#f85149", values: samples.map(s => s.failedPerSecond) },
  ]);
  const lat = (k, p) => samples.map(s => s[k] ? s[k][p] : null);
  lineChart("chart-latency", "legend-latency", [
    { name: "queue p50", values: lat("queueWait", "p50") }, { name: "queue p95", values: lat("queueWait", "p95") }, { name: "queue p99", values: lat("queueWait", "p99") },
    { name: "compute p50", values: lat("compute", "p50") }, { name: "compute p95", values: lat("compute", "p95") }, { name: "compute p99", values: lat("compute", "p99") },
  ]);
  const models = [...new Set(samples.flatMap(s => Object.keys(s.queueDepth)))].sort();
  lineChart("chart-queue", "legend-queue", models.map(m => ({ name: m, values: samples.map(s => s.queueDepth[m] ?? null) })));
  // Batch sizes: bars of the last minute's batches per size bucket.
  const totals = {};
  for (const s of samples.slice(-60)) for (const [k, v] of Object.entries(s.batchSizes)) totals[k] = (totals[k] ?? 0) + v;
  const keys = Object.keys(totals).sort((a, b) => (a === "+Inf") - (b === "+Inf") || a - b);
  const svg = document.getElementById("chart-batches");
  const w = svg.clientWidth || 500, h = svg.clientHeight || 180, max = Math.max(1, ...Object.values(totals));
  svg.replaceChildren();
  keys.forEach((k, i) => {
    const bw = (w - 20) / Math.max(1, keys.length), bh = (totals[k] / max) * (h - 40);
    const bar = el("rect", { x: 10 + i * bw + 2, y: h - 20 - bh, width: bw - 4, height: bh, fill: "#8ab4f8" }); bar.dataset.size = k; bar.dataset.count = totals[k];
    const t = el("text", { x: 10 + i * bw + bw / 2 - 8, y: h - 5, fill: "#aaa", "font-size": 11 }); t.textContent = "≤" + k;
    svg.append(bar, t);
  });
  const busyWorkers = [...new Set(samples.flatMap(s => Object.keys(s.utilisation ?? {})))].sort();
  lineChart("chart-utilisation", "legend-utilisation", busyWorkers.map(w => ({ name: w, values: samples.map(s => s.utilisation?.[w] === undefined ? null : s.utilisation[w] * 100) })));
}

// Models: ModelSync's admin API, asked while the tab is open.
const modelRows = document.querySelector("#models tbody");
const modelResult = document.getElementById("model-result");
async function refreshModels() {
  if (document.getElementById("models").hidden || connection.state !== "Connected") return;
  const models = await connection.invoke("GetModels");
  if (models) renderModels(models);
}
setInterval(() => refreshModels().catch(() => {}), 2000);
function renderModels(models) {
  modelRows.replaceChildren();
  for (const m of models) {
    const tr = modelRows.insertRow(); tr.dataset.model = m.name;
    cell(tr, "name", m.name);
    cell(tr, "desired", m.desired ?? "");
    cell(tr, "pinned", m.pinned ?? "");
    cell(tr, "versions", Object.entries(m.versions).map(([v, st]) => st.state === "valid" ? v : `${v} (invalid: ${st.reason})`).join(", "));
    const serving = cell(tr, "serving");
    for (const [worker, version] of Object.entries(m.serving)) {
      const div = document.createElement("div"); div.dataset.worker = worker; div.textContent = `${worker}: ${version ?? "loading"}`; serving.append(div);
    }
    const r = m.rollout;
    const total = Object.keys(m.serving).length;
    cell(tr, "rollout", r ? `${r.state} ${r.from ?? "–"} → ${r.to}` + (r.state === "running" ? ` (${r.done.length}/${total} workers)` : "") + (r.message ? `: ${r.message}` : "") : "none");
    const history = cell(tr, "history");
    for (const h of m.history.slice(0, 5)) {
      const div = document.createElement("div");
      div.textContent = `${new Date(h.started).toLocaleTimeString()} ${h.from ?? "–"} → ${h.to} ${h.state}${h.message ? `: ${h.message}` : ""}`;
      history.append(div);
    }
    const cmds = cell(tr, "commands");
    const b = document.createElement("button"); b.className = "cmd"; b.dataset.command = "rollback"; b.textContent = "Rollback";
    b.title = "Pin the newest valid version older than the desired one";
    b.onclick = async () => {
      if (!confirm(`Roll ${m.name} back to its previous valid version?`)) return;
      b.disabled = true;
      try {
        const r = await connection.invoke("RollbackModel", m.name);
        modelResult.dataset.code = r.code ?? "";
        showResult(modelResult, r.ok, r.ok ? r.message : `${m.name}: ${r.status || ""} ${r.code ?? "error"} — ${r.message}`);
        await refreshModels();
      } catch (e) { showResult(modelResult, false, String(e.message ?? e)); }
      finally { b.disabled = false; }
    };
    cmds.append(b);
  }
}

// Tabs
function showTab(name) {
  for (const b of document.querySelectorAll("nav button")) b.setAttribute("aria-selected", b.dataset.tab === name);
  for (const s of document.querySelectorAll("main section")) s.hidden = s.id !== name;
  renderCharts();
  refreshModels().catch(() => {});
}
for (const b of document.querySelectorAll("nav button")) b.onclick = () => showTab(b.dataset.tab);

connection.start().then(async () => { setConnection("connected"); await load(); }).catch(e => setConnection("failed: " + e));
