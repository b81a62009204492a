import type { Permission } from "./policy-document.js";

/**
 * How to find the object a call touches. `field` names where the id is: a path parameter,
 * a query parameter or a JSON body field (dotted for nested ones), `|` between spellings
 * MLflow accepts. A field that is missing leaves the call with no object, and then only
 * global grants can allow it: nothing is ever guessed, and nothing the client says about
 * an object's experiment is trusted (a run's experiment is read from MLflow).
 */
export type ObjectRef =
  | { kind: "experiment"; field: string }
  | { kind: "experiments"; field: string }
  | { kind: "experiment-name"; field: string }
  | { kind: "run"; field: string }
  | { kind: "runs"; field: string }
  | { kind: "logged-model"; field: string }
  | { kind: "trace"; field: string }
  | { kind: "traces"; field: string }
  | { kind: "model"; field: string; aliasField?: string }
  | { kind: "model-name"; field: string }
  /** An artifact path (run, logged model or model version folder); a run id, when given, wins. */
  | { kind: "artifact"; field: string; runField?: string }
  /** SearchTracesV3's `locations[].mlflow_experiment.experiment_id`. */
  | { kind: "trace-locations" }
  /** OTLP export names its experiment in a header (mlflow/server/otel_api.py). */
  | { kind: "header-experiment"; header: string }
  /** Answers listing objects of one kind, filtered to what the caller may read. */
  | { kind: "search"; of: SearchKind }
  /** GraphQL: each top-level field is decided on its own (policy/graphql-access.ts). */
  | { kind: "graphql" }
  /** No object: only a global grant can allow it; `why` says why there is none. */
  | { kind: "none"; why: string };

export type SearchKind = "experiments" | "registered-models" | "model-versions";

export interface AccessRule {
  /** "open": UI files and probes, which every verified caller may load. */
  need: Permission | "open";
  /** Every object must pass. */
  objects: readonly ObjectRef[];
}

const exp = (field = "experiment_id"): ObjectRef => ({ kind: "experiment", field });
const exps = (field = "experiment_ids"): ObjectRef => ({ kind: "experiments", field });
const run = (field = "run_id|run_uuid"): ObjectRef => ({ kind: "run", field });
const loggedModel = (field = "model_id"): ObjectRef => ({ kind: "logged-model", field });
const trace = (field: string): ObjectRef => ({ kind: "trace", field });
const model = (field = "name"): ObjectRef => ({ kind: "model", field });
const artifact: ObjectRef = { kind: "artifact", field: "artifact_path" };
const none = (why: string): ObjectRef => ({ kind: "none", why });

const ADMIN_ROUTE = "one of MLflow's admin routes: it configures the server itself, not one experiment or model";
const AI_GATEWAY = "AI gateway configuration (endpoints, providers' secrets, budgets) belongs to the whole server";
const SERVER_WIDE = "it reads or changes server-wide state that belongs to no experiment or model";
const DATASET = "an evaluation dataset can belong to several experiments; the gateway does not look datasets up, so only global grants decide";
const NO_EXPERIMENT_IN_REQUEST = "the request does not name its experiment, so only global grants decide";

/** The table, refusing an operation listed twice (the later entry would silently win). */
function table(entries: Array<[string, AccessRule]>): ReadonlyMap<string, AccessRule> {
  const map = new Map<string, AccessRule>();
  for (const [operation, rule] of entries) {
    if (map.has(operation)) throw new Error(`src/policy/access-rules.ts lists ${operation} twice`);
    map.set(operation, rule);
  }
  return map;
}

function rules(need: Permission | "open", objects: readonly ObjectRef[], operations: readonly string[]): Array<[string, AccessRule]> {
  return operations.map((operation) => [operation, { need, objects }]);
}

/**
 * Per MLflow operation (as named in the installed MLflow's route table), the permission
 * it needs and the objects it is decided on. Deleting an object needs MANAGE, as in
 * MLflow's own permission model (mlflow/server/auth/permissions.py: EDIT cannot delete);
 * removing a tag is an edit. test/unit/policy/access-rules.test.ts fails when a route of
 * the installed MLflow has no entry here.
 */
