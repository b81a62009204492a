// Large and broken transfers: Files API multipart uploads (over HTTP and through the
// official databricks-sdk), atomic single-shot uploads, ranged downloads, the call record
// that attributes every request and every byte, and the front door's time limit. One
// emulator for all of it, as each start costs a real mlflow server.

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import { type IncomingMessage, type Server, type ServerResponse, createServer, request } from "node:http";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { waitFor, waitUntil } from "../support/wait-for.js";
import { type CallRecord, type WorkspaceEmulator, startWorkspaceEmulator } from "../emulator/index.js";
import { runMlflowPython } from "../emulator/python-client.js";
import { ucAdmin } from "../emulator/uc-admin.js";
import { type FrontDoor, startFrontDoor } from "../front-door/front-door.js";
import { DEFAULT_REQUEST_TIME_LIMIT_MS } from "../front-door/request-deadline.js";

const ADMIN = "admin@example.com";
const ALICE = "alice@example.com";
const VOLUME = "/Volumes/main/default/vol";

let emu: WorkspaceEmulator;
let sp: string;
const tokens: Record<string, string> = {};

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  text: string;
}

async function call(who: string, method: string, apiPath: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${emu.url}${apiPath}`, {
    method,
    headers: { authorization: `Bearer ${tokens[who] ?? ""}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text.startsWith("{") ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function putFile(who: string, file: string, content: Uint8Array | string): Promise<number> {
  const res = await fetch(`${emu.url}/api/2.0/fs/files${file}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${tokens[who] ?? ""}`, "content-type": "application/octet-stream" },
    body: content,
  });
  await res.arrayBuffer();
  return res.status;
}

const sha256 = (data: Uint8Array): string => createHash("sha256").update(data).digest("hex");
const md5Etag = (data: Uint8Array): string => `"${createHash("md5").update(data).digest("hex")}"`;

async function initiate(who: string, file: string, query = ""): Promise<string> {
  const started = await call(who, "POST", `/api/2.0/fs/files${file}?action=initiate-upload${query}`);
  assert.equal(started.status, 200, started.text);
  const token = (started.body.multipart_upload as { session_token?: unknown } | undefined)?.session_token;
  assert.equal(typeof token, "string");
  return token as string;
}

interface PartUrl {
  url: string;
  part_number: number;
  headers: Array<{ name: string; value: string }>;
}

async function partUrls(who: string, file: string, sessionToken: string, start: number, count: number): Promise<PartUrl[]> {
  const expire = new Date(Date.now() + 3600_000).toISOString();
  const answer = await call(who, "POST", "/api/2.0/fs/create-upload-part-urls", {
    path: file,
    session_token: sessionToken,
    start_part_number: start,
    count,
    expire_time: expire,
  });
  assert.equal(answer.status, 200, answer.text);
  return answer.body.upload_part_urls as PartUrl[];
}

/** PUTs a part to its signed URL without credentials, as the SDK's cloud session does; answers the ETag. */
async function putPart(part: PartUrl, data: Uint8Array): Promise<string> {
  const headers = Object.fromEntries(part.headers.map((h) => [h.name, h.value]));
  const res = await fetch(part.url, { method: "PUT", headers, body: data });
  assert.equal(res.status, 200, await res.clone().text());
  return res.headers.get("etag") ?? "";
}

const completeQuery = (token: string): string => `action=complete-upload&upload_type=multipart&session_token=${encodeURIComponent(token)}`;
const abortQuery = (token: string): string => `action=abort-upload&upload_type=multipart&session_token=${encodeURIComponent(token)}`;

/** Sends raw bytes on a fresh connection; answers what came back before the server closed it. */
function rawRequest(head: string, body: Buffer, options: { hangUpAfterMs?: number } = {}): Promise<string> {
  const { port } = new URL(emu.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), "127.0.0.1", () => {
      socket.write(head);
      socket.write(body);
      if (options.hangUpAfterMs !== undefined) {
        setTimeout(() => {
          socket.destroy();
          resolve("");
        }, options.hangUpAfterMs);
      }
    });
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("end", () => resolve(Buffer.concat(chunks).toString()));
    socket.on("error", reject);
  });
}

function waitForCall(predicate: (c: CallRecord) => boolean): Promise<CallRecord> {
  return waitFor("the call to be recorded", () => emu.calls.find(predicate), { timeoutMs: 5_000, intervalMs: 50 });
}

