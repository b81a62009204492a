/**
 * The page-by-page walk of the MLflow UI, shared by both modes (ui-pages-local.test.ts,
 * databricks-ui.test.ts): one seeded stack per mode (test/python/ui_seed.py), then every
 * page a team uses, each opened in a fresh tab. A page passes when the seeded data is
 * visible, no request it made failed (other than the few refused on purpose, listed
 * below), the console shows no error, and no error alert is on screen. A screenshot of
 * each page goes to test-output/. The results make the table in docs/ui-pages.md: the
 * test fails when that table no longer says what the walk found.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { TEST_OUTPUT, screenshotPath } from "../support/browser.js";
import { REPO_ROOT } from "../support/gateway-process.js";

export type Mode = "local" | "databricks";

/** What test/python/ui_seed.py prints. Optional features carry {error} when the app refused them. */
export interface Seed {
  experiment_id: string;
  experiment_name: string;
  runs: { baseline: string; "tuned-a": string; "tuned-b": string };
  logged_model_id: string;
  model_versions: string[];
  trace_ids: string[] | { error: string };
  evaluation_run_id: string | { error: string };
  prompt_version: string | { error: string };
  dataset_id: string | { error: string };
}

export interface WalkTarget {
  mode: Mode;
  url: string;
  seed: Seed;
  model: string;
  prompt: string;
}

export interface WalkPage {
  id: string;
  title: string;
  route(t: WalkTarget): string;
  /** Texts that must be visible once the page has loaded. */
  expect(t: WalkTarget): Array<string | RegExp>;
  /** What the user does on the page after it loaded (search, open a tab), then more to expect. */
  act?(page: Page, t: WalkTarget): Promise<void>;
  /**
   * Opened by a fresh page load: a route change within the same view (another file of the
   * same run, a trace selected on the traces page) does not re-render it, as a user's
   * following of a link would not either.
   */
  reload?: boolean;
  /** Pages a mode cannot offer by design: the walk checks that the page says this instead. */
  unavailable?: Partial<Record<Mode, { reason: string; shows: RegExp; refused?: RegExp }>>;
}

export interface PageResult {
  id: string;
  title: string;
  status: "works" | "fails" | "not available";
  reason?: string;
  problems: string[];
}

/**
 * Refused on purpose, in both modes: the assistant's calls other than its set-up reads
 * (src/guards/assistant.ts), and the basic-auth app's current-user probe, which stock MLflow
 * without that app answers with 404 too.
 */