export const ACCESS_RULES: ReadonlyMap<string, AccessRule> = table([
  ...rules("open", [], ["Serve", "ServeStaticFile", "Static", "Health", "Version"]),
  // What the server can do, which the UI asks on every page load: capability, not data, so
  // every verified caller gets it, whatever their grants (a team-scoped reader's UI must load).
  ...rules(
    "open",
    [],
    [
      "GetServerInfo",
      "ServeGetUiTelemetry",
      "ServePostUiTelemetry",
      "ListSupportedModels",
      "ListSupportedProviders",
      "GetProviderConfig",
      "GetConfig",
      "GetProviders",
    ],
  ),

  // Experiments.
  ...rules("READ", [exp()], ["GetExperiment"]),
  ...rules("READ", [{ kind: "experiment-name", field: "experiment_name" }], ["GetExperimentByName"]),
  ...rules("READ", [{ kind: "search", of: "experiments" }], ["SearchExperiments"]),
  ...rules("READ", [exps()], ["ServeSearchDatasets", "SearchDatasets"]),
  ...rules("EDIT", [{ kind: "experiment-name", field: "name" }], ["CreateExperiment"]),
  ...rules("EDIT", [exp(), { kind: "experiment-name", field: "new_name" }], ["UpdateExperiment"]),
  ...rules("EDIT", [exp()], ["SetExperimentTag", "DeleteExperimentTag"]),
  ...rules("MANAGE", [exp()], ["DeleteExperiment", "RestoreExperiment"]),

  // Runs, their metrics and inputs.
  ...rules("READ", [run()], ["GetRun", "GetMetricHistory"]),
  ...rules("READ", [{ kind: "runs", field: "run_id" }], ["ServeGetMetricHistoryBulk"]),
  ...rules("READ", [{ kind: "runs", field: "run_ids" }], ["GetMetricHistoryBulkInterval"]),
  ...rules("READ", [exps()], ["SearchRuns"]),
  ...rules("EDIT", [exp()], ["CreateRun", "ServeCreatePromptlabRun"]),
  ...rules("EDIT", [run()], ["UpdateRun", "SetTag", "DeleteTag", "LogMetric", "LogParam", "LogBatch", "LogModel", "LogInputs", "LogOutputs"]),
  ...rules("MANAGE", [run()], ["DeleteRun", "RestoreRun"]),

  // Artifacts: by run, or by artifact path (whose folder names its experiment or model).
  ...rules("READ", [{ kind: "artifact", field: "path", runField: "run_id|run_uuid" }], ["ListArtifacts"]),
  ...rules("READ", [artifact], ["DownloadArtifact", "GetPresignedDownloadUrl"]),
  ...rules("EDIT", [artifact], ["UploadArtifact", "CreateMultipartUpload", "CompleteMultipartUpload", "AbortMultipartUpload"]),
  ...rules("MANAGE", [artifact], ["DeleteArtifact"]),
  ...rules(
    "EDIT",
    [none("a part belongs to an upload its creator started; the gateway's upload table checks the part's owner")],
    ["UploadArtifactPart"],
  ),
  ...rules("READ", [run()], ["ServeArtifacts", "CreatePresignedDownloadUrl"]),
  // The UI's upload reads its run from the query whatever the method (mlflow/server/handlers.py upload_artifact_handler).
  ...rules("EDIT", [run("query:run_uuid")], ["ServeUploadArtifact"]),
  ...rules("EDIT", [run(), loggedModel()], ["CreatePresignedUploadUrl"]),
  ...rules("READ", [{ kind: "model-name", field: "name" }], ["ServeModelVersionArtifact"]),
  ...rules("READ", [trace("request_id")], ["ServeGetTraceArtifact"]),

  // Logged models.
  ...rules("READ", [loggedModel()], ["GetLoggedModel", "ListLoggedModelArtifacts", "ServeGetLoggedModelArtifact"]),
  ...rules("READ", [exps()], ["SearchLoggedModels"]),
  ...rules("EDIT", [exp(), run("source_run_id")], ["CreateLoggedModel"]),
  ...rules("EDIT", [loggedModel()], ["FinalizeLoggedModel", "LogLoggedModelParamsRequest", "SetLoggedModelTags", "DeleteLoggedModelTag"]),
  ...rules("MANAGE", [loggedModel()], ["DeleteLoggedModel"]),

  // Registered models and versions.
  ...rules("READ", [model()], ["GetRegisteredModel", "GetLatestVersions", "GetModelVersion", "GetModelVersionDownloadUri", "GetModelVersionByAlias"]),
  ...rules("READ", [{ kind: "search", of: "registered-models" }], ["SearchRegisteredModels"]),
  ...rules("READ", [{ kind: "search", of: "model-versions" }], ["SearchModelVersions"]),
  ...rules("EDIT", [model()], ["CreateRegisteredModel", "UpdateRegisteredModel", "SetRegisteredModelTag", "DeleteRegisteredModelTag"]),
  ...rules("EDIT", [model(), { kind: "model-name", field: "new_name" }], ["RenameRegisteredModel"]),
  // A version copies its source run's files: the caller must be able to read that run.
  ...rules("EDIT", [model(), run("run_id")], ["CreateModelVersion"]),
  ...rules("EDIT", [model()], ["UpdateModelVersion", "SetModelVersionTag", "DeleteModelVersionTag", "TransitionModelVersionStage"]),
  ...rules("EDIT", [{ kind: "model", field: "name", aliasField: "alias" }], ["SetRegisteredModelAlias", "DeleteRegisteredModelAlias"]),
  ...rules("MANAGE", [model()], ["DeleteRegisteredModel", "DeleteModelVersion"]),

  // Traces and assessments.
  ...rules("READ", [exps()], ["SearchTraces", "SearchUnifiedTraces", "CalculateTraceFilterCorrelation", "QueryTraceMetrics"]),
  ...rules("READ", [{ kind: "trace-locations" }], ["SearchTracesV3"]),
  ...rules("READ", [trace("request_id")], ["GetTraceInfo"]),
  ...rules("READ", [trace("trace_id")], ["GetTraceInfoV3", "GetTrace", "GetAssessmentRequest", "GetOnlineTraceDetails"]),
  ...rules("READ", [{ kind: "traces", field: "trace_ids" }, exps()], ["BatchGetTraces", "BatchGetTraceInfos"]),
  ...rules("EDIT", [exp()], ["StartTrace"]),
  ...rules("EDIT", [exp("trace.trace_info.trace_location.mlflow_experiment.experiment_id")], ["StartTraceV3"]),
  ...rules("EDIT", [{ kind: "header-experiment", header: "x-mlflow-experiment-id" }], ["ExportTraces"]),
  ...rules("EDIT", [trace("request_id")], ["EndTrace", "SetTraceTag", "DeleteTraceTag"]),
  ...rules(
    "EDIT",
    [trace("trace_id")],
    ["SetTraceTagV3", "DeleteTraceTagV3", "CreateAssessment", "UpdateAssessment", "DeleteAssessment", "LinkPromptsToTrace"],
  ),
  ...rules("EDIT", [run("run_id"), { kind: "traces", field: "trace_ids" }], ["LinkTracesToRun"]),
  ...rules("MANAGE", [exp()], ["DeleteTraces", "DeleteTracesV3"]),

  // GraphQL: each field on its own objects.
  ...rules("READ", [{ kind: "graphql" }], ["Graphql"]),

  // GenAI evaluation objects that name their experiment.
  ...rules(
    "READ",
    [exp()],
    ["GetScorer", "ListScorerVersions", "SearchIssues", "ListLabelSchemas", "ListReviewQueues", "SearchPromptOptimizationJobs"],
  ),
  ...rules("READ", [exp(), exps()], ["ListScorers"]),
  ...rules("EDIT", [exp()], ["RegisterScorer", "CreateIssue", "CreateLabelSchema", "CreateReviewQueue", "CreatePromptOptimizationJob"]),
  ...rules("MANAGE", [exp()], ["DeleteScorer"]),
  ...rules("READ", [exps()], ["SearchEvaluationDatasets"]),
  ...rules("EDIT", [exps()], ["CreateDataset"]),
  ...rules("READ", [none(DATASET)], ["GetDataset", "GetDatasetExperimentIds", "GetDatasetRecords"]),
  ...rules(
    "EDIT",
    [none(DATASET)],
    ["UpsertDatasetRecords", "SetDatasetTags", "DeleteDatasetTag", "DeleteDatasetRecords", "AddDatasetToExperiments", "RemoveDatasetFromExperiments"],
  ),
  ...rules("MANAGE", [none(DATASET)], ["DeleteDataset"]),
  ...rules(
    "READ",
    [none(NO_EXPERIMENT_IN_REQUEST)],
    [
      "GetIssue",
      "GetLabelSchema",
      "GetLabelSchemaByName",
      "GetReviewQueue",
      "GetReviewQueueByName",
      "ListReviewQueueItems",
      "GetPromptOptimizationJob",
      "GetOnlineScoringConfigs",
    ],
  ),
  ...rules(
    "EDIT",
    [none(NO_EXPERIMENT_IN_REQUEST)],
    [
      "UpdateIssue",
      "UpdateLabelSchema",
      "UpdateReviewQueue",
      "GetOrCreateUserQueue",
      "AddItemsToReviewQueue",
      "RemoveItemsFromReviewQueue",
      "SetReviewQueueItemStatus",
      "CancelPromptOptimizationJob",
      "UpsertOnlineScoringConfig",
      "InvokeGenaiEvaluateHandler",
      "InvokeIssueDetectionHandler",
      "InvokeScorerHandler",
    ],
  ),
  ...rules("MANAGE", [none(NO_EXPERIMENT_IN_REQUEST)], ["DeleteLabelSchema", "DeleteReviewQueue", "DeletePromptOptimizationJob"]),

  // Server-wide reads and writes every team shares.
  ...rules(
    "READ",
    [none(SERVER_WIDE)],
    [
      "ListWorkspaces",
      "GetWorkspace",
      "SearchJobs",
      "GetJob",
      "GetSecretsConfig",
      "SearchMcpServers",
      "GetMcpServer",
      "SearchAllAccessEndpoints",
      "GetVersionByAlias",
      "SearchServerAccessEndpoints",
      "GetMcpAccessEndpoint",
      "SearchMcpServerVersions",
      "GetMcpServerVersion",
    ],
  ),
  ...rules(
    "EDIT",
    [none(SERVER_WIDE)],
    [
      "SubmitJob",
      "CancelJob",
      "CreateMcpServer",
      "UpdateMcpServer",
      "SetMcpServerAlias",
      "DeleteMcpServerAlias",
      "CreateMcpAccessEndpoint",
      "UpdateMcpAccessEndpoint",
      "SetMcpServerTag",
      "DeleteMcpServerTag",
      "CreateMcpServerVersion",
      "UpdateMcpServerVersion",
      "SetMcpServerVersionTag",
      "DeleteMcpServerVersionTag",
    ],
  ),
  ...rules("MANAGE", [none(SERVER_WIDE)], ["DeleteMcpServer", "DeleteMcpAccessEndpoint", "DeleteMcpServerVersion"]),
  // Calling an AI-gateway endpoint spends the provider keys the server holds.
  ...rules(
    "EDIT",
    [none("an AI-gateway endpoint call spends the server's provider keys; it belongs to no experiment or model")],
    [
      "ServeGatewayProxy",
      "ChatCompletions",
      "ListModels",
      "Invocations",
      "RawProxy",
      "OpenaiPassthroughChat",
      "OpenaiPassthroughEmbeddings",
      "OpenaiPassthroughResponses",
      "OpenaiPassthroughResponsesCompact",
      "AnthropicPassthroughMessages",
      "GeminiPassthroughGenerateContent",
      "GeminiPassthroughStreamGenerateContent",
      "TypesafePassthroughSystemOne",
    ],
  ),

  // Admin routes: webhooks, AI-gateway secrets and endpoints, workspaces, demo data, the assistant.
  ...rules("ADMIN", [none(ADMIN_ROUTE)], ["ListWebhooks", "CreateWebhook", "GetWebhook", "UpdateWebhook", "DeleteWebhook", "TestWebhook"]),
  ...rules(
    "ADMIN",
    [none(AI_GATEWAY)],
    [
      "CreateGatewaySecret",
      "UpdateGatewaySecret",
      "DeleteGatewaySecret",
      "GetGatewaySecretInfo",
      "ListGatewaySecretInfos",
      "CreateGatewayEndpoint",
      "UpdateGatewayEndpoint",
      "DeleteGatewayEndpoint",
      "GetGatewayEndpoint",
      "ListGatewayEndpoints",
      "SetGatewayEndpointTag",
      "DeleteGatewayEndpointTag",
      "AttachModelToGatewayEndpoint",
      "DetachModelFromGatewayEndpoint",
      "CreateGatewayEndpointBinding",
      "DeleteGatewayEndpointBinding",
      "ListGatewayEndpointBindings",
      "CreateGatewayModelDefinition",
      "UpdateGatewayModelDefinition",
      "DeleteGatewayModelDefinition",
      "GetGatewayModelDefinition",
      "ListGatewayModelDefinitions",
      "CreateGatewayBudgetPolicy",
      "UpdateGatewayBudgetPolicy",
      "DeleteGatewayBudgetPolicy",
      "GetGatewayBudgetPolicy",
      "ListGatewayBudgetPolicies",
      "ListGatewayBudgetWindows",
      "CreateGatewayGuardrail",
      "DeleteGatewayGuardrail",
      "GetGatewayGuardrail",
      "ListGatewayGuardrails",
      "AddGuardrailToEndpoint",
      "RemoveGuardrailFromEndpoint",
      "ListEndpointGuardrailConfigs",
      "UpdateEndpointGuardrailConfig",
    ],
  ),
  ...rules("ADMIN", [none(ADMIN_ROUTE)], ["CreateWorkspace", "UpdateWorkspace", "DeleteWorkspace", "GenerateDemo", "DeleteDemo"]),
  ...rules(
    "ADMIN",
    [none("the assistant runs tools on the server with the service principal's rights")],
    [
      "UpdateConfig",
      "SendMessage",
      "ProviderHealthCheck",
      "ListProviderModels",
      "PatchSession",
      "ResolvePermission",
      "StreamResponse",
      "ResolveClientToolResult",
      "InstallSkillsEndpoint",
    ],
  ),
]);

/** The rule of an operation; undefined for an operation nobody reviewed, which the gateway refuses. */
export function accessRuleOf(operation: string): AccessRule | undefined {
  return ACCESS_RULES.get(operation);
}
