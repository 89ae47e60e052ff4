// The api role: an HTTP server on $PORT whose /health route is roster's readiness and liveness
// probe. On SIGTERM it stops accepting and exits once open requests are answered.
import * as http from "node:http";

const port = Number(process.env.PORT ?? 8080);

const server = http.createServer((req, res) => {
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
