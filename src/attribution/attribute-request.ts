/**
 * The child acts as one service principal for everyone, so whatever a client claims
 * about who it is ends up in MLflow as-is. For the operations that record a person,
 * the gateway writes the verified identity into the request instead.
 */

/** MLflow's reserved tag for the person behind a run (mlflow/utils/mlflow_tags.py). */
export const MLFLOW_USER_TAG = "mlflow.user";

/** Operations whose request body can name a person; only these bodies are read. */
export const ATTRIBUTED_OPERATIONS = new Set([
  "CreateRun",
  "SetTag",
  "LogBatch",
  "CreateLoggedModel",
  "SetLoggedModelTags",
  "CreateRegisteredModel",
  "CreateModelVersion",
]);

interface Tag {
  key?: unknown;
  value?: unknown;
}

/**
 * Returns the body with every person-naming field set to `who`: CreateRun's `user_id`
 * and `mlflow.user` tag (added when missing), and any `mlflow.user` tag elsewhere.
 * Returns undefined when nothing had to change, so the original bytes are forwarded.
 */
export function attributeRequest(operation: string, body: Record<string, unknown>, who: string): Record<string, unknown> | undefined {
  let changed = false;
  const result: Record<string, unknown> = { ...body };
  if (operation === "CreateRun") {
    if (result["user_id"] !== who) {
      result["user_id"] = who;
      changed = true;
    }
    const tags = Array.isArray(result["tags"]) ? (result["tags"] as Tag[]) : [];
    if (!tags.some((tag) => tag.key === MLFLOW_USER_TAG)) {
      result["tags"] = [...tags, { key: MLFLOW_USER_TAG, value: who }];
      changed = true;
    }
  }
  if (operation === "SetTag" && result["key"] === MLFLOW_USER_TAG && result["value"] !== who) {
    result["value"] = who;
    changed = true;
  }
  if (Array.isArray(result["tags"])) {
    const tags = (result["tags"] as Tag[]).map((tag) => (tag.key === MLFLOW_USER_TAG && tag.value !== who ? { ...tag, value: who } : tag));
    if (tags.some((tag, i) => tag !== (result["tags"] as Tag[])[i])) {
      result["tags"] = tags;
      changed = true;
    }
  }
  return changed ? result : undefined;
}
