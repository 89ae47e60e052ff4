// hook.js — the app that roster's http handler calls in bench/worker.py: a keep-alive HTTP
// server on 127.0.0.1:PORT that reads each body and answers 204 (a no-op job).
const http = require("node:http");
const port = Number(process.argv[2]);
const srv = http.createServer((req, res) => {
  req.on("data", () => {});
  req.on("end", () => {
    res.statusCode = 204;
    res.end();
  });
});
srv.keepAliveTimeout = 60000;
srv.listen(port, "127.0.0.1", () => console.log("listening"));
