/**
 * The differential parsing corpus: requests on real MLflow routes, each mutated the way
 * proxies in front of Python apps have been fooled (path normalisation, encodings,
 * look-alike characters, repeated parameters, duplicate JSON keys, content types, method
 * overrides, HEAD/OPTIONS). test/integration/differential-parsing.test.ts sends every case
 * through the gateway to a real `mlflow server` and checks that what the gateway audited
 * is what MLflow did, or that the gateway refused it.
 *
 * Generated, not hand-listed, so an MLflow upgrade reruns the same mutations on its routes;
 * the templates' routes are checked against the installed route table first
 * (templateRoutesMissingFrom), so a route MLflow drops fails loudly instead of testing 404s.
 *
 * Placeholders filled in by the runner: {A} and {B} are two runs of one experiment, {E} is
 * that experiment, {K} a tag key unique to the case.
 */

export type Template = "GetRun" | "GetExperiment" | "SetTag";

export interface DifferentialCase {
  /** Stable, readable name: template and mutation. */
  id: string;
  template: Template;
  method: string;
  /** The request target exactly as sent (may be invalid on purpose). */
  target: string;
  headers: Record<string, string>;
  body?: string;
}

interface TemplateShape {
  method: "GET" | "POST";
  path: string;
  query: string;
  body?: string;
}

const TEMPLATES: Record<Template, TemplateShape> = {
  GetRun: { method: "GET", path: "/api/2.0/mlflow/runs/get", query: "run_id={A}" },
  GetExperiment: { method: "GET", path: "/api/2.0/mlflow/experiments/get", query: "experiment_id={E}" },
  SetTag: { method: "POST", path: "/api/2.0/mlflow/runs/set-tag", query: "", body: '{"run_id":"{A}","key":"{K}","value":"v"}' },
};

const JSON_TYPE = { "Content-Type": "application/json" };

/** Path mutations: each takes the template's path and returns the one to send. */
const PATH_MUTATIONS: ReadonlyArray<[string, (path: string) => string]> = [
  ["as is", (p) => p],
  ["leading double slash", (p) => `/${p}`],
  ["inner double slash", (p) => p.replace("/2.0/", "//2.0/")],
  ["trailing slash", (p) => `${p}/`],
  ["trailing dot", (p) => `${p}.`],
  ["trailing %20", (p) => `${p}%20`],
  ["dot segment", (p) => p.replace("/mlflow/", "/mlflow/./")],
  ["dot-dot segment", (p) => p.replace("/mlflow/", "/mlflow/x/../")],
  ["encoded dot-dot", (p) => p.replace("/mlflow/", "/mlflow/x/%2E%2E/")],
  ["double-encoded dot-dot", (p) => p.replace("/mlflow/", "/mlflow/x/%252E%252E/")],
  ["semicolon parameter", (p) => `${p};x=1`],
  ["semicolon in a segment", (p) => p.replace("/mlflow/", "/mlflow;x=1/")],
  ["encoded last slash", (p) => replaceLast(p, "/", "%2F")],
  ["double-encoded last slash", (p) => replaceLast(p, "/", "%252F")],
  ["encoded letter", (p) => p.replace("mlflow", "%6Dlflow")],
  ["encoded trailing dot", (p) => `${p}%2E`],
  ["upper-case prefix", (p) => p.replace("/api/", "/API/")],
  ["mixed-case segment", (p) => p.replace("mlflow", "MLflow")],
  ["upper-case last segment", (p) => replaceLastSegment(p, (s) => s.toUpperCase())],
  ["fullwidth slash (raw UTF-8)", (p) => replaceLast(p, "/", "\uff0f")],
  ["fullwidth slash (encoded)", (p) => replaceLast(p, "/", "%EF%BC%8F")],
  ["Cyrillic look-alike e", (p) => replaceLastSegment(p, (s) => s.replace("e", "\u0435"))],
  ["overlong UTF-8 slash", (p) => replaceLast(p, "/", "%C0%AF")],
  ["IIS-style %u slash", (p) => replaceLast(p, "/", "%u002f")],
  ["backslash", (p) => replaceLast(p, "/", "\\")],
  ["encoded backslash", (p) => replaceLast(p, "/", "%5C")],
  ["encoded NUL", (p) => `${p}%00`],
  ["fragment", (p) => `${p}#frag`],
  ["absolute-form target", (p) => `http://127.0.0.1${p}`],
  ["ajax-api prefix", (p) => p.replace("/api/", "/ajax-api/")],
  ["ajax-api prefix, double slash", (p) => p.replace("/api/", "/ajax-api//")],
];