/** Every file under the emulator's blob store, as paths relative to it. */
async function storedFiles(): Promise<string[]> {
  const root = path.join(emu.dataDir, "blobs");
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(root, path.join(e.parentPath, e.name)));
}

before(async () => {
  emu = await startWorkspaceEmulator({ users: [{ userName: ADMIN, groups: ["admins"] }, { userName: ALICE }] });
  sp = emu.servicePrincipal.applicationId;
  tokens[ADMIN] = await emu.mintUserToken({ userName: ADMIN });
  tokens[ALICE] = await emu.mintUserToken({ userName: ALICE });
  tokens[sp] = await emu.mintServicePrincipalToken();
  const uc = await ucAdmin(emu, ADMIN);
  await uc.allowVolume("main.default.vol", sp, "write");
  await uc.allowVolume("main.default.vol", ALICE, "read");
});

after(async () => {
  await emu?.stop();
});

describe("multipart uploads", () => {
  it("assembles parts uploaded to signed URLs, in part order, and shows nothing at the path until completion", async () => {
    const file = `${VOLUME}/multi/data.bin`;
    const parts = [randomBytes(1024 * 1024), randomBytes(1024 * 1024), randomBytes(300_000)];
    const token = await initiate(sp, file);
    const urls = await partUrls(sp, file, token, 1, 3);
    assert.deepEqual(
      urls.map((u) => [u.part_number, u.headers]),
      [1, 2, 3].map((n) => [n, [{ name: "Content-Type", value: "application/octet-stream" }]]),
    );
    assert.ok(urls.every((u) => u.url.startsWith(`${emu.url}/blob${file}?`)));
    // Out of order, as parallel uploads arrive; the ETag is the part's quoted MD5, as S3's.
    const etags: string[] = [];
    for (const i of [2, 0, 1]) etags[i] = await putPart(urls[i] as PartUrl, parts[i] as Buffer);
    assert.deepEqual(etags, parts.map(md5Etag));

    assert.equal((await call(sp, "GET", `/api/2.0/fs/files${file}`)).status, 404, "no partial file at the path");
    const listing = await call(sp, "GET", `/api/2.0/fs/directories${VOLUME}`);
    assert.ok(!JSON.stringify(listing.body).includes("multi"), "nothing listed before completion");

    const complete = (partsBody: unknown): Promise<Answer> =>
      call(sp, "POST", `/api/2.0/fs/files${file}?${completeQuery(token)}`, { parts: partsBody });
    const listed = etags.map((etag, i) => ({ part_number: i + 1, etag }));
    for (const [wrong, message] of [
      [[listed[0], { part_number: 2, etag: '"0123"' }, listed[2]], /etag of part 2 does not match/],
      [[...listed, { part_number: 4, etag: etags[0] }], /Part 4 was not uploaded/],
      [[listed[1], listed[0], listed[2]], /ascending order/],
      [[], /Missing required field: parts/],
    ] as const) {
      const refused = await complete(wrong);
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error_code, "INVALID_PARAMETER_VALUE");
      assert.match(String(refused.body.message), message);
    }
    const done = await complete(listed);
    assert.equal(done.status, 200, done.text);
    const got = await fetch(`${emu.url}/api/2.0/fs/files${file}`, { headers: { authorization: `Bearer ${tokens[sp]}` } });
    assert.equal(sha256(new Uint8Array(await got.arrayBuffer())), sha256(Buffer.concat(parts)));

    // The session is over: completing again, or another part, finds nothing.
    const again = await complete(listed);
    assert.deepEqual([again.status, again.body.error_code], [404, "NOT_FOUND"]);
    const late = await fetch((urls[0] as PartUrl).url, { method: "PUT", body: "x" });
    assert.equal(late.status, 404);
    assert.match(await late.text(), /<Code>NoSuchUpload<\/Code>/);
    assert.ok(!(await storedFiles()).some((f) => f.includes(".upload-")), "no temporary file left behind");
  });

  it("discards an aborted session, keeps sessions to their owner, and applies a PUT's access rules", async () => {
    const file = `${VOLUME}/multi/aborted.bin`;
    const token = await initiate(sp, file);
    const [url] = await partUrls(sp, file, token, 1, 1);
    await putPart(url as PartUrl, randomBytes(1000));
    // A part URL is bound to its part: another number, or a delete, is refused.
    const tampered = (url as PartUrl).url.replace("partNumber=1", "partNumber=2");
    assert.equal((await fetch(tampered, { method: "PUT", body: "x" })).status, 403);
    assert.equal((await fetch((url as PartUrl).url, { method: "DELETE" })).status, 403);
    // The metastore admin may write the volume, but the session is not theirs.
    const foreign = await call(ADMIN, "POST", `/api/2.0/fs/files${file}?${abortQuery(token)}`);
    assert.deepEqual([foreign.status, foreign.body.error_code], [404, "NOT_FOUND"]);
    assert.equal((await call(sp, "POST", `/api/2.0/fs/files${file}?${abortQuery(token)}`)).status, 200);
    const gone = await call(sp, "POST", `/api/2.0/fs/files${file}?${completeQuery(token)}`, { parts: [{ part_number: 1, etag: "x" }] });
    assert.deepEqual([gone.status, gone.body.error_code], [404, "NOT_FOUND"]);
    assert.equal((await call(sp, "GET", `/api/2.0/fs/files${file}`)).status, 404);

    // Alice reads the volume but may not write it, so she may not start an upload there.
    const alice = await call(ALICE, "POST", `/api/2.0/fs/files${file}?action=initiate-upload`);
    assert.deepEqual([alice.status, alice.body.error_code], [403, "PERMISSION_DENIED"]);
    const outside = await call(sp, "POST", "/api/2.0/fs/files/tmp/x.bin?action=initiate-upload");
    assert.equal(outside.status, 400);
    // overwrite=false on an existing file is refused at once, as for a single-shot PUT.
    assert.equal(await putFile(sp, `${VOLUME}/multi/exists.txt`, "old"), 204);
    const kept = await call(sp, "POST", `/api/2.0/fs/files${VOLUME}/multi/exists.txt?action=initiate-upload&overwrite=false`);
    assert.deepEqual([kept.status, kept.body.error_code], [409, "ALREADY_EXISTS"]);
    const unknown = await call(sp, "POST", `/api/2.0/fs/files${file}?action=resume-upload`);
    assert.equal(unknown.status, 400);
  });

  it("takes parts sent straight to the Files API with credentials, as the storage proxy does", async () => {
    const file = `${VOLUME}/multi/direct.bin`;
    const parts = [randomBytes(200_000), randomBytes(5)];
    const token = await initiate(sp, file);
    const etags: string[] = [];
    for (const [i, data] of parts.entries()) {
      const query = `session_token=${encodeURIComponent(token)}&upload_type=multipart&part_number=${i + 1}`;
      const res = await fetch(`${emu.url}/api/2.0/fs/files${file}?${query}`, {
        method: "PUT",
        headers: { authorization: `Bearer ${tokens[sp]}`, "content-type": "application/octet-stream" },
        body: data,
      });
      assert.equal(res.status, 200, await res.clone().text());
      etags.push(res.headers.get("etag") ?? "");
    }
    const unknownSession = await fetch(`${emu.url}/api/2.0/fs/files${file}?session_token=nope&upload_type=multipart&part_number=1`, {
      method: "PUT",
      headers: { authorization: `Bearer ${tokens[sp]}` },
      body: "x",
    });
    assert.equal(unknownSession.status, 404);
    const done = await call(sp, "POST", `/api/2.0/fs/files${file}?${completeQuery(token)}`, {
      parts: etags.map((etag, i) => ({ part_number: i + 1, etag })),
    });
    assert.equal(done.status, 200, done.text);
    const got = await fetch(`${emu.url}/api/2.0/fs/files${file}`, { headers: { authorization: `Bearer ${tokens[sp]}` } });
    assert.equal(sha256(new Uint8Array(await got.arrayBuffer())), sha256(Buffer.concat(parts)));
  });

  it("uploads 60 MiB through databricks-sdk's multipart path and reads it back", async () => {
    emu.clearCalls();
    const file = `${VOLUME}/sdk/big.bin`;
    const { result } = await runMlflowPython(
      emu,
      `
import hashlib, io, os
from databricks.sdk import WorkspaceClient
w = WorkspaceClient()
data = os.urandom(60 * 1024 * 1024)
w.files.upload(${JSON.stringify(file)}, io.BytesIO(data), overwrite=True)
got = w.files.download(${JSON.stringify(file)}).contents.read()
emit({"sent": hashlib.sha256(data).hexdigest(), "got": hashlib.sha256(got).hexdigest(), "size": len(got)})
`,
    );
    const r = result as { sent: string; got: string; size: number };
    assert.equal(r.size, 60 * 1024 * 1024);
    assert.equal(r.got, r.sent);
    const seen = emu.calls.map((c) => `${c.method} ${c.path} ${c.status}`);
    assert.ok(seen.includes(`POST /api/2.0/fs/files${file} 200`), seen.join("\n"));
    assert.ok(seen.includes("POST /api/2.0/fs/create-upload-part-urls 200"));
    assert.ok(!seen.includes(`PUT /api/2.0/fs/files${file} 204`), "not the single-shot fallback");
    const parts = emu.calls.filter((c) => c.surface === "blob" && c.method === "PUT");
    assert.equal(parts.length, 6, "10 MiB parts (config.py:208-211)");
    assert.equal(
      parts.reduce((sum, c) => sum + c.bytesIn, 0),
      60 * 1024 * 1024,
    );
    assert.ok(parts.every((c) => c.signedFor?.principalName === sp && c.principalName === null && c.credential === "signed_url"));
  });
});

