// The worker role: a loop standing in for a job queue consumer. On SIGTERM it finishes the current
// tick and exits 0, which is what roster's ordered stop waits for.
let ticks = 0;
let stopping = false;

const timer = setInterval(() => {
  ticks += 1;
  console.log(`worker tick ${ticks}`);
}, Number(process.env.WORKER_EVERY_MS ?? 2000));

console.log("worker started");

process.on("SIGTERM", () => {
  if (stopping) return;
  stopping = true;
  clearInterval(timer);
  console.log(`worker stopping after ${ticks} ticks`);
  process.exit(0);
});
