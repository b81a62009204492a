import type { WorkspaceClient } from "../databricks/workspace-client.js";
import { WorkspaceError } from "../databricks/workspace-client.js";

/**
 * Writes one object to a Unity Catalog volume with the Files API, replacing any object of
 * the same name: a batch re-sent after an unacknowledged success lands on itself.
 */
export async function putVolumeObject(workspace: WorkspaceClient, volumePath: string, body: Buffer, timeoutMs: number): Promise<void> {
  const encoded = volumePath
    .split("/")
    .map((segment) => encodeURIComponent(segment))
    .join("/");
  const response = await workspace.request(`/api/2.0/fs/files${encoded}?overwrite=true`, {
    method: "PUT",
    headers: { "content-type": "application/octet-stream" },
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) {
    const text = (await response.text().catch(() => "")).slice(0, 200);
    throw new WorkspaceError("unexpected-answer", `the Files API answered ${response.status} for ${volumePath}: ${text}`, response.status);
  }
  await response.body?.cancel();
}