describe("single-shot uploads and ranged downloads", () => {
  it("keeps the old file when an upload is cut off, and stores nothing at a new path", async () => {
    const old = `${VOLUME}/atomic/kept.txt`;
    assert.equal(await putFile(sp, old, "the old content"), 204);
    for (const file of [old, `${VOLUME}/atomic/new.txt`]) {
      const head = `PUT /api/2.0/fs/files${file} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${tokens[sp]}\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n`;
      await rawRequest(head, randomBytes(40_000), { hangUpAfterMs: 300 });
      const cut = await waitForCall((c) => c.path === `/api/2.0/fs/files${file}` && !c.finished);
      assert.equal(cut.bytesIn, 40_000);
      assert.equal(cut.principalName, sp);
    }
    assert.equal((await call(sp, "GET", `/api/2.0/fs/files${old}`)).text, "the old content");
    assert.equal((await call(sp, "GET", `/api/2.0/fs/files${VOLUME}/atomic/new.txt`)).status, 404);
    const listed = await call(sp, "GET", `/api/2.0/fs/directories${VOLUME}/atomic`);
    assert.deepEqual(
      (listed.body.contents as Array<{ name: string }>).map((e) => e.name),
      ["kept.txt"],
    );
    assert.ok(!(await storedFiles()).some((f) => f.includes(".upload-")), "the temporary file is removed");
  });

  it("refuses a PUT that has neither Content-Length nor chunked encoding, and takes a chunked one", async () => {
    const file = `${VOLUME}/atomic/framing.txt`;
    const head = `PUT /api/2.0/fs/files${file} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${tokens[sp]}\r\nConnection: close\r\n\r\n`;
    const answer = await rawRequest(head, Buffer.alloc(0));
    assert.match(answer, /^HTTP\/1\.1 411 /);
    assert.match(answer, /"error_code":"INVALID_PARAMETER_VALUE"/);
    assert.equal((await call(sp, "GET", `/api/2.0/fs/files${file}`)).status, 404);
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(Buffer.from("chunked "));
        controller.enqueue(Buffer.from("body"));
        controller.close();
      },
    });
    const res = await fetch(`${emu.url}/api/2.0/fs/files${file}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${tokens[sp]}` },
      body: chunked,
      duplex: "half",
    });
    assert.equal(res.status, 204);
    assert.equal((await call(sp, "GET", `/api/2.0/fs/files${file}`)).text, "chunked body");
  });

  it("answers one byte range with 206 and an unsatisfiable one with 416, as the SDK's ranged downloads expect", async () => {
    const file = `${VOLUME}/atomic/ranges.bin`;
    const data = randomBytes(100);
    assert.equal(await putFile(sp, file, data), 204);
    const get = (range?: string): Promise<Response> =>
      fetch(`${emu.url}/api/2.0/fs/files${file}`, { headers: { authorization: `Bearer ${tokens[sp]}`, ...(range ? { range } : {}) } });
    const whole = await get();
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get("accept-ranges"), "bytes");
    assert.equal(Buffer.from(await whole.arrayBuffer()).compare(data), 0);
    for (const [range, start, end] of [
      ["bytes=10-19", 10, 19],
      ["bytes=90-", 90, 99],
      ["bytes=-5", 95, 99],
      ["bytes=95-200", 95, 99],
    ] as const) {
      const part = await get(range);
      assert.equal(part.status, 206, range);
      assert.equal(part.headers.get("content-range"), `bytes ${start}-${end}/100`);
      assert.equal(part.headers.get("content-length"), String(end - start + 1));
      assert.equal(part.headers.get("accept-ranges"), "bytes");
      assert.equal(Buffer.from(await part.arrayBuffer()).compare(data.subarray(start, end + 1)), 0, range);
    }
    const unsatisfiable = await get("bytes=200-300");
    assert.equal(unsatisfiable.status, 416);
    assert.equal(unsatisfiable.headers.get("content-range"), "bytes */100");
    assert.equal(((await unsatisfiable.json()) as Record<string, unknown>).error_code, "INVALID_PARAMETER_VALUE");
    const several = await get("bytes=0-1,50-51");
    assert.equal(several.status, 200, "several ranges: the whole file");
    assert.equal((await several.arrayBuffer()).byteLength, 100);
    // The SDK resumes a download with If-Unmodified-Since; a changed file must not be spliced in.
    const since = (date: string): Promise<Response> =>
      fetch(`${emu.url}/api/2.0/fs/files${file}`, {
        headers: { authorization: `Bearer ${tokens[sp]}`, range: "bytes=0-9", "if-unmodified-since": date },
      });
    assert.equal((await since(new Date(Date.now() + 60_000).toUTCString())).status, 206);
    const changed = await since("Thu, 01 Jan 1970 00:00:00 GMT");
    assert.equal(changed.status, 412);
    assert.equal(((await changed.json()) as Record<string, unknown>).error_code, "FAILED_PRECONDITION");
  });
});

