// Many stock @microsoft/signalr JavaScript clients (from npm, installed by setup into .deps/node) over several gateways:
// each connection submits its jobs in rounds and waits for their final pushes. Prints one JSON line per job submitted
// ({event: "Submitted", client, id, image}) and per push received ({event: "JobUpdated", client, id, status, labels}).
// usage: API_KEY=<key> node signalr-many.js <gateway-url,gateway-url…> <model> <protocol: json|messagepack> <clients> <rounds> <per-round> <image-path…>
const path = require("path");
const fs = require("fs");
const modules = path.join(process.env.NODE_DEPS, "node_modules", "@microsoft");
const signalR = require(path.join(modules, "signalr"));

const terminal = ["succeeded", "failed", "expired", "cancelled"];

async function runClient(index, gateway, model, protocol, rounds, perRound, images) {
  let builder = new signalR.HubConnectionBuilder()
    .withUrl(`${gateway}/hubs/inference`, {
      skipNegotiation: true, transport: signalR.HttpTransportType.WebSockets, accessTokenFactory: () => process.env.API_KEY,
    })
    .configureLogging(signalR.LogLevel.Warning);
  if (protocol === "messagepack") {
    const msgpack = require(path.join(modules, "signalr-protocol-msgpack"));
    builder = builder.withHubProtocol(new msgpack.MessagePackHubProtocol());
  }
  const connection = builder.build();
  const waiting = new Map(); // job id -> resolve, for the jobs of the current round
  const finished = new Set(); // a final push may come before Submit's answer
  connection.on("JobUpdated", (update) => {
    const labels = update.output && update.output.labels ? update.output.labels : null;
    console.log(JSON.stringify({ event: "JobUpdated", client: index, id: update.id, status: update.status, labels }));
    if (terminal.includes(update.status)) {
      finished.add(update.id);
      const resolve = waiting.get(update.id);
      if (resolve) resolve();
    }
  });
  await connection.start();
  for (let round = 0; round < rounds; round++) {
    const jobs = await Promise.all(Array.from({ length: perRound }, async (_, k) => {
      const image = images[(index + round + k) % images.length];
      const bytes = fs.readFileSync(image);
      // MessagePack carries the byte[] as binary; JSON as base64, as .NET's System.Text.Json expects.
      const input = protocol === "messagepack" ? new Uint8Array(bytes) : bytes.toString("base64");
      const id = await connection.invoke("Submit", model, input, { timeoutSeconds: 120 });
      console.log(JSON.stringify({ event: "Submitted", client: index, id, image: path.basename(image) }));
      return id;
    }));
    await Promise.all(jobs.map((id) => finished.has(id) ? null : new Promise((resolve) => waiting.set(id, resolve))));
    waiting.clear();
  }
  // A duplicate push would arrive after the final one: give it a moment to show up.
  await new Promise((resolve) => setTimeout(resolve, 500));
  await connection.stop();
}

(async () => {
  const [gateways, model, protocol, clients, rounds, perRound, ...images] = process.argv.slice(2);
  const urls = gateways.split(",");
  let timer;
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error("not every job finished within 120 s")), 120000); });
  await Promise.race([
    Promise.all(Array.from({ length: Number(clients) }, (_, i) =>
      runClient(i, urls[i % urls.length], model, protocol, Number(rounds), Number(perRound), images))),
    timeout,
  ]);
  clearTimeout(timer);
})().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
