/**
 * nginx in two roles: the reference proxy (a plain reverse proxy to the same upstream the
 * gateway uses) and the trivial upstream of workload 3 (answers from memory, so the
 * proxies' own cost is what is measured, not MLflow's Python).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { ProcessRegistry, StartedProcess } from "./process-registry.js";
import { waitForHttp } from "./wait-for-http.js";

export type NginxRole =
  /** A reverse proxy to `upstreamPort`; `hostHeader` is what MLflow's host check accepts. */
  | { kind: "proxy"; upstreamPort: number; hostHeader: string }
  /** Answers from memory: `OK` on /health (what the supervisor checks), `json` on every other path. */
  | { kind: "static"; json: string };

export interface NginxSetup {
  /** A folder of its own: config, pid, logs, temp files. */
  dir: string;
  port: number;
  role: NginxRole;
}

/** Keep-alive connections nginx keeps open to its upstream (the gateway's pool allows 256). */
const UPSTREAM_KEEPALIVE = 64;

/**
 * One worker, like the gateway's one event loop: with taskset both get the same core.
 * The proxy streams both ways (no request or response buffering to disk), as the gateway
 * does, accepts bodies of any size, and keeps its default access log, as the gateway keeps
 * its access log: the same work per request.
 */
export function renderNginxConfig(setup: NginxSetup): string {
  const { dir, port, role } = setup;
  const temp = (name: string): string => path.join(dir, "temp", name);
  const server =
    role.kind === "proxy"
      ? `
    upstream child {
        server 127.0.0.1:${role.upstreamPort};
        keepalive ${UPSTREAM_KEEPALIVE};
    }
    server {
        listen 127.0.0.1:${port} backlog=4096;
        client_max_body_size 0;
        location / {
            proxy_pass http://child;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host "${role.hostHeader}";
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_read_timeout 120s;
            proxy_send_timeout 120s;
        }
    }`
      : `
    server {
        listen 127.0.0.1:${port} backlog=4096;
        access_log off;
        location = /health { default_type text/plain; return 200 "OK"; }
        location / { default_type application/json; return 200 '${role.json.replace(/'/g, "")}'; }
    }`;
  return `# Written by scripts/bench/start-nginx.ts for one benchmark run.
worker_processes 1;
pid ${path.join(dir, "nginx.pid")};
error_log ${path.join(dir, "error.log")} warn;
events {
    worker_connections 4096;
}
http {
    access_log ${path.join(dir, "access.log")};
    client_body_temp_path ${temp("body")};
    proxy_temp_path ${temp("proxy")};
    fastcgi_temp_path ${temp("fastcgi")};
    uwsgi_temp_path ${temp("uwsgi")};
    scgi_temp_path ${temp("scgi")};
    keepalive_requests 1000000;
    keepalive_timeout 75s;
${server}
}
`;
}

/** Writes the config and returns the command line that runs nginx in the foreground. */
export function prepareNginx(nginx: string, setup: NginxSetup): { file: string; args: string[] } {
  mkdirSync(path.join(setup.dir, "temp"), { recursive: true });
  const conf = path.join(setup.dir, "nginx.conf");
  writeFileSync(conf, renderNginxConfig(setup));
  return { file: nginx, args: ["-p", setup.dir, "-e", path.join(setup.dir, "error.log"), "-c", conf, "-g", "daemon off;"] };
}

export interface NginxHandle {
  url: string;
  /** The master; its workers are its children (see proc-stats.ts processTree). */
  process: StartedProcess;
  dir: string;
}

/** Starts nginx, optionally pinned to `cpu` with taskset, and waits until it answers. */
export async function startNginx(
  registry: ProcessRegistry,
  tools: { nginx: string; taskset: string },
  name: string,
  setup: NginxSetup,
  cpu?: number,
): Promise<NginxHandle> {
  const { file, args } = prepareNginx(tools.nginx, setup);
  const command = cpu === undefined ? { file, args } : { file: tools.taskset, args: ["-c", String(cpu), file, ...args] };
  const started = registry.start(name, command.file, command.args, { logFile: path.join(setup.dir, "stdout.log") });
  const url = `http://127.0.0.1:${setup.port}`;
  await waitForHttp(`${url}/health`, { timeoutMs: 30_000, process: started });
  return { url, process: started, dir: setup.dir };
}
