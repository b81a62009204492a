// The Data Lake Storage Gen2 (DFS) operations MLflow's
// AzureDataLakeArtifactRepository makes, expressed as Blob service calls
// Azurite implements (it has no DFS endpoint: Azure/Azurite#409, #553).
// Every Blob call carries the caller's SAS unchanged, so Azurite checks the
// signature, lifetime and permissions of each one; this layer never decides
// access itself.
//   Create File  PUT   ?resource=file             -> Put Blob (empty block blob)
//   Append Data  PATCH ?action=append&position=P  -> Put Block (id encodes P)
//   Flush Data   PATCH ?action=flush&position=N   -> Get Block List + Put Block List
//   List Paths   GET   ?resource=filesystem       -> List Blobs (delimiter "/")
// Flush reads the block list first, so it needs r besides w in the SAS (the
// READ_WRITE SAS has both); ADLS itself would accept w alone.
// Shapes follow https://learn.microsoft.com/rest/api/storageservices/data-lake-storage-gen2
// and what azure-storage-file-datalake 12.x parses (isDirectory and
// contentLength as strings, continuation in x-ms-continuation).

import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import { type HttpsAnswer, headerValue } from "./https-call.js";
import { xmlElements, xmlEscape, xmlText, xmlTexts } from "./xml.js";

/** A Blob service call on the caller's behalf: path is /<filesystem>[/<path>] as received (encoded), query lacks the SAS. */
export type BlobCall = (
  method: string,
  path: string,
  blobQuery: string,
  headers: Record<string, string>,
  body?: Buffer | Readable,
) => Promise<HttpsAnswer>;

/** A DFS answer: status, headers and an optional JSON body. */
export interface DfsAnswer {
  status: number;
  headers: Record<string, string>;
  json?: unknown;
}

/** Azurite's answer was an error: relayed with its status and code, body in the DFS JSON shape. */
export class BlobCallError extends Error {
  constructor(readonly answer: HttpsAnswer) {
    const body = answer.body.toString("utf8");
    super(xmlText(body, "Message")?.split("\n")[0] ?? `HTTP ${answer.status}`);
    this.name = "BlobCallError";
  }
  get code(): string {
    return headerValue(this.answer.headers, "x-ms-error-code") ?? xmlText(this.answer.body.toString("utf8"), "Code") ?? "InternalError";
  }
}

const CONDITIONAL_HEADERS = ["if-match", "if-none-match", "if-modified-since", "if-unmodified-since", "x-ms-lease-id"];
const PASSED_HEADERS = ["x-ms-version", "x-ms-date", "x-ms-client-request-id", ...CONDITIONAL_HEADERS];
/** DFS path properties and their Blob names. */
const CONTENT_HEADERS: Record<string, string> = {
  "x-ms-content-type": "x-ms-blob-content-type",
  "x-ms-content-encoding": "x-ms-blob-content-encoding",
  "x-ms-content-language": "x-ms-blob-content-language",
  "x-ms-content-disposition": "x-ms-blob-content-disposition",
  "x-ms-cache-control": "x-ms-blob-cache-control",
  "x-ms-content-md5": "x-ms-blob-content-md5",
};
/** Answer headers a DFS client reads. */
const ANSWER_HEADERS = ["etag", "last-modified", "x-ms-request-id", "x-ms-version", "x-ms-request-server-encrypted", "date"];

/** Block ids must all have one length within a blob; the id carries the append position. */
const BLOCK_ID_PREFIX = "dfs-append-";
const blockId = (position: number): string => Buffer.from(`${BLOCK_ID_PREFIX}${String(position).padStart(20, "0")}`).toString("base64");
function blockPosition(id: string): number | undefined {
  const text = Buffer.from(id, "base64").toString("utf8");
  return text.startsWith(BLOCK_ID_PREFIX) ? Number(text.slice(BLOCK_ID_PREFIX.length)) : undefined;
}

function pick(headers: IncomingHttpHeaders, names: string[], rename: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = headerValue(headers, name);
    if (value !== undefined) out[rename[name] ?? name] = value;
  }
  return out;
}

async function ok(answer: Promise<HttpsAnswer>, expected: number[]): Promise<HttpsAnswer> {
  const got = await answer;
  if (!expected.includes(got.status)) throw new BlobCallError(got);
  return got;
}

/** DFS errors for requests this layer refuses before any Blob call. */
export function dfsError(status: number, code: string, message: string): DfsAnswer {
  return { status, headers: { "x-ms-error-code": code }, json: { error: { code, message } } };
}

export async function createFile(blob: BlobCall, path: string, headers: IncomingHttpHeaders): Promise<DfsAnswer> {
  const put = await ok(
    blob("PUT", path, "", {
      ...pick(headers, PASSED_HEADERS),
      ...pick(headers, Object.keys(CONTENT_HEADERS), CONTENT_HEADERS),
      "x-ms-blob-type": "BlockBlob",
      "content-length": "0",
    }),
    [201],
  );
  return { status: 201, headers: { ...pick(put.headers, ANSWER_HEADERS), "content-length": "0" } };
}

