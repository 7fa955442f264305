// The browser client: pick a model, send an image over SignalR (MessagePack: the image as raw bytes), watch the job's
// state change live, then draw the result (OCR boxes with their text, or labels with scores).
(() => {
  const $ = (id) => document.getElementById(id);
  const jobs = new Map(); // jobId -> { image, model, rank: furthest state shown }
  const early = new Map(); // the furthest update that arrived before Submit returned the id
  let currentJob = null;

  // A job only moves forward (queued → running → terminal); the same state can arrive twice (Subscribe's answer and a
  // push), so an update at or behind what is shown is dropped.
  const rank = (status) => (status === "queued" ? 0 : status === "running" ? 1 : 2);

  // The account's API key: remembered in this browser, set by a link ending in #key=… (the AppHost prints one) or typed in.
  const keyStorage = "aspire-inference.apiKey";
  const fromLink = new URLSearchParams(location.hash.slice(1)).get("key");
  if (fromLink) {
    localStorage.setItem(keyStorage, fromLink);
    history.replaceState(null, "", location.pathname + location.search); // not left in the address bar or history
  }
  const apiKey = () => localStorage.getItem(keyStorage) || "";

  const connection = new signalR.HubConnectionBuilder()
    // WebSockets straight away, no negotiate request: behind a proxy spreading connections over several gateway
    // replicas, negotiate and the WebSocket could land on different ones. On reconnect the page subscribes again.
    // The key travels as ?access_token= (browsers cannot set headers on a WebSocket).
    .withUrl("/hubs/inference", { skipNegotiation: true, transport: signalR.HttpTransportType.WebSockets, accessTokenFactory: apiKey })
    .withHubProtocol(new signalR.protocols.msgpack.MessagePackHubProtocol())
    .withAutomaticReconnect()
    .build();

  // Follows the current job again: after a reconnect (maybe to another gateway replica), or when the gateway asks.
  async function resubscribe() {
    const job = currentJob && jobs.get(currentJob);
    if (!job || job.rank === 2) return;
    try { render(await connection.invoke("Subscribe", currentJob)); } catch (e) { showError(e); }
  }

  const setConnection = (state) => {
    $("connection").dataset.state = state;
    $("connection").textContent = state;
  };
  connection.onreconnecting(() => setConnection("reconnecting"));
  connection.onreconnected(() => {
    setConnection("connected");
    return resubscribe();
  });
  connection.onclose(() => setConnection("disconnected"));
  connection.on("JobUpdated", (update) => {
    if (update.id === currentJob) render(update);
    else if (!jobs.has(update.id)) {
      const kept = early.get(update.id);
      if (!kept || rank(update.status) > rank(kept.status)) early.set(update.id, update);
    }
  });
  connection.on("Resync", () => { resubscribe(); });

  async function loadModels() {
    const response = await fetch("/v1/models", { headers: { Authorization: `Bearer ${apiKey()}` } });
    if (response.status === 401) throw new Error("unauthenticated: the API key is not valid (unknown or revoked)");
    const models = await response.json();
    const select = $("model");
    select.innerHTML = "";
    for (const m of models) {
      if (m.task === "tensor") continue;
      const option = document.createElement("option");
      option.value = m.name;
      option.textContent = `${m.name} (${m.task}, v${m.latestVersion})`;
      select.appendChild(option);
    }
    if (models.some((m) => m.name === "ocr")) select.value = "ocr";
  }

  function showError(e) {
    const message = (e && e.message) ? e.message.replace(/^.*HubException: /, "") : String(e);
    $("error").textContent = message;
    $("error").hidden = false;
  }

  async function submit(file) {
    $("error").hidden = true;
    const bytes = new Uint8Array(await file.arrayBuffer());
    const image = await createImageBitmap(file);
    try {
      currentJob = null;
      // A Uint8Array is MessagePack binary: the server's byte[] as it is, no base64.
      const id = await connection.invoke("Submit", $("model").value, bytes, null);
      currentJob = id;
      jobs.set(id, { image, model: $("model").value, rank: -1 });
      $("job").hidden = false;
      $("job-id").textContent = id;
      drawImage(image);
      $("output").innerHTML = "";
      if (early.has(id)) { render(early.get(id)); early.delete(id); }
    } catch (e) {
      showError(e);
    }
  }

  function drawImage(image) {
    const canvas = $("canvas");
    canvas.width = image.width;
    canvas.height = image.height;
    canvas.getContext("2d").drawImage(image, 0, 0);
  }

  function render(update) {
    const job = jobs.get(update.id);
    if (!job || rank(update.status) <= job.rank) return;
    job.rank = rank(update.status);
    $("status").dataset.state = update.status;
    $("status").textContent = update.status;
    $("status").setAttribute("data-testid", "status");
    const t = update.timings;
    $("timings").textContent = t ? `queue ${fmt(t.queueMs)} · compute ${fmt(t.computeMs)} · total ${fmt(t.totalMs)} · batch ${t.batchSize ?? "–"}` : "";
    if (update.status === "failed" || update.status === "expired" || update.status === "cancelled") {
      $("output").innerHTML = "";
      const p = document.createElement("p");
      p.className = "error";
      p.textContent = `${update.error?.code ?? update.status}: ${update.error?.message ?? ""}`;
      $("output").appendChild(p);
      return;
    }
    if (update.status !== "succeeded" || !update.output) return;
    drawImage(job.image);
    const output = update.output;
    if (output.lines) renderOcr(output.lines);
    else if (output.boxes) renderBoxes(output.boxes.map((b) => ({ box: b.points, text: b.score.toFixed(2) })));
    else if (output.labels) renderLabels(output.labels);
    else if (typeof output.text === "string") renderText(output);
    else renderJson(output);
  }

  const fmt = (ms) => (ms == null ? "–" : `${ms.toFixed(1)} ms`);

  function renderBoxes(items) {
    const ctx = $("canvas").getContext("2d");
    ctx.lineWidth = 2;
    ctx.font = "14px 'DejaVu Sans', sans-serif";
    for (const { box, text } of items) {
      ctx.strokeStyle = "#e53e3e";
      ctx.beginPath();
      box.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      ctx.closePath();
      ctx.stroke();
      ctx.fillStyle = "#e53e3e";
      ctx.fillText(text, box[0][0], Math.max(12, box[0][1] - 4));
    }
  }

  function renderOcr(lines) {
    renderBoxes(lines.map((l) => ({ box: l.box, text: l.text })));
    const list = document.createElement("ol");
    list.setAttribute("data-testid", "lines");
    for (const line of lines) {
      const li = document.createElement("li");
      const text = document.createElement("span");
      text.className = "text";
      text.textContent = line.text;
      li.appendChild(text);
      const score = document.createElement("span");
      score.className = "score";
      score.textContent = `  ${(line.confidence * 100).toFixed(1)}%${line.angle ? " ↻180°" : ""}`;
      li.appendChild(score);
      list.appendChild(li);
    }
    $("output").replaceChildren(list);
  }

  function renderLabels(labels) {
    const list = document.createElement("ol");
    list.setAttribute("data-testid", "labels");
    for (const l of labels) {
      const li = document.createElement("li");
      li.textContent = `${l.label} `;
      const score = document.createElement("span");
      score.className = "score";
      score.textContent = `${(l.score * 100).toFixed(1)}%`;
      const bar = document.createElement("div");
      bar.className = "bar";
      bar.style.width = `${Math.round(l.score * 100)}%`;
      li.append(score, bar);
      list.appendChild(li);
    }
    $("output").replaceChildren(list);
  }

  function renderText(output) {
    const p = document.createElement("p");
    p.setAttribute("data-testid", "text");
    p.textContent = output.text;
    $("output").replaceChildren(p);
  }

  function renderJson(output) {
    const pre = document.createElement("pre");
    pre.textContent = JSON.stringify(output, null, 2);
    $("output").replaceChildren(pre);
  }

  const drop = $("drop");
  drop.addEventListener("click", () => $("file").click());
  drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") $("file").click(); });
  $("file").addEventListener("change", () => { if ($("file").files[0]) submit($("file").files[0]); });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files[0]) submit(e.dataTransfer.files[0]);
  });

  const askForKey = () => {
    $("key-form").hidden = false;
    $("change-key").hidden = true;
    $("api-key").focus();
  };

  async function start() {
    if (!apiKey()) {
      setConnection("no key");
      askForKey();
      return;
    }
    $("key-form").hidden = true;
    $("change-key").hidden = false;
    $("error").hidden = true;
    setConnection("connecting");
    try {
      // Models first: a key that does not work is one clear 401, not a failed WebSocket.
      await loadModels();
      await connection.start();
      setConnection("connected");
    } catch (e) {
      setConnection("disconnected");
      showError(e);
      if (String(e && e.message).startsWith("unauthenticated")) askForKey();
    }
  }

  $("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    localStorage.setItem(keyStorage, $("api-key").value.trim());
    $("api-key").value = "";
    start();
  });
  $("register").addEventListener("click", async () => {
    try {
      const response = await fetch("/v1/accounts", { method: "POST" });
      const body = await response.json();
      if (!response.ok) throw new Error(`${body.code}: ${body.detail}`);
      localStorage.setItem(keyStorage, body.apiKey);
      // Shown once: the gateway keeps only its hash.
      $("api-key").value = "";
      alert(`Your new API key (shown only now; this browser remembers it):\n\n${body.apiKey}`);
      start();
    } catch (e) {
      showError(e);
    }
  });
  $("change-key").addEventListener("click", async () => {
    await connection.stop();
    localStorage.removeItem(keyStorage);
    setConnection("no key");
    askForKey();
  });

  start();
})();
