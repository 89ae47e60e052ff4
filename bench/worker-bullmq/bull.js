// bull.js — BullMQ's side of bench/worker.py: `node bull.js enqueue REDIS_PORT N` adds N no-op
// jobs to queue "bench" (addBulk, 1000 at a time) and prints "enqueued N"; `node bull.js work
// REDIS_PORT CONCURRENCY` runs a worker with a no-op processor until SIGTERM. Defaults
// everywhere else, as an app would start.
const { Queue, Worker } = require("bullmq");

const [mode, port, n] = process.argv.slice(2);
const connection = { host: "127.0.0.1", port: Number(port), maxRetriesPerRequest: null };

async function enqueue() {
  const q = new Queue("bench", { connection });
  const total = Number(n);
  for (let i = 0; i < total; i += 1000) {
    const batch = [];
    for (let k = i; k < Math.min(total, i + 1000); k++) batch.push({ name: "noop", data: { i: k } });
    await q.addBulk(batch);
  }
  console.log("enqueued " + total);
  await q.close();
}

async function work() {
  const w = new Worker("bench", async () => {}, { connection, concurrency: Number(n) });
  await w.waitUntilReady();
  console.log("ready");
  process.on("SIGTERM", async () => {
    await w.close();
    process.exit(0);
  });
}

(mode === "enqueue" ? enqueue() : work()).catch((e) => {
  console.error(e);
  process.exit(1);
});