export async function appendData(blob: BlobCall, path: string, position: number, headers: IncomingHttpHeaders, body: Readable): Promise<DfsAnswer> {
  const put = await ok(
    blob(
      "PUT",
      path,
      `comp=block&blockid=${encodeURIComponent(blockId(position))}`,
      pick(headers, [...PASSED_HEADERS, "content-length", "content-md5"]),
      body,
    ),
    [201],
  );
  return { status: 202, headers: { ...pick(put.headers, ANSWER_HEADERS), "content-length": "0" } };
}

export async function flushData(blob: BlobCall, path: string, position: number, headers: IncomingHttpHeaders): Promise<DfsAnswer> {
  const version = pick(headers, ["x-ms-version"]);
  const list = (await ok(blob("GET", path, "comp=blocklist&blocklisttype=all", version), [200])).body.toString("utf8");
  const committed = xmlElements(xmlElements(list, "CommittedBlocks")[0] ?? "", "Block");
  const uncommitted = xmlElements(xmlElements(list, "UncommittedBlocks")[0] ?? "", "Block");
  const entries: string[] = committed.map((b) => `<Committed>${xmlEscape(xmlText(b, "Name") ?? "")}</Committed>`);
  let length = committed.reduce((sum, b) => sum + Number(xmlText(b, "Size") ?? 0), 0);
  const appended = uncommitted
    .map((b) => ({ id: xmlText(b, "Name") ?? "", size: Number(xmlText(b, "Size") ?? 0) }))
    .map((b) => ({ ...b, position: blockPosition(b.id) }))
    .sort((a, b) => (a.position ?? -1) - (b.position ?? -1));
  for (const block of appended) {
    if (block.position !== length || length >= position) continue;
    entries.push(`<Uncommitted>${xmlEscape(block.id)}</Uncommitted>`);
    length += block.size;
  }
  if (length !== position) {
    return dfsError(
      400,
      "InvalidFlushPosition",
      `The uploaded data is not contiguous or the position query parameter value is not equal to the length of the file after appending the uploaded data (${length} != ${position}).`,
    );
  }
  const put = await ok(
    blob(
      "PUT",
      path,
      "comp=blocklist",
      {
        ...pick(headers, PASSED_HEADERS),
        ...pick(headers, Object.keys(CONTENT_HEADERS), CONTENT_HEADERS),
        "content-type": "application/xml",
      },
      Buffer.from(`<?xml version="1.0" encoding="utf-8"?><BlockList>${entries.join("")}</BlockList>`),
    ),
    [201],
  );
  return { status: 200, headers: { ...pick(put.headers, ANSWER_HEADERS), "content-length": "0" } };
}

interface DfsPath {
  name: string;
  isDirectory?: "true";
  contentLength: string;
  lastModified?: string;
  etag?: string;
}

/** List Paths, non-recursive (the only kind MLflow asks for). */
export async function listPaths(blob: BlobCall, filesystem: string, params: URLSearchParams, headers: IncomingHttpHeaders): Promise<DfsAnswer> {
  if (params.get("recursive") === "true")
    return dfsError(400, "UnsupportedQueryParameter", "This DFS front translates only recursive=false listings.");
  const directory = (params.get("directory") ?? "").replace(/^\/+|\/+$/g, "");
  const query = new URLSearchParams({ restype: "container", comp: "list", delimiter: "/" });
  if (directory) query.set("prefix", `${directory}/`);
  const marker = params.get("continuation");
  if (marker) query.set("marker", marker);
  const max = params.get("maxResults");
  if (max) query.set("maxresults", max);
  const version = pick(headers, ["x-ms-version", "x-ms-client-request-id"]);
  const answer = await ok(blob("GET", `/${filesystem}`, query.toString(), version), [200]);
  const xml = answer.body.toString("utf8");
  const paths: DfsPath[] = [
    ...xmlTexts(xmlElements(xml, "BlobPrefix").join(""), "Name").map((name) => ({
      name: name.replace(/\/$/, ""),
      isDirectory: "true" as const,
      contentLength: "0",
    })),
    ...xmlElements(xml, "Blob").map((b) => ({
      name: xmlText(b, "Name") ?? "",
      contentLength: xmlText(b, "Content-Length") ?? "0",
      ...optional("lastModified", xmlText(b, "Last-Modified")),
      ...optional("etag", xmlText(b, "Etag")),
    })),
  ].sort((a, b) => (a.name < b.name ? -1 : 1));
  const next = xmlText(xml, "NextMarker");
  const continuation: Record<string, string> = next ? { "x-ms-continuation": next } : {};
  if (paths.length === 0 && directory && !marker) {
    // A hierarchical namespace lists a file path as the file itself, and a missing path is 404.
    const head = await blob("HEAD", `/${filesystem}/${directory.split("/").map(encodeURIComponent).join("/")}`, "", version);
    if (head.status === 404) return dfsError(404, "PathNotFound", "The specified path does not exist.");
    if (head.status !== 200) throw new BlobCallError(head);
    paths.push({
      name: directory,
      contentLength: headerValue(head.headers, "content-length") ?? "0",
      ...optional("lastModified", headerValue(head.headers, "last-modified")),
      ...optional("etag", headerValue(head.headers, "etag")),
    });
  }
  return { status: 200, headers: { ...pick(answer.headers, ["x-ms-request-id", "x-ms-version", "date"]), ...continuation }, json: { paths } };
}

const optional = <K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> =>
  value === undefined ? {} : ({ [key]: value } as Record<K, string>);
