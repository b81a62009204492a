import type { IncomingMessage as Request, ServerResponse as Response } from "node:http";
import { GatewayError } from "../errors.js";
import { displayName } from "../identity/identity.js";
import { type Authorization, type Authorizer, UNREVIEWED_OPERATION } from "../policy/authorizer.js";
import { GROUPS_UNAVAILABLE, NO_GRANT } from "../policy/evaluator.js";
import { filterModelVersions } from "../policy/graphql-access.js";
import { OWNER_TAG, type ObjectLookup } from "../policy/object-lookup.js";
import type { Next as NextFunction } from "./pipeline.js";
import { addAnswerRewrite, contextOf, jsonBodyOf, replaceJsonBody } from "../request/request-context.js";

export interface AuthorizeDependencies {
  authorizer: Authorizer;
  lookup: ObjectLookup;
}

/**
 * Decides whether this person may make this MLflow call, on the objects it touches
 * (policy/authorizer.ts). The verdict, its rule and the grant that matched go to the audit
 * trail whatever happens next; a refusal is MLflow's PERMISSION_DENIED, naming the
 * permission that was missing and the rule that decided, and only ids the client sent.
 */
export function authorize(deps: AuthorizeDependencies) {
  return function authorize(req: Request, _res: Response, next: NextFunction): void {
    const context = contextOf(req);
    const { identity, route } = context;
    if (identity === undefined || route === undefined) return next();
    const url = req.url ?? "/";
    const queryAt = url.indexOf("?");
    deps.authorizer
      .authorize({
        identity,
        method: req.method ?? "GET",
        operation: route.route.operation,
        params: route.params,
        query: new URLSearchParams(queryAt === -1 ? "" : url.slice(queryAt + 1)),
        headers: req.headers,
        body: () => jsonBodyOf(req),
      })
      .then((authorization) => {
        const { verdict } = authorization;
        context.decision = { allow: verdict.allow, rule: verdict.rule, grant: verdict.grant, need: verdict.need };
        context.authorization = authorization;
        if (!verdict.allow) throw refusal(authorization, route.route.operation, displayName(identity));
        if (authorization.filterModelVersions === true) {
          const { caller } = authorization;
          const policy = deps.authorizer.policy;
          context.rewriteRequired = true;
          addAnswerRewrite(context, (body) =>
            filterModelVersions(body, (name) => deps.authorizer.canRead(caller, { kind: "model", name, owner: undefined, alias: undefined }, policy)),
          );
        }
        return recordOwnership(req, deps);
      })
      .then(() => next(), next);
  };
}

/** The gateway's admin pages: ADMIN, from a policy grant (or GATEWAY_ADMINS without a policy file). */
export async function authorizeAdmin(req: Request, authorizer: Authorizer): Promise<void> {
  const context = contextOf(req);
  if (context.identity === undefined) return;
  const authorization = await authorizer.authorizeAdmin(context.identity);
  const { verdict } = authorization;
  context.decision = { allow: verdict.allow, rule: verdict.allow ? verdict.rule : "admin-only", grant: verdict.grant, need: "ADMIN" };
  if (!verdict.allow) {
    throw new GatewayError(
      "POLICY_DENIED",
      `Only the gateway's admins may read the audit trail; ${displayName(context.identity)} has no ADMIN grant (GATEWAY_ADMINS, or an ADMIN grant in the policy file).`,
    );
  }
}

function refusal(authorization: Authorization, operation: string, who: string): GatewayError {
  const { verdict, object } = authorization;
  const on = object === undefined ? "" : ` on ${object.slice(0, 200)}`;
  let why: string;
  if (verdict.rule === GROUPS_UNAVAILABLE) {
    why = `group membership could not be checked (${verdict.groupsUnavailable ?? "unknown reason"}), and the policy grants by group; changes are refused until it can be, reads count only grants that name you`;
  } else if (verdict.rule === NO_GRANT) {
    why = `no grant of the policy gives ${who} ${verdict.need}${on}`;
  } else if (verdict.rule === UNREVIEWED_OPERATION) {
    why = `${operation} has no entry in the gateway's access rules, so it is refused for everyone`;
  } else if (verdict.protectedAlias !== undefined) {
    why = `the alias ${JSON.stringify(verdict.protectedAlias)} is protected by ${verdict.grant ?? verdict.rule}, which does not name ${who}`;
  } else {
    why = `the policy's rule "${verdict.rule}" denies ${verdict.need}${on}`;
  }
  return new GatewayError(
    "POLICY_DENIED",
    `Permission denied: ${operation} needs ${verdict.need}${on}; ${why} (rule ${verdict.rule}). Nothing was changed. Ask an admin for a grant if you need one.`,
  );
}

/** Creating these stamps the creator; changing the stamp is reserved for the gateway. */
const OWNED_CREATES: Record<string, "experiment" | "model"> = { CreateExperiment: "experiment", CreateRegisteredModel: "model" };
const TAG_WRITES = new Set(["SetExperimentTag", "DeleteExperimentTag", "SetRegisteredModelTag", "DeleteRegisteredModelTag"]);

/**
 * Ownership on create: when the policy says creators own what they create, the gateway
 * writes the creator into the new experiment's or registered model's `gateway.owner` tag
 * (and the audit trail records the create). The tag is what decisions read; no call
 * through the gateway may set, change or delete it, whatever the policy, so another
 * client of this app cannot forge it. Renames and tag changes make the next decision
 * read fresh facts.
 */
async function recordOwnership(req: Request, deps: AuthorizeDependencies): Promise<void> {
  const context = contextOf(req);
  const operation = context.route?.route.operation ?? "";
  const creates = OWNED_CREATES[operation];
  if (creates === undefined && !TAG_WRITES.has(operation) && operation !== "UpdateExperiment" && operation !== "RenameRegisteredModel") return;
  const body = await jsonBodyOf(req);
  const tags = Array.isArray(body["tags"]) ? (body["tags"] as Array<{ key?: unknown }>) : [];
  if ((TAG_WRITES.has(operation) && body["key"] === OWNER_TAG) || tags.some((tag) => tag?.key === OWNER_TAG)) {
    context.decision = { allow: false, rule: "owner-tag", grant: undefined, need: context.decision?.need ?? "EDIT" };
    throw new GatewayError("POLICY_DENIED", `The tag ${OWNER_TAG} records who created an object through this app; only the gateway writes it.`);
  }
  if (operation === "UpdateExperiment" && typeof body["experiment_id"] === "string") deps.lookup.forget("experiment", body["experiment_id"]);
  if (operation === "RenameRegisteredModel" && typeof body["name"] === "string") deps.lookup.forget("model", body["name"]);
  if (creates === undefined || !deps.authorizer.policy.creatorsOwn || context.identity === undefined) return;
  replaceJsonBody(req, { ...body, tags: [...tags, { key: OWNER_TAG, value: displayName(context.identity) }] });
}