describe("the call record", () => {
  it("names the principal of every request and of every byte received, and never a credential", async () => {
    emu.clearCalls();
    const small = randomBytes(12_345);
    assert.equal(await putFile(sp, `${VOLUME}/record/single.bin`, small), 204);
    const upload = await call(sp, "POST", "/api/2.0/fs/create-upload-url", { path: `${VOLUME}/record/signed.bin` });
    assert.equal((await fetch(String(upload.body.url), { method: "PUT", body: randomBytes(2_000) })).status, 200);
    const token = await initiate(sp, `${VOLUME}/record/multi.bin`);
    const [url] = await partUrls(sp, `${VOLUME}/record/multi.bin`, token, 1, 1);
    const etag = await putPart(url as PartUrl, randomBytes(3_000));
    const completion = { parts: [{ part_number: 1, etag }] };
    assert.equal((await call(sp, "POST", `/api/2.0/fs/files${VOLUME}/record/multi.bin?${completeQuery(token)}`, completion)).status, 200);
    // Alice reads, and someone without credentials knocks on a few doors.
    assert.equal((await call(ALICE, "GET", `/api/2.0/fs/files${VOLUME}/record/single.bin`)).status, 200);
    await (await fetch(`${emu.url}/.well-known/databricks-config`)).text();
    await (await fetch(`${emu.url}/no/such/page`)).text();

    const calls = emu.calls;
    // (a) Every byte that arrived came from the service principal: by its token or on a URL signed for it.
    const senders = new Set(calls.filter((c) => c.bytesIn > 0).map((c) => c.principalName ?? c.signedFor?.principalName ?? "nobody"));
    assert.deepEqual([...senders], [sp]);
    const received = calls.filter((c) => c.method === "PUT").reduce((sum, c) => sum + c.bytesIn, 0);
    assert.equal(received, 12_345 + 2_000 + 3_000);
    const completionCall = calls.find((c) => c.path === `/api/2.0/fs/files${VOLUME}/record/multi.bin` && c.method === "POST" && c.bytesIn > 0);
    assert.equal(completionCall?.bytesIn, Buffer.byteLength(JSON.stringify(completion)));
    assert.ok(calls.filter((c) => c.surface === "blob").every((c) => c.signedFor?.principalName === sp && c.principalName === null));
    // (b) Every request is listed with its principal; Alice's token made exactly one.
    assert.deepEqual(
      calls.filter((c) => c.principalName === ALICE || c.signedFor?.principalName === ALICE).map((c) => `${c.method} ${c.surface} ${c.status}`),
      ["GET api 200"],
    );
    assert.ok(calls.some((c) => c.surface === "discovery" && c.path === "/.well-known/databricks-config" && c.principalName === null));
    assert.ok(calls.some((c) => c.surface === "other" && c.path === "/no/such/page" && c.status === 404));
    assert.ok(calls.every((c) => c.finished));
    const serialized = JSON.stringify(calls);
    for (const secret of [tokens[sp] ?? "", tokens[ALICE] ?? "", token, "sig="]) assert.ok(!serialized.includes(secret));
  });
});

