import type { ServerResponse } from "node:http";
import { auditQueryMatcher, parseAuditQuery } from "../audit/audit-query.js";
import type { AuditEventRecord } from "../audit/audit-record.js";
import type { AuditTrail } from "../audit/audit-trail.js";
import { GatewayError } from "../errors.js";
import { escapeHtml } from "../request/send-error.js";

/** Pages for the gateway's admins; the pipeline lets only them through (policy rule admin-only). */
export const ADMIN_PREFIX = "/-/admin/";
const DEFAULT_LIMIT = 200;
const MAX_LIMIT = 5_000;
const FILTERS = ["person", "action", "object", "outcome", "since", "until", "limit"] as const;

/**
 * /-/admin/audit: the latest audit events of this gateway process (kept in memory), newest
 * first, with the same filters as `npm run audit -- search`; /-/admin/audit/events gives
 * them as JSON. Older events and other instances are in the files and the volume.
 */
export const ADMIN_PAGES = ["/-/admin/audit", "/-/admin/audit/events"] as const;

export function serveAuditEvents(url: string, res: ServerResponse, audit: AuditTrail, format: "html" | "json"): void {
  const params = new URL(url, "http://gateway.invalid").searchParams;
  const { query, problems } = parseAuditQuery((name) => params.get(name) ?? undefined);
  if (problems.length > 0) throw new GatewayError("PARAMETER_REJECTED", problems.join(" "));
  const limit = Math.min(query.limit ?? DEFAULT_LIMIT, MAX_LIMIT);
  const matches = auditQueryMatcher(query);
  const recent = audit.recent();
  const events: AuditEventRecord[] = [];
  for (let i = recent.length - 1; i >= 0 && events.length < limit; i -= 1) {
    const record = recent[i];
    if (record !== undefined && matches(record)) events.push(record);
  }
  res.setHeader("Cache-Control", "no-store");
  if (format === "json") {
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ stream: audit.stream, kept_in_memory: recent.length, events }));
    return;
  }
  res.setHeader("Content-Type", "text/html; charset=utf-8");
  res.end(renderPage(events, params, audit, recent.length));
}

function renderPage(events: readonly AuditEventRecord[], params: URLSearchParams, audit: AuditTrail, kept: number): string {
  const inputs = FILTERS.map(
    (name) => `<label>${name} <input name="${name}" value="${escapeHtml(params.get(name) ?? "")}" size="${name === "limit" ? 5 : 16}"></label>`,
  ).join(" ");
  const rows = events
    .map((e) => {
      const who = e.principal.email ?? e.principal.user_name ?? e.principal.subject ?? "(unknown)";
      const objects = Object.entries(e.objects)
        .map(([k, v]) => `${k}=${v}`)
        .join(" ");
      const cells = [
        e.event_time,
        who,
        e.action,
        objects,
        String(e.outcome.status),
        `${e.outcome.decision} (${e.outcome.decided_by})`,
        e.outcome.error_code ?? "",
        `${e.duration_ms} ms`,
        e.source_ip ?? "",
      ];
      return `<tr>${cells.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`;
    })
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Audit events</title>
<style>body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1f2328}table{border-collapse:collapse;font-size:.85rem}td,th{border-bottom:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}small{color:#59636e}</style>
</head><body><h1>Audit events</h1>
<form method="get">${inputs} <button type="submit">Filter</button></form>
<p><small>${events.length} shown, newest first, of the ${kept} latest events of stream ${escapeHtml(audit.stream)} kept in memory. Older events: <code>npm run audit -- search</code> over the files or the volume.</small></p>
<table><thead><tr><th>Time (UTC)</th><th>Person</th><th>Action</th><th>Objects</th><th>Status</th><th>Decision</th><th>Error</th><th>Duration</th><th>Source IP</th></tr></thead>
<tbody>
${rows}
</tbody></table></body></html>
`;
}
