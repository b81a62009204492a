// Express glue shared by the Unity Catalog and Files API routers: request
// fields, typed refusals and failed backing calls turned into Databricks
// error bodies, and list pages as the SDK's list methods read them.

import type { Request, Response, Router } from "express";
import { type BackingResult, relayError } from "./backing-client.js";
import { refusing } from "./errors.js";
import { invalid } from "./uc-privileges.js";
import { scalar } from "./uc-translate.js";

export type Json = Record<string, unknown>;

export const UC = "/api/2.0/mlflow/unity-catalog";
export const OSS = "/api/2.0/mlflow";

/** Request fields: the query string plus a JSON body (MLflow sends GET fields as query, the SDK writes as body). */
export function fieldsOf(req: Request): Json {
  const body = req.body && typeof req.body === "object" ? (req.body as Json) : {};
  return { ...(req.query as Json), ...body };
}

export { refusing, sendRefusal } from "./errors.js";

/**
 * One page of a list answer. `max_results` absent: everything (catalogs,
 * schemas) or the server page (volumes, models); 0: the server page; above 0:
 * at most `maxPage` (the server page unless a list documents a larger cap,
 * as registered models do, catalog.py RegisteredModelsAPI.list); negative: an
 * invalid-parameter error (databricks-sdk service/catalog.py:15666-15670,
 * :21682-21687). The token is an opaque offset.
 */
export function pageOf<T>(
  items: T[],
  a: Json,
  serverPage: number,
  unsetMeansAll: boolean,
  maxPage = serverPage,
): { items: T[]; nextPageToken?: string } {
  const raw = a.max_results;
  let size: number;
  if (raw === undefined || raw === "") size = unsetMeansAll ? items.length : serverPage;
  else {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw invalid(`Invalid max_results ${JSON.stringify(raw)}: must be a non-negative integer.`);
    size = n === 0 ? serverPage : Math.min(n, maxPage);
  }
  let start = 0;
  if (typeof a.page_token === "string" && a.page_token !== "") {
    start = Number(Buffer.from(a.page_token, "base64url").toString());
    if (!Number.isInteger(start) || start < 0) throw invalid("Invalid page_token.");
  }
  const page = items.slice(start, start + size);
  const next = start + size;
  return next < items.length ? { items: page, nextPageToken: Buffer.from(String(next)).toString("base64url") } : { items: page };
}

/** Answers a failed backing call; true when the caller should stop. */
export function failed(res: Response, result: BackingResult): boolean {
  if (result.status === 200) return false;
  relayError(res, result);
  return true;
}

/** A request field as a string, or undefined. */
export function str(value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : scalar(value);
}

export type UcHandler = (a: Json, req: Request, res: Response) => Promise<void>;

/** Registers `fn` for a UC registry path; its refusals become Databricks errors. */
export function ucRoute(router: Router, method: "get" | "post" | "patch" | "delete", path: string, fn: UcHandler): void {
  router[method](
    `${UC}${path}`,
    refusing((req, res) => fn(fieldsOf(req), req, res)),
  );
}
