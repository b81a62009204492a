import type { PolicyConfig } from "../config/policy-config.js";
import { resolveExperimentName } from "../databricks/experiment-names.js";
import { scimGroupSource } from "../databricks/scim-groups.js";
import type { WorkspaceClient } from "../databricks/workspace-client.js";
import type { Logger } from "../log/create-logger.js";
import { Authorizer } from "./authorizer.js";
import { GroupDirectory } from "./group-directory.js";
import { ObjectLookup } from "./object-lookup.js";
import { PolicyStore } from "./policy-store.js";

export interface PolicyLayer {
  store: PolicyStore;
  authorizer: Authorizer;
  lookup: ObjectLookup;
  groups: GroupDirectory;
}

/**
 * The authorization layer, assembled: the policy (reloaded when its file changes), group
 * membership from SCIM in Databricks mode (none in local mode), object facts from the
 * child, and the authorizer that combines them. `start` the store to watch its file.
 */
export function createPolicyLayer(
  config: PolicyConfig,
  options: { workspace: WorkspaceClient | undefined; experimentRoot: string | undefined; childUrl: () => string; logger: Logger },
): PolicyLayer {
  const store = new PolicyStore(config.document, { file: config.file, logger: options.logger });
  const groups = new GroupDirectory(options.workspace === undefined ? undefined : scimGroupSource(options.workspace), config.document.groups);
  store.onChange((policy) => groups.configure(policy.groups));
  const lookup = new ObjectLookup(options.childUrl);
  const root = options.experimentRoot;
  const authorizer = new Authorizer({
    policy: store,
    groups,
    lookup,
    experimentName: (name) => {
      if (root === undefined || name.startsWith("/")) return name;
      try {
        return resolveExperimentName(name, root, "name").path;
      } catch {
        // The experiment-name stage refuses it with the reason; the policy judges it as written.
        return name;
      }
    },
  });
  return { store, authorizer, lookup, groups };
}
