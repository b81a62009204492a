/**
 * Plays the Databricks Apps front door in tests, so integration tests run the production
 * topology: client -> front door -> gateway -> child -> workspace emulator.
 *
 * As documented for Databricks Apps (shared/notes/databricks-apps.md): browsers arrive
 * with an SSO session (here: a test login that sets a cookie); programs send
 * `Authorization: Bearer <workspace OAuth token>`, accepted only on /api/ paths and
 * validated against the workspace's keys. The front door drops the client's own
 * X-Forwarded-* and X-Real-Ip headers and sets its own; with user authorization on, it
 * forwards the user's token as X-Forwarded-Access-Token. Like a proxy that only strips
 * the dash spelling, it passes underscore spellings through: refusing those is the
 * gateway's job. Like the Apps proxy, it cuts a request that has not finished within its
 * time limit (request-deadline.ts).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createRemoteJWKSet, jwtVerify } from "jose";
import type { PublicUser, WorkspaceEmulator } from "../emulator/index.js";
import { type RequestDeadline, checkRequestTimeLimit, startRequestDeadline } from "./request-deadline.js";

export interface FrontDoorOptions {
  /** The gateway's URL. */
  upstream: string;
  workspace: WorkspaceEmulator;
  /** Forward the user's token as X-Forwarded-Access-Token (the app's "user authorization"). */
  userAuthorization?: boolean;
  /**
   * A request not finished (body received and answer sent) this long after it arrived is cut:
   * 504 JSON if no answer was started, else its connection destroyed; the upstream request is
   * aborted. Default 120000, the Apps proxy's limit.
   */
  requestTimeLimitMs?: number;
}

/** One request handed to the gateway. */
export interface ForwardedRequest {
  method: string;
  path: string;
  /** The X-Request-Id the front door gave it. */
  requestId: string;
  /** The status the gateway answered; undefined if it never answered. */
  status: number | undefined;
  /** From arrival until finished, cut or abandoned by the client; undefined while in flight. */
  durationMs: number | undefined;
  /** The front door cut it at its time limit. */
  cutOff: boolean;
}

export interface FrontDoor {
  url: string;
  /** Logs a browser in: returns the Cookie header value of its session. */
  login(userName: string): string;
  /** Requests the front door refused itself (never reached the gateway). */
  refused: number;
  /** Every request handed to the gateway, oldest first. */
  forwarded: ForwardedRequest[];
  close(): Promise<void>;
}

const SESSION_COOKIE = "dbx_app_session";
const LOGIN_PATH = "/.frontdoor/login";

interface Caller {
  user: PublicUser;
  token: string | undefined;
}