/** Query mutations of the GET templates (their one id parameter). */
const QUERY_MUTATIONS: Record<"GetRun" | "GetExperiment", ReadonlyArray<[string, string]>> = {
  GetRun: [
    ["repeated run_id (A first)", "run_id={A}&run_id={B}"],
    ["repeated run_id (B first)", "run_id={B}&run_id={A}"],
    ["run_uuid beside run_id", "run_id={A}&run_uuid={B}"],
    ["run_uuid only", "run_uuid={B}"],
    ["empty run_id, then run_uuid", "run_id=&run_uuid={B}"],
    ["semicolon separator", "run_id={A};run_id={B}"],
    ["encoded parameter name", "run%5Fid={A}"],
    ["upper-case parameter name", "RUN_ID={A}&run_id={B}"],
    ["encoded ampersand in the value", "run_id={A}%26run_id%3D{B}"],
    ["array-style name", "run_id[]={A}&run_id={B}"],
    ["plus in the value", "run_id={A}+"],
    ["empty query", ""],
    ["query given twice", "run_id={A}?run_id={B}"],
  ],
  GetExperiment: [
    ["repeated experiment_id", "experiment_id={E}&experiment_id=0"],
    ["repeated experiment_id (other first)", "experiment_id=0&experiment_id={E}"],
    ["encoded parameter name", "experiment%5Fid={E}"],
    ["semicolon separator", "experiment_id=0;experiment_id={E}"],
  ],
};

/** Body mutations of SetTag (JSON, with its content type unless the mutation says otherwise). */
const BODY_MUTATIONS: ReadonlyArray<[string, string, Record<string, string>?]> = [
  ["duplicate run_id (A then B)", '{"run_id":"{A}","run_id":"{B}","key":"{K}","value":"v"}'],
  ["duplicate run_id (B then A)", '{"run_id":"{B}","run_id":"{A}","key":"{K}","value":"v"}'],
  ["run_uuid beside run_id", '{"run_id":"{A}","run_uuid":"{B}","key":"{K}","value":"v"}'],
  ["run_uuid only", '{"run_uuid":"{B}","key":"{K}","value":"v"}'],
  ["escaped key name", '{"run\\u005fid":"{A}","key":"{K}","value":"v"}'],
  ["escaped value", '{"run_id":"\\u0041{A}","key":"{K}","value":"v"}'],
  ["upper-case duplicate key", '{"RUN_ID":"{B}","run_id":"{A}","key":"{K}","value":"v"}'],
  ["run_id as an array", '{"run_id":["{A}"],"key":"{K}","value":"v"}'],
  ["run_id as a number", '{"run_id":1,"key":"{K}","value":"v"}'],
  ["byte order mark", '\ufeff{"run_id":"{A}","key":"{K}","value":"v"}'],
  ["NaN value", '{"run_id":"{A}","key":"{K}","value":"v","x":NaN}'],
  ["trailing garbage", '{"run_id":"{A}","key":"{K}","value":"v"} {"run_id":"{B}"}'],
  ["run_id in the query too", '{"run_id":"{A}","key":"{K}","value":"v"}', { query: "run_id={B}" }],
];

/** Content types of SetTag's JSON body (and one form body). */
const CONTENT_TYPES: ReadonlyArray<[string, Record<string, string>, string?]> = [
  ["json with charset", { "Content-Type": "application/json; charset=utf-8" }],
  ["JSON in upper case", { "Content-Type": "APPLICATION/JSON" }],
  ["text/plain", { "Content-Type": "text/plain" }],
  ["form type with a JSON body", { "Content-Type": "application/x-www-form-urlencoded" }],
  ["multipart type with a JSON body", { "Content-Type": "multipart/form-data; boundary=x" }],
  ["no content type", {}],
  ["form body", { "Content-Type": "application/x-www-form-urlencoded" }, "run_id={A}&key={K}&value=v"],
  ["json type, form body naming B", { "Content-Type": "application/json" }, "run_id={B}&key={K}&value=v"],
  ["utf-16 charset on a utf-8 body", { "Content-Type": "application/json; charset=utf-16" }],
];

/** Method override headers and parameters (Flask honours none of them; neither may the gateway). */
const OVERRIDES: ReadonlyArray<[string, Template, string, Record<string, string>, string?]> = [
  ["X-HTTP-Method-Override: GET on a write", "SetTag", "POST", { "X-HTTP-Method-Override": "GET" }],
  ["X-HTTP-Method-Override: DELETE on a write", "SetTag", "POST", { "X-HTTP-Method-Override": "DELETE" }],
  ["X-Method-Override: GET on a write", "SetTag", "POST", { "X-Method-Override": "GET" }],
  ["_method=GET parameter on a write", "SetTag", "POST", {}, "_method=GET"],
  ["X-HTTP-Method-Override: POST on a read", "GetRun", "GET", { "X-HTTP-Method-Override": "POST" }],
];

