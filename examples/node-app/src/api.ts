// The api role: an HTTP server on $PORT whose /health route is roster's readiness and liveness
// probe. On SIGTERM it stops accepting and exits once open requests are answered.
// POST /internal/jobs/TYPE is where roster's built-in worker delivers jobs (roster.builtin.yaml:
// an http handler): the body is the job's payload, and Roster-Signature proves it came from the
// worker (HMAC-SHA256 of "<t>.<body>" with JOB_SECRET; old timestamps are refused as replays).
import * as crypto from "node:crypto";
import * as http from "node:http";

const port = Number(process.env.PORT ?? 8080);
const secret = process.env.JOB_SECRET ?? "";

function signed(header: string | undefined, body: Buffer, toleranceSec = 300): boolean {
  const parts = Object.fromEntries(
    (header ?? "").split(",").map((kv) => kv.split("=", 2) as [string, string]),
  );
  const expected = crypto.createHmac("sha256", secret)
    .update(`${parts.t}.`).update(body).digest("hex");
  const ok = typeof parts.v1 === "string" && parts.v1.length === expected.length &&
    crypto.timingSafeEqual(Buffer.from(parts.v1), Buffer.from(expected));
  return ok && Math.abs(Date.now() / 1000 - Number(parts.t)) < toleranceSec;
}

function job(req: http.IncomingMessage, res: http.ServerResponse, type: string) {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    if (!secret || !signed(req.headers["roster-signature"] as string | undefined, body)) {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "bad or missing Roster-Signature" }) + "\n");
      return;
    }
    // the job itself: here, say what it was (a 2xx answer is success; anything else is retried)
    console.log(`job ${req.headers["roster-job-id"]} (${type}, attempt ` +
      `${req.headers["roster-job-attempt"]}): ${body.toString()}`);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ ok: true }) + "\n");
  });
}

const server = http.createServer((req, res) => {
  const m = req.method === "POST" && /^\/internal\/jobs\/([\w.:-]+)$/.exec(req.url ?? "");
  if (m) {
    job(req, res, m[1]);
    return;
  }
  if (req.url === "/health") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok\n");
    return;
  }
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ hello: "from the api", pid: process.pid }) + "\n");
});

server.listen(port, () => console.log(`api listening on ${port}`));

process.on("SIGTERM", () => {
  console.log("api stopping");
  server.close(() => process.exit(0));
});