export async function startFrontDoor(options: FrontDoorOptions): Promise<FrontDoor> {
  const { workspace } = options;
  const requestTimeLimitMs = checkRequestTimeLimit(options.requestTimeLimitMs);
  const inFlight = new Set<RequestDeadline>();
  const sessions = new Map<string, PublicUser>();
  // The issuer and keys as the workspace's discovery document names them.
  const discovery = (await (await fetch(`${workspace.url}/oidc/.well-known/oauth-authorization-server`)).json()) as {
    issuer: string;
    jwks_uri: string;
  };
  const keys = createRemoteJWKSet(new URL(discovery.jwks_uri));
  const state = { refused: 0 };
  const forwarded: FrontDoor["forwarded"] = [];

  const findUser = (name: string): PublicUser | undefined => workspace.users.find((u) => u.userName === name || u.id === name);

  async function identify(req: IncomingMessage): Promise<Caller | undefined> {
    const session = /(?:^|;\s*)dbx_app_session=([A-Za-z0-9_-]+)/.exec(req.headers.cookie ?? "")?.[1];
    const sessionUser = session === undefined ? undefined : sessions.get(session);
    if (sessionUser !== undefined) {
      const token = options.userAuthorization ? await workspace.mintUserToken({ userName: sessionUser.userName }) : undefined;
      return { user: sessionUser, token };
    }
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
    if (bearer === undefined || !(req.url ?? "").startsWith("/api/")) return undefined;
    try {
      const { payload } = await jwtVerify(bearer, keys, { issuer: discovery.issuer });
      const user = findUser(String(payload.sub));
      return user === undefined ? undefined : { user, token: bearer };
    } catch {
      return undefined;
    }
  }

  function refuse(req: IncomingMessage, res: ServerResponse): void {
    state.refused += 1;
    if ((req.url ?? "").startsWith("/api/")) {
      res
        .writeHead(401, { "content-type": "application/json" })
        .end(JSON.stringify({ error_code: "UNAUTHENTICATED", message: "Invalid or missing credentials." }));
    } else {
      res.writeHead(302, { location: `${LOGIN_PATH}?next=${encodeURIComponent(req.url ?? "/")}` }).end();
    }
  }

  const server = createServer((req, res) => {
    const deadline = startRequestDeadline(req, res, requestTimeLimitMs);
    inFlight.add(deadline);
    deadline.onSettled(() => inFlight.delete(deadline));
    if ((req.url ?? "").startsWith(LOGIN_PATH)) {
      const user = findUser(new URL(req.url ?? "", "http://x").searchParams.get("user") ?? "");
      if (user === undefined) return void res.writeHead(403).end("unknown test user");
      const id = randomBytes(16).toString("base64url");
      sessions.set(id, user);
      return void res.writeHead(302, { location: "/", "set-cookie": `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax` }).end();
    }
    identify(req).then(
      (caller) => {
        // Cut (or abandoned) while the caller was being identified: already answered.
        if (deadline.settled) return;
        if (caller === undefined) refuse(req, res);
        else forward(req, res, caller, deadline);
      },
      () => {
        if (!deadline.settled) refuse(req, res);
      },
    );
  });

  function forward(req: IncomingMessage, res: ServerResponse, caller: Caller, deadline: RequestDeadline): void {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined) continue;
      // The client's own claims and our session never reach the app.
      if (name.startsWith("x-forwarded-") || name === "x-real-ip" || name === "cookie" || name === "authorization") continue;
      headers[name] = value;
    }
    headers["x-forwarded-user"] = `${caller.user.id}@${workspace.workspaceId}`;
    headers["x-forwarded-email"] = caller.user.userName;
    headers["x-forwarded-preferred-username"] = caller.user.userName.split("@")[0] ?? caller.user.userName;
    headers["x-forwarded-host"] = req.headers.host ?? "";
    headers["x-forwarded-proto"] = "http";
    headers["x-real-ip"] = req.socket.remoteAddress ?? "";
    const requestId = randomUUID();
    headers["x-request-id"] = requestId;
    if (options.userAuthorization && caller.token !== undefined) headers["x-forwarded-access-token"] = caller.token;
    const upstream = new URL(options.upstream);
    const entry: ForwardedRequest = {
      method: req.method ?? "GET",
      path: req.url ?? "/",
      requestId,
      status: undefined,
      durationMs: undefined,
      cutOff: false,
    };
    forwarded.push(entry);
    deadline.onSettled((durationMs, cutOff) => {
      entry.durationMs = durationMs;
      entry.cutOff = cutOff;
    });
    const outbound = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, signal: deadline.signal },
      (answer) => {
        entry.status = answer.statusCode;
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    outbound.on("error", () => {
      // Aborted by the deadline, which has answered the client itself.
      if (deadline.cutOff) return;
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(outbound);
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    login(userName) {
      const user = findUser(userName);
      if (user === undefined) throw new Error(`no test user ${userName}`);
      const id = randomBytes(16).toString("base64url");
      sessions.set(id, user);
      return `${SESSION_COOKIE}=${id}`;
    },
    get refused() {
      return state.refused;
    },
    forwarded,
    close: () =>
      new Promise<void>((resolve) => {
        for (const deadline of inFlight) deadline.cancel();
        inFlight.clear();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