export const EXPECTED_REFUSALS = [/^403 \w+ \/ajax-api\/3\.0\/mlflow\/assistant\//, /^404 GET \/ajax-api\/2\.0\/mlflow\/users\/current$/];
/**
 * Console errors that say nothing about the page: failed loads (already listed above, by
 * URL) and Chromium's report that a resize observer's callback resized something (the
 * span tree does when it lays out; the HTML spec calls it benign).
 */
const CONSOLE_NOISE = [/^Failed to load resource/, /ResizeObserver loop completed with undelivered notifications/];
const UI_TIMEOUT_MS = 45_000;
/** After the expected texts are visible, late requests of the page still get this long to fail. */
const SETTLE_MS = 1_000;

const runs = (t: WalkTarget): string[] => [t.seed.runs.baseline, t.seed.runs["tuned-a"], t.seed.runs["tuned-b"]];
const runPage = (t: WalkTarget, tail = ""): string => `/experiments/${t.seed.experiment_id}/runs/${t.seed.runs.baseline}${tail}`;

export const PAGES: WalkPage[] = [
  {
    id: "experiments",
    title: "Experiment list (search, sort)",
    route: () => "/experiments",
    expect: (t) => [t.seed.experiment_name],
    async act(page, t) {
      await page
        .getByPlaceholder(/search/i)
        .first()
        .fill(t.seed.experiment_name.split("/").pop() ?? "");
      await page.keyboard.press("Enter");
      await page.getByText(t.seed.experiment_name).first().waitFor({ timeout: UI_TIMEOUT_MS });
      // Sorted by creation time, the search result stays listed.
      await page.getByText("Time created", { exact: true }).first().click();
      await page.getByText(t.seed.experiment_name).first().waitFor({ timeout: UI_TIMEOUT_MS });
    },
  },
  {
    id: "runs-table",
    title: "Runs table (columns, filter, group-by)",
    route: (t) => `/experiments/${t.seed.experiment_id}/runs`,
    expect: () => ["baseline", "tuned-a", "tuned-b"],
    async act(page) {
      const search = page.getByPlaceholder(/metrics\.rmse|search runs/i).first();
      await search.fill("params.alpha = '0.5'");
      await search.press("Enter");
      await page.getByText("tuned-a").first().waitFor({ timeout: UI_TIMEOUT_MS });
      await page.getByText("baseline", { exact: true }).first().waitFor({ state: "hidden", timeout: UI_TIMEOUT_MS });
      await search.fill("");
      await search.press("Enter");
      // Grouped by the "sweep" tag: one group of the two tuned runs, one of the baseline.
      await page.getByRole("button", { name: "Group by" }).click();
      await page.getByRole("menuitemcheckbox", { name: "sweep" }).click();
      await page.keyboard.press("Escape");
      await page.getByText("Group: yes").first().waitFor({ timeout: UI_TIMEOUT_MS });
      await page.getByText("Group: no").first().waitFor({ timeout: UI_TIMEOUT_MS });
    },
  },
  {
    id: "run-overview",
    title: "Run overview (params, metrics, tags)",
    route: (t) => runPage(t),
    expect: () => ["baseline", "optimizer", "adam", "rmse", "forecasting"],
  },
  {
    id: "run-metric-charts",
    title: "Run metric charts (several steps)",
    route: (t) => runPage(t, "/model-metrics"),
    expect: () => ["rmse", "mae"],
    async act(page) {
      await page.locator("canvas, svg.main-svg").first().waitFor({ timeout: UI_TIMEOUT_MS });
    },
  },
  {
    id: "artifact-text",
    title: "Artifacts: tree and text preview",
    route: (t) => runPage(t, "/artifacts/notes/readme.txt"),
    expect: () => ["Baseline model trained on the March snapshot.", "plots", "tables"],
  },
  {
    id: "artifact-image",
    reload: true,
    title: "Artifacts: image preview",
    route: (t) => runPage(t, "/artifacts/plots/residuals.png"),
    expect: () => ["residuals.png"],
    async act(page) {
      // Decoded, not just requested: the 48x24 PNG came back whole.
      await page.waitForFunction("[...document.images].some((i) => i.naturalWidth === 48 && i.naturalHeight === 24)", undefined, {
        timeout: UI_TIMEOUT_MS,
      });
    },
  },
  {
    id: "artifact-table",
    reload: true,
    title: "Artifacts: table previews (CSV, MLflow table)",
    route: (t) => runPage(t, "/artifacts/tables/predictions.csv"),
    expect: () => ["predicted_sales", "north"],
    async act(page) {
      await page.getByText("eval_table.json").first().click();
      await page.getByText("What is MLflow?").first().waitFor({ timeout: UI_TIMEOUT_MS });
    },
  },
  {
    id: "compare-runs",
    title: "Run comparison (parallel coordinates)",
    route: (t) =>
      `/compare-runs?runs=${encodeURIComponent(JSON.stringify(runs(t)))}&experiments=${encodeURIComponent(JSON.stringify([t.seed.experiment_id]))}`,
    expect: () => ["Parallel Coordinates Plot", "tuned-b", "l1_ratio"],
    async act(page) {
      await page.locator("svg.main-svg, canvas").first().waitFor({ timeout: UI_TIMEOUT_MS });
    },
  },
  {
    id: "models",
    title: "Registered models (name search, alias, latest version)",
    route: () => "/models",
    expect: (t) => [t.model, "champion", "Version 2"],
    async act(page, t) {
      const search = page.getByPlaceholder(/search/i).first();
      await search.fill(t.model.split(".").pop()?.slice(0, 8) ?? "");
      await search.press("Enter");
      await page.getByText(t.model).first().waitFor({ timeout: UI_TIMEOUT_MS });
    },
  },
  {
    id: "model",
    title: "Model page (versions, aliases, tags)",
    route: (t) => `/models/${encodeURIComponent(t.model)}`,
    expect: (t) => [t.model, "Version 1", "Version 2", "champion", "owner"],
  },
  {
    id: "model-version",
    title: "Model version (schema, tags, source)",
    route: (t) => `/models/${encodeURIComponent(t.model)}/versions/2`,
    expect: () => ["Version 2", "validated", /Inputs \(\d+\)/],
  },
  {
    id: "logged-models",
    title: "Logged models",
    route: (t) => `/experiments/${t.seed.experiment_id}/models`,
    expect: () => ["model", "baseline"],
  },
  {
    id: "logged-model",
    title: "Logged model page",
    route: (t) => `/experiments/${t.seed.experiment_id}/models/${t.seed.logged_model_id}`,
    expect: (t) => [t.seed.logged_model_id, "baseline"],
  },
  {
    id: "traces",
    title: "Traces list",
    route: (t) => `/experiments/${t.seed.experiment_id}/traces`,
    expect: () => ["What does MLflow do?"],
  },
  {
    id: "trace",
    reload: true,
    title: "Trace detail (spans)",
    route: (t) =>
      `/experiments/${t.seed.experiment_id}/traces?selectedEvaluationId=${Array.isArray(t.seed.trace_ids) ? (t.seed.trace_ids[0] ?? "") : ""}`,
    expect: () => ["answer_question", "retrieve"],
  },
  {
    id: "evaluation-runs",
    title: "Evaluation runs",
    route: (t) => `/experiments/${t.seed.experiment_id}/evaluation-runs`,
    expect: () => ["evaluation"],
  },
  {
    id: "datasets",
    title: "Evaluation datasets",
    route: (t) => `/experiments/${t.seed.experiment_id}/datasets`,
    expect: () => ["qa-golden-set"],
    unavailable: {
      databricks: {
        reason:
          "Databricks keeps evaluation datasets in Unity Catalog tables (Agent Evaluation), which the workspace emulator does not have: the page lists none, without error",
        shows: /Create an evaluation dataset/,
      },
    },
  },
  {
    id: "prompts",
    title: "Prompts",
    route: () => "/prompts",
    expect: (t) => [t.prompt],
    unavailable: {
      databricks: {
        reason:
          "Unity Catalog keeps prompts in its own prompt registry, which MLflow's server does not route to: use mlflow.genai prompt APIs with the databricks-uc registry",
        shows: /[Pp]rompts? .*Unity Catalog/,
        refused: /^(4|5)\d\d GET \/ajax-api\/2\.0\/mlflow\/registered-models\/search\?filter=tags/,
      },
    },
  },
];

export interface Walker {
  walk(spec: WalkPage): Promise<PageResult>;
  close(): Promise<void>;
}

/**
 * One browser tab that visits the pages in turn, as a user clicking through the app does
 * (after the first page, moving to the next is a route change inside the single-page app,
 * not a reload). What fails while a page is shown is that page's problem.
 */
export async function openWalker(context: BrowserContext, target: WalkTarget): Promise<Walker> {
  const page = await context.newPage();
  const origin = new URL(target.url).origin;
  let problems: string[] = [];
  page.on("response", (response) => {
    const url = response.url();
    if (!url.startsWith(origin) || response.status() < 400) return;
    const line = `${response.status()} ${response.request().method()} ${url.slice(origin.length)}`;
    if (!EXPECTED_REFUSALS.some((pattern) => pattern.test(line.split("?")[0] ?? line))) problems.push(line);
  });
  page.on("requestfailed", (request) => {
    // A route change cancels the previous page's requests still in flight: that is not a failure.
    const failure = request.failure()?.errorText ?? "";
    if (request.url().startsWith(origin) && !/ERR_ABORTED/.test(failure))
      problems.push(`failed ${request.method()} ${request.url().slice(origin.length)}: ${failure}`);
  });
  page.on("console", (message) => {
    if (message.type() === "error" && !CONSOLE_NOISE.some((pattern) => pattern.test(message.text())))
      problems.push(`console: ${message.text().slice(0, 300)}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message.slice(0, 300)}`));

  async function walk(spec: WalkPage): Promise<PageResult> {
    problems = [];
    const unavailable = spec.unavailable?.[target.mode];
    try {
      if (spec.reload === true) await page.goto("about:blank");
      await page.goto(`${target.url}/#${spec.route(target)}`, { waitUntil: "domcontentloaded" });
      await dismissWelcome(page);
      if (unavailable) {
        await page.getByText(unavailable.shows).first().waitFor({ timeout: UI_TIMEOUT_MS });
      } else {
        for (const text of spec.expect(target)) await page.getByText(text).first().waitFor({ timeout: UI_TIMEOUT_MS });
        await spec.act?.(page, target);
      }
      await page.waitForTimeout(SETTLE_MS);
      if (!unavailable) {
        for (const alert of await page.locator('[role="alert"]').allInnerTexts())
          if (/error|fail|unsupported/i.test(alert)) problems.push(`alert: ${alert.slice(0, 300)}`);
      }
    } catch (error) {
      problems.push(`not shown: ${(error as Error).message.split("\n")[0] ?? ""}`);
    } finally {
      await page.screenshot({ path: screenshotPath(`ui-${target.mode}-${spec.id}`) }).catch(() => undefined);
    }
    const found = problems;
    if (unavailable) {
      // The page must say why, and nothing it asked for may have failed other than the one call refused on purpose.
      const others = found.filter((p) => unavailable.refused === undefined || !unavailable.refused.test(p));
      return {
        id: spec.id,
        title: spec.title,
        status: others.length === 0 ? "not available" : "fails",
        reason: unavailable.reason,
        problems: others,
      };
    }
    return { id: spec.id, title: spec.title, status: found.length === 0 ? "works" : "fails", problems: found };
  }

  return { walk, close: () => page.close() };
}

/** MLflow greets a first visit with dialogs (the registry's new UI, feature tours); a user closes them. */
async function dismissWelcome(page: Page): Promise<void> {
  await page.keyboard.press("Escape").catch(() => undefined);
}

const TABLE_FILE = path.join(REPO_ROOT, "docs/ui-pages.md");
const BEGIN = "<!-- ui-pages:begin (written by the UI walk: npm run ui:table) -->";
const END = "<!-- ui-pages:end -->";

export function resultsFile(mode: Mode): string {
  return path.join(TEST_OUTPUT, `ui-pages-${mode}.json`);
}

export function saveResults(mode: Mode, results: PageResult[]): void {
  writeFileSync(resultsFile(mode), `${JSON.stringify(results, null, 2)}\n`);
}

function cell(result: PageResult | undefined): string {
  if (result === undefined) return "not walked";
  if (result.status === "not available") return `not available: ${result.reason ?? ""}`;
  return result.status;
}

/** The table of docs/ui-pages.md from both modes' results. */
export function renderTable(results: Record<Mode, PageResult[]>): string {
  const rows = PAGES.map((p) => {
    const local = results.local.find((r) => r.id === p.id);
    const databricks = results.databricks.find((r) => r.id === p.id);
    return `| ${p.title} | ${cell(local)} | ${cell(databricks)} |`;
  });
  return [BEGIN, "| Page | Local (SQLite) | Databricks |", "| --- | --- | --- |", ...rows, END].join("\n");
}

/** The statuses docs/ui-pages.md states for one mode, by page title. */
export function documentedColumn(mode: Mode): Map<string, string> {
  const text = readFileSync(TABLE_FILE, "utf8");
  const block = text.slice(text.indexOf(BEGIN), text.indexOf(END));
  const column = mode === "local" ? 1 : 2;
  const out = new Map<string, string>();
  for (const line of block.split("\n").slice(3)) {
    const cells = line.split("|").map((c) => c.trim());
    if (cells.length >= 4) out.set(cells[1] ?? "", cells[column + 1] ?? "");
  }
  return out;
}

export function writeTable(results: Record<Mode, PageResult[]>): void {
  const text = readFileSync(TABLE_FILE, "utf8");
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END) + END.length;
  writeFileSync(TABLE_FILE, `${text.slice(0, start)}${renderTable(results)}${text.slice(end)}`);
}

export function expectedCell(result: PageResult): string {
  return cell(result);
}
