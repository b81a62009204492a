import type { GroupSource } from "../policy/group-directory.js";
import { WORKSPACE_TIMEOUT_MS, type WorkspaceClient } from "./workspace-client.js";

const SCIM = "/api/2.0/preview/scim/v2";

interface ScimList {
  Resources?: Array<{ groups?: Array<{ display?: unknown }> }>;
}

/**
 * A person's (or a service principal's) groups from the workspace's SCIM API, read as the
 * app's service principal (any workspace identity may list users and groups). The user's
 * resource lists the groups it belongs to (`groups[].display`), so one call answers.
 * https://docs.databricks.com/api/workspace/users/list
 */
export function scimGroupSource(workspace: WorkspaceClient): GroupSource {
  return async (principal) => {
    const [resource, attribute, value] =
      principal.kind === "user" ? ["Users", "userName", principal.userName] : ["ServicePrincipals", "applicationId", principal.applicationId];
    // A verified identity never holds a quote, but the filter is a small language: refuse rather than escape.
    if (/["\\]/.test(value)) throw new Error(`${attribute} ${JSON.stringify(value.slice(0, 100))} cannot be looked up`);
    const query = new URLSearchParams({ filter: `${attribute} eq "${value}"`, attributes: "groups" });
    const response = await workspace.request(`${SCIM}/${resource}?${query.toString()}`, { signal: AbortSignal.timeout(WORKSPACE_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`SCIM answered ${response.status}`);
    const list = (await response.json()) as ScimList;
    const groups = list.Resources?.[0]?.groups ?? [];
    return groups.map((group) => group.display).filter((name): name is string => typeof name === "string");
  };
}
