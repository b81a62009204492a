/**
 * Workload 3's reference for what Node.js itself costs: the smallest streaming reverse
 * proxy its HTTP stack allows (a node:http server, http.request on a keep-alive agent,
 * both bodies piped), with nothing of the gateway's. Measured on the same core budget as
 * the gateway and nginx, it separates Node's own share of the gateway's cost from ours.
 *
 * usage: node --import tsx scripts/bench/bare-node-proxy.ts <listen port> <upstream port>
 */
import { Agent, createServer, request } from "node:http";

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number);
if (!Number.isInteger(listenPort) || !Number.isInteger(upstreamPort)) {
  process.stderr.write("usage: bare-node-proxy.ts <listen port> <upstream port>\n");
  process.exit(2);
}
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const host = `127.0.0.1:${upstreamPort}`;

createServer((req, res) => {
  const upstream = request(
    { host: "127.0.0.1", port: upstreamPort, method: req.method, path: req.url, headers: { ...req.headers, host }, agent },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on("error", () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(upstream);
}).listen(listenPort, "127.0.0.1");
