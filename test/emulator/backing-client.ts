// Small JSON client for the backing MLflow server, used where the emulator
// translates a Databricks-only API (Unity Catalog, artifact credentials) onto
// open-source MLflow calls instead of forwarding bytes unchanged.

import type { Response } from "express";
import type { EmulatorContext } from "./context.js";

export interface BackingResult {
  status: number;
  json: Record<string, unknown>;
}

type QueryValue = string | number | boolean | undefined | null | string[];

export async function backingCall(
  ctx: Pick<EmulatorContext, "backingUrl">,
  method: "GET" | "POST" | "PATCH" | "DELETE",
  path: string,
  options: { query?: Record<string, QueryValue>; body?: unknown } = {},
): Promise<BackingResult> {
  const url = new URL(path, ctx.backingUrl());
  for (const [key, value] of Object.entries(options.query ?? {})) {
    if (value === undefined || value === null || value === "") continue;
    for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(key, String(v));
  }
  const init: RequestInit = { method, headers: { accept: "application/json" } };
  if (options.body !== undefined) {
    init.body = JSON.stringify(options.body);
    init.headers = { ...init.headers, "content-type": "application/json" };
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    json = { error_code: "INTERNAL_ERROR", message: text.slice(0, 500) };
  }
  return { status: res.status, json };
}

/**
 * Relays a failed backing call. Open-source MLflow already answers errors in
 * Databricks' {error_code, message} shape, so the body passes through.
 */
export function relayError(res: Response, result: BackingResult): void {
  const body =
    typeof result.json.error_code === "string"
      ? { error_code: result.json.error_code, message: typeof result.json.message === "string" ? result.json.message : "" }
      : { error_code: "INTERNAL_ERROR", message: JSON.stringify(result.json) };
  res.status(result.status >= 400 ? result.status : 500).json(body);
}

/** Artifact root of a run, e.g. dbfs:/databricks/mlflow-tracking/1/<run>/artifacts. */
export async function runArtifactUri(ctx: EmulatorContext, runId: string): Promise<BackingResult & { uri?: string }> {
  const result = await backingCall(ctx, "GET", "/api/2.0/mlflow/runs/get", { query: { run_id: runId } });
  const run = result.json.run as { info?: { artifact_uri?: string } } | undefined;
  const uri = run?.info?.artifact_uri;
  return uri === undefined ? result : { ...result, uri };
}

/** Artifact location of a logged model, as the backing server stores it. */
export async function loggedModelArtifactUri(ctx: EmulatorContext, modelId: string): Promise<BackingResult & { uri?: string }> {
  const result = await backingCall(ctx, "GET", `/api/2.0/mlflow/logged-models/${encodeURIComponent(modelId)}`);
  const model = result.json.model as { info?: { artifact_uri?: string } } | undefined;
  const uri = model?.info?.artifact_uri;
  return uri === undefined ? result : { ...result, uri };
}
