import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { filteredSearch, MAX_CHILD_PAGES } from "../../../src/policy/filtered-search.js";

/** A child with `total` experiments, paged with MLflow-style opaque tokens; the caller may read ids divisible by `every`. */
function child(total: number) {
  const calls: Array<{ max_results: number; page_token: string | undefined }> = [];
  const fetchPage = (paging: { max_results: number; page_token: string | undefined }) => {
    calls.push(paging);
    const start = paging.page_token === undefined ? 0 : Number(Buffer.from(paging.page_token, "base64").toString());
    const items = Array.from({ length: Math.max(0, Math.min(paging.max_results, total - start)) }, (_, i) => ({
      experiment_id: String(start + i),
      name: `/e/${start + i}`,
    }));
    const end = start + items.length;
    return Promise.resolve({
      status: 200,
      body: { experiments: items, ...(end < total ? { next_page_token: Buffer.from(String(end)).toString("base64") } : {}) },
    });
  };
  return { calls, fetchPage };
}

async function all(total: number, every: number, maxResults: number): Promise<{ ids: string[]; pages: number[]; childCalls: number }> {
  const { calls, fetchPage } = child(total);
  const ids: string[] = [];
  const pages: number[] = [];
  let token: string | undefined;
  for (let guard = 0; guard < 1000; guard += 1) {
    const page = await filteredSearch({
      kind: "experiments",
      maxResults: maxResults,
      pageToken: token,
      fetchPage,
      canRead: (item) => Number(item["experiment_id"]) % every === 0,
    });
    const list = page.body["experiments"] as Array<{ experiment_id: string }>;
    ids.push(...list.map((e) => e.experiment_id));
    pages.push(list.length);
    token = page.body["next_page_token"] as string | undefined;
    if (token === undefined) return { ids, pages, childCalls: calls.length };
  }
  throw new Error("paging never ended");
}

describe("filtered search", () => {
  it("returns exactly the readable items, each once, in order, in full pages", async () => {
    const { ids, pages } = await all(95, 3, 10);
    const expected = Array.from({ length: 95 }, (_, i) => i)
      .filter((i) => i % 3 === 0)
      .map(String);
    assert.deepEqual(ids, expected);
    assert.deepEqual(pages, [10, 10, 10, 2]);
  });

  it("resumes inside one of MLflow's pages without losing or repeating items", async () => {
    const { ids, pages } = await all(40, 1, 7);
    assert.deepEqual(
      ids,
      Array.from({ length: 40 }, (_, i) => String(i)),
    );
    assert.deepEqual(pages, [7, 7, 7, 7, 7, 5]);
  });

  it("when almost nothing is readable, pages may be short but paging always ends", async () => {
    const { ids, pages, childCalls } = await all(2000, 997, 5);
    assert.deepEqual(ids, ["0", "997", "1994"]);
    assert.ok(pages.length >= 2, "the bounded refill hands back a moved-on token");
    assert.ok(pages.every((n) => n <= 5));
    assert.ok(childCalls <= 2000 / 5 + MAX_CHILD_PAGES, "never more child pages than a full scan plus one refill");
  });

  it("one readable item in a short result: one page, no token", async () => {
    const { ids, pages } = await all(15, 1000, 10);
    assert.deepEqual(ids, ["0"]);
    assert.deepEqual(pages, [1]);
  });

  it("refuses a token it did not hand out and a bad max_results, naming them", async () => {
    const { fetchPage } = child(3);
    const base = { kind: "experiments" as const, fetchPage, canRead: () => true };
    await assert.rejects(filteredSearch({ ...base, maxResults: 10, pageToken: "gw1.!!!" }), /page_token is not one this gateway handed out/);
    await assert.rejects(filteredSearch({ ...base, maxResults: "0", pageToken: undefined }), /max_results must be a whole number from 1/);
  });

  it("relays MLflow's error answer as it is", async () => {
    const page = await filteredSearch({
      kind: "registered-models",
      maxResults: undefined,
      pageToken: undefined,
      fetchPage: () => Promise.resolve({ status: 400, body: { error_code: "INVALID_PARAMETER_VALUE", message: "bad filter" } }),
      canRead: () => true,
    });
    assert.deepEqual(page, { status: 400, body: { error_code: "INVALID_PARAMETER_VALUE", message: "bad filter" } });
  });
});