describe("front door time limit", () => {
  const LIMIT_MS = 400;
  let upstream: Server;
  let frontDoor: FrontDoor;
  let cookie: string;
  /** Upstream requests that ended before their answer was complete (the front door aborted them). */
  const abortedUpstream: string[] = [];

  before(async () => {
    upstream = createServer((req: IncomingMessage, res: ServerResponse) => {
      res.once("close", () => {
        if (!res.writableFinished) abortedUpstream.push(req.url ?? "");
      });
      if (req.url === "/api/fast") return void res.writeHead(200, { "content-type": "text/plain" }).end("quick");
      if (req.url === "/api/stall-before-headers") return; // never answers
      if (req.url === "/api/stall-mid-body") return void res.writeHead(200, { "content-type": "text/plain" }).write("half an answer");
      if (req.url === "/api/upload") {
        req.resume();
        req.on("end", () => res.writeHead(200).end("stored"));
      }
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    frontDoor = await startFrontDoor({
      upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      workspace: emu,
      requestTimeLimitMs: LIMIT_MS,
    });
    cookie = frontDoor.login(ALICE);
  });

  after(async () => {
    await frontDoor?.close();
    upstream?.closeAllConnections();
    await new Promise<void>((resolve) => upstream?.close(() => resolve()));
  });

  const entryFor = (p: string): FrontDoor["forwarded"][number] | undefined => frontDoor.forwarded.find((e) => e.path === p);

  it("lets a quick request through and records how long it took", async () => {
    const res = await fetch(`${frontDoor.url}/api/fast`, { headers: { cookie } });
    assert.equal(await res.text(), "quick");
    const entry = await waitFor("the front door's record of the call", () => entryFor("/api/fast"));
    assert.equal(entry?.cutOff, false);
    assert.ok(entry?.durationMs !== undefined && entry.durationMs < LIMIT_MS, String(entry?.durationMs));
  });

  it("answers 504 JSON when the app has not answered within the limit, and aborts the upstream request", async () => {
    const started = Date.now();
    const res = await fetch(`${frontDoor.url}/api/stall-before-headers`, { headers: { cookie } });
    assert.equal(res.status, 504);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.error_code, "DEADLINE_EXCEEDED");
    assert.ok(Date.now() - started >= LIMIT_MS - 20);
    await waitUntil("the upstream request aborted", () => abortedUpstream.includes("/api/stall-before-headers"));
    const entry = entryFor("/api/stall-before-headers");
    assert.equal(entry?.cutOff, true);
    assert.equal(entry?.status, undefined, "the app never answered");
  });

  it("cuts the connection of an answer still streaming at the limit", async () => {
    const res = await fetch(`${frontDoor.url}/api/stall-mid-body`, { headers: { cookie } });
    assert.equal(res.status, 200);
    await assert.rejects(res.text());
    await waitUntil("the upstream request aborted", () => abortedUpstream.includes("/api/stall-mid-body"));
    assert.equal(entryFor("/api/stall-mid-body")?.cutOff, true);
  });

  it("cuts an upload whose body is still arriving at the limit", async () => {
    const outcome = await new Promise<string>((resolve) => {
      const { port } = new URL(frontDoor.url);
      const req = request({ host: "127.0.0.1", port, method: "PUT", path: "/api/upload", headers: { cookie, "content-length": "1000" } });
      req.on("response", (res) => {
        res.resume();
        resolve(String(res.statusCode));
      });
      req.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
      req.write(Buffer.alloc(100)); // and the other 900 bytes never come
    });
    // The 504 usually arrives; a connection reset is the other way a cut can look to a client.
    assert.ok(["504", "ECONNRESET", "EPIPE"].includes(outcome), outcome);
    await waitUntil("the front door's record of the cut", () => entryFor("/api/upload")?.cutOff === true);
    // What a test of the gateway asserts: nothing that finished took longer than the limit.
    const finished = frontDoor.forwarded.filter((e) => !e.cutOff).map((e) => e.durationMs ?? Infinity);
    assert.ok(Math.max(...finished) < LIMIT_MS);
  });

  it("defaults to the Apps proxy's 120 s and refuses a limit that is not a positive number", async () => {
    assert.equal(DEFAULT_REQUEST_TIME_LIMIT_MS, 120_000);
    await assert.rejects(
      startFrontDoor({ upstream: "http://127.0.0.1:1", workspace: emu, requestTimeLimitMs: 0 }),
      /requestTimeLimitMs must be a positive number/,
    );
  });
});
