import { GatewayError } from "../errors.js";
import type { SearchKind } from "./access-rules.js";

/** What each search answers with, and MLflow's page size when the client names none (mlflow/store/.../__init__.py). */
const KINDS: Record<SearchKind, { listKey: string; defaultPage: number; maxPage: number }> = {
  experiments: { listKey: "experiments", defaultPage: 1000, maxPage: 50_000 },
  "registered-models": { listKey: "registered_models", defaultPage: 100, maxPage: 1000 },
  "model-versions": { listKey: "model_versions", defaultPage: 10_000, maxPage: 200_000 },
};

/**
 * One filtered page costs at most this many pages from MLflow. When a caller may read few
 * of many objects, the page may come back short (even empty) with a token that has moved
 * on; the next call continues from there, so paging always ends.
 */
export const MAX_CHILD_PAGES = 20;
/** The gateway's page tokens, so a page can end in the middle of one of MLflow's. */
const TOKEN_PREFIX = "gw1.";

export interface SearchPage {
  status: number;
  body: Record<string, unknown>;
}

export interface FilteredSearchOptions {
  kind: SearchKind;
  /** The client's paging parameters. */
  maxResults: string | number | undefined;
  pageToken: string | undefined;
  /** Fetches one page from MLflow with these paging parameters. */
  fetchPage(paging: { max_results: number; page_token: string | undefined }): Promise<SearchPage>;
  /** Whether the caller may read this item of the answer. */
  canRead(item: Record<string, unknown>): boolean | Promise<boolean>;
}

interface Position {
  /** MLflow's token of the page to read (undefined: the first). */
  token: string | undefined;
  /** Readable items of that page already handed out. */
  skip: number;
}

/**
 * A search answer holding only what the caller may read, paged like MLflow's own: up to
 * `max_results` readable items per page, filled from as many of MLflow's pages as it
 * takes (bounded), with a token that resumes exactly where this page stopped, inside one
 * of MLflow's pages if need be. It costs one MLflow call per page of MLflow's, plus the
 * policy check per item (no I/O unless creator ownership needs a model's owner).
 */
export async function filteredSearch(options: FilteredSearchOptions): Promise<SearchPage> {
  const kind = KINDS[options.kind];
  const limit = pageSize(options.maxResults, kind.defaultPage, kind.maxPage);
  let position = decodeToken(options.pageToken);
  const items: unknown[] = [];
  for (let page = 0; page < MAX_CHILD_PAGES; page += 1) {
    const answer = await options.fetchPage({ max_results: limit, page_token: position.token });
    if (answer.status !== 200) return answer;
    const list = Array.isArray(answer.body[kind.listKey]) ? (answer.body[kind.listKey] as unknown[]) : [];
    const next =
      typeof answer.body["next_page_token"] === "string" && answer.body["next_page_token"] !== "" ? answer.body["next_page_token"] : undefined;
    let readable = 0;
    for (let index = 0; index < list.length; index += 1) {
      const item = list[index];
      if (!isRecord(item) || !(await options.canRead(item))) continue;
      readable += 1;
      if (readable <= position.skip) continue;
      items.push(item);
      if (items.length === limit) {
        const more = index + 1 < list.length;
        const resume = more
          ? encodeToken({ token: position.token, skip: readable })
          : next === undefined
            ? undefined
            : encodeToken({ token: next, skip: 0 });
        return answerWith(answer.body, kind.listKey, items, resume);
      }
    }
    if (next === undefined) return answerWith(answer.body, kind.listKey, items, undefined);
    position = { token: next, skip: 0 };
  }
  return answerWith({}, kind.listKey, items, encodeToken(position));
}

function answerWith(template: Record<string, unknown>, listKey: string, items: unknown[], token: string | undefined): SearchPage {
  const body: Record<string, unknown> = { ...template };
  delete body["next_page_token"];
  body[listKey] = items;
  if (token !== undefined) body["next_page_token"] = token;
  return { status: 200, body };
}

function pageSize(raw: string | number | undefined, fallback: number, max: number): number {
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0 || value > max) {
    throw new GatewayError(
      "PARAMETER_REJECTED",
      `max_results must be a whole number from 1 to ${max}; got ${JSON.stringify(String(raw).slice(0, 40))}.`,
    );
  }
  return value;
}

function encodeToken(position: Position): string {
  return TOKEN_PREFIX + Buffer.from(JSON.stringify({ t: position.token ?? null, s: position.skip })).toString("base64url");
}

/** MLflow's own tokens are accepted too (a client that paged before a policy file was installed). */
function decodeToken(token: string | undefined): Position {
  if (token === undefined || token === "") return { token: undefined, skip: 0 };
  if (!token.startsWith(TOKEN_PREFIX)) return { token, skip: 0 };
  try {
    const parsed = JSON.parse(Buffer.from(token.slice(TOKEN_PREFIX.length), "base64url").toString("utf8")) as { t?: unknown; s?: unknown };
    const skip = Number(parsed.s);
    if ((parsed.t === null || typeof parsed.t === "string") && Number.isInteger(skip) && skip >= 0) return { token: parsed.t ?? undefined, skip };
  } catch {
    // Reported below.
  }
  throw new GatewayError("PARAMETER_REJECTED", "page_token is not one this gateway handed out; start the search again without it.");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
