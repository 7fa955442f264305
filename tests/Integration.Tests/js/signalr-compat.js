// Drives the stock @microsoft/signalr JavaScript client (from npm, installed by setup into .deps/node)
// against the gateway's hub: submit an image, print every JobUpdated push as one JSON line.
// usage: API_KEY=<key> node signalr-compat.js <gateway-url> <model> <image-path>
const path = require("path");
const fs = require("fs");
const signalR = require(path.join(process.env.NODE_DEPS, "node_modules", "@microsoft", "signalr"));

(async () => {
  const [gateway, model, imagePath] = process.argv.slice(2);
  const connection = new signalR.HubConnectionBuilder()
    .withUrl(`${gateway}/hubs/inference`, { accessTokenFactory: () => process.env.API_KEY })
    .withStatefulReconnect()
    .configureLogging(signalR.LogLevel.Warning)
    .build();
  const done = new Promise((resolve) => {
    connection.on("JobUpdated", (update) => {
      console.log(JSON.stringify({ event: "JobUpdated", update }));
      if (["succeeded", "failed", "expired", "cancelled"].includes(update.status)) resolve();
    });
  });
  await connection.start();
  const base64 = fs.readFileSync(imagePath).toString("base64");
  const id = await connection.invoke("Submit", model, base64, { timeoutSeconds: 60 });
  console.log(JSON.stringify({ event: "Submitted", id }));
  try {
    await connection.invoke("Submit", "no-such-model", base64, null);
  } catch (e) {
    console.log(JSON.stringify({ event: "Error", message: e.message }));
  }
  let timer;
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error("no final update within 60 s")), 60000); });
  await Promise.race([done, timeout]);
  clearTimeout(timer); // a pending timer would keep Node running for its full minute
  await connection.stop();
})().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