/** Methods other than the route's own. */
const OTHER_METHODS: ReadonlyArray<[string, Template, string]> = [
  ["HEAD on a write route", "SetTag", "HEAD"],
  ["OPTIONS on a write route", "SetTag", "OPTIONS"],
  ["GET on a write route", "SetTag", "GET"],
  ["PUT on a write route", "SetTag", "PUT"],
  ["HEAD on a read route", "GetRun", "HEAD"],
  ["OPTIONS on a read route", "GetRun", "OPTIONS"],
  ["POST on a read route", "GetRun", "POST"],
  ["lower-case method", "GetRun", "get"],
];

export function generateCorpus(): DifferentialCase[] {
  const cases: DifferentialCase[] = [];
  const add = (c: DifferentialCase): void => {
    cases.push(c);
  };
  for (const template of Object.keys(TEMPLATES) as Template[]) {
    const shape = TEMPLATES[template];
    for (const [name, mutate] of PATH_MUTATIONS) {
      add(
        caseOf(
          template,
          `path: ${name}`,
          shape.method,
          withQuery(mutate(shape.path), shape.query),
          shape.body === undefined ? {} : JSON_TYPE,
          shape.body,
        ),
      );
    }
  }
  for (const template of ["GetRun", "GetExperiment"] as const) {
    for (const [name, query] of QUERY_MUTATIONS[template]) {
      for (const prefix of ["/api/", "/ajax-api/"]) {
        add(caseOf(template, `query: ${name} (${prefix})`, "GET", withQuery(TEMPLATES[template].path.replace("/api/", prefix), query), {}));
      }
    }
  }
  add(caseOf("GetRun", "query: JSON body naming B on a GET", "GET", withQuery(TEMPLATES.GetRun.path, "run_id={A}"), JSON_TYPE, '{"run_id":"{B}"}'));
  add(caseOf("GetRun", "query: no query, JSON body naming A on a GET", "GET", TEMPLATES.GetRun.path, JSON_TYPE, '{"run_id":"{A}"}'));
  const setTag = TEMPLATES.SetTag;
  for (const [name, body, extra] of BODY_MUTATIONS) {
    for (const prefix of ["/api/", "/ajax-api/"]) {
      add(
        caseOf(
          "SetTag",
          `body: ${name} (${prefix})`,
          "POST",
          withQuery(setTag.path.replace("/api/", prefix), extra?.["query"] ?? ""),
          JSON_TYPE,
          body,
        ),
      );
    }
  }
  for (const [name, headers, body] of CONTENT_TYPES) {
    for (const prefix of ["/api/", "/ajax-api/"]) {
      add(caseOf("SetTag", `content type: ${name} (${prefix})`, "POST", setTag.path.replace("/api/", prefix), headers, body ?? setTag.body));
    }
  }
  for (const [name, template, method, headers, query] of OVERRIDES) {
    const shape = TEMPLATES[template];
    add(
      caseOf(
        template,
        `override: ${name}`,
        method,
        withQuery(shape.path, [shape.query, query ?? ""].filter(Boolean).join("&")),
        { ...(shape.body ? JSON_TYPE : {}), ...headers },
        shape.body,
      ),
    );
  }
  for (const [name, template, method] of OTHER_METHODS) {
    const shape = TEMPLATES[template];
    add(caseOf(template, `method: ${name}`, method, withQuery(shape.path, shape.query), shape.body === undefined ? {} : JSON_TYPE, shape.body));
  }
  const ids = new Set(cases.map((c) => c.id));
  if (ids.size !== cases.length) throw new Error("the corpus has two cases with one name");
  return cases;
}

/** The template routes the installed route table lacks (an MLflow upgrade that moved one). */
export function templateRoutesMissingFrom(routes: ReadonlyArray<{ method: string; path: string }>): string[] {
  return Object.values(TEMPLATES)
    .filter((shape) => !routes.some((route) => route.method === shape.method && route.path === shape.path))
    .map((shape) => `${shape.method} ${shape.path}`);
}

export function operationOf(template: Template): string {
  return template;
}

function caseOf(
  template: Template,
  mutation: string,
  method: string,
  target: string,
  headers: Record<string, string>,
  body?: string,
): DifferentialCase {
  return body === undefined
    ? { id: `${template} ${mutation}`, template, method, target, headers }
    : { id: `${template} ${mutation}`, template, method, target, headers, body };
}

function withQuery(path: string, query: string): string {
  return query === "" ? path : `${path}?${query}`;
}

function replaceLast(text: string, search: string, replacement: string): string {
  const at = text.lastIndexOf(search);
  return at < 0 ? text : `${text.slice(0, at)}${replacement}${text.slice(at + search.length)}`;
}

function replaceLastSegment(path: string, change: (segment: string) => string): string {
  const at = path.lastIndexOf("/");
  return `${path.slice(0, at + 1)}${change(path.slice(at + 1))}`;
}
