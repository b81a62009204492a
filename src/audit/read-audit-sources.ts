import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import { readDatabricks } from "../config/databricks-config.js";
import { type ConfigProblem, type Env, EnvReader } from "../config/env-reader.js";
import { formatProblems } from "../config/load-config.js";
import { FilesApiError, FilesClient } from "../databricks/files-client.js";
import { WorkspaceClient, WorkspaceError } from "../databricks/workspace-client.js";

/**
 * Where audit lines are read from: local files and directories (the file sink), or a
 * Unity Catalog volume through the Files API (the volume sink). Each stream's files come
 * in write order, so a verifier that keeps per-stream state only sees each chain in order.
 * Lines are streamed one at a time: months of logs are never held in memory.
 */

export type AuditSourceErrorCode =
  "SOURCE_NOT_FOUND" | "SOURCE_UNREADABLE" | "NO_AUDIT_FILES" | "VOLUME_PATH_INVALID" | "WORKSPACE_CONFIG_INVALID" | "WORKSPACE_FAILED";

export class AuditSourceError extends Error {
  override readonly name = "AuditSourceError";
  constructor(
    readonly code: AuditSourceErrorCode,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

export interface AuditFile {
  kind: "local" | "volume";
  /** The local path (as given, joined with the names found under it) or the volume path `/Volumes/...`. */
  path: string;
  /** From the name when it follows a sink's naming; undefined for other files. */
  stream: string | undefined;
  /** Orders one stream's files: `<date>/<part>` for local files, the batch number for volume objects. */
  rank: string;
}

/** One line and where it was read, so a finding names `file:line`. */
export interface AuditLine {
  text: string;
  source: string;
  line: number;
}

export interface AuditSources {
  files: readonly AuditFile[];
  lines(): AsyncGenerator<AuditLine>;
}

export interface AuditSourceOptions {
  /** Where DATABRICKS_HOST and the credentials are read; process.env by default. */
  env?: Env;
  /** A client to use instead of one configured from `env` (tests). */
  workspace?: WorkspaceClient;
  /** Entries per directory listing page (the Files API allows up to 1000). */
  pageSize?: number;
}

/** Local file sink: `audit-<YYYY-MM-DD>-<stream>-<part 4 digits>.jsonl` (see audit-record.ts). */
const LOCAL_NAME = /^audit-(\d{4}-\d{2}-\d{2})-(.+)-(\d{4})\.jsonl$/;
/** Volume sink: `<stream>-<batch 8 digits>.jsonl` under `date=<YYYY-MM-DD>/`. */
const VOLUME_NAME = /^(.+)-(\d{8})\.jsonl$/;
const VOLUME_PATH = /^\/Volumes\/[^/]+\/[^/]+\/[^/]+(?:\/.*)?$/;
const DEFAULT_PAGE_SIZE = 1000;

/** Resolves every source to its files, ordered; nothing is read yet. */
export async function openAuditSources(sources: readonly string[], options: AuditSourceOptions = {}): Promise<AuditSources> {
  const volume = new VolumeReader(options);
  const found: AuditFile[] = [];
  for (const source of sources) {
    const files = await filesOf(source, volume);
    if (files.length === 0) throw new AuditSourceError("NO_AUDIT_FILES", `${source} holds no .jsonl files`);
    found.push(...files);
  }
  const files = orderAuditFiles(found);
  return {
    files,
    async *lines() {
      for (const file of files) {
        yield* file.kind === "local" ? readLocalLines(file.path) : volume.readLines(file.path);
      }
    },
  };
}

/**
 * Named files first, grouped by stream (stream ids start with their UTC start time, so this
 * is chronological), each stream's in write order; other files after, in the order found.
 * The same file given twice is read once.
 */
export function orderAuditFiles(files: readonly AuditFile[]): AuditFile[] {
  const unique = [...new Map(files.map((file) => [`${file.kind}:${file.path}`, file])).values()];
  const named = unique.filter((file) => file.stream !== undefined);
  const others = unique.filter((file) => file.stream === undefined);
  named.sort((a, b) => compare(a.stream ?? "", b.stream ?? "") || compare(a.rank, b.rank) || compare(a.path, b.path));
  return [...named, ...others];
}

/** The stream and rank a sink's file name encodes; undefined for names no sink writes. */
export function auditFileOrder(name: string): { stream: string; rank: string } | undefined {
  const local = LOCAL_NAME.exec(name);
  if (local !== null) return { stream: local[2] ?? "", rank: `${local[1]}/${local[3]}` };
  const volume = VOLUME_NAME.exec(name);
  if (volume !== null) return { stream: volume[1] ?? "", rank: volume[2] ?? "" };
  return undefined;
}

async function filesOf(source: string, volume: VolumeReader): Promise<AuditFile[]> {
  // dbfs:/Volumes/... always means the workspace; a bare /Volumes/... path is read locally when it
  // exists here (a Databricks cluster mounts volumes there, macOS mounts disks there).
  if (source.startsWith("dbfs:/")) return volume.list(volumePath(source.slice("dbfs:".length), source));
  const local = await stat(source).catch(() => undefined);
  if (local === undefined) {
    if (source.startsWith("/Volumes/")) return volume.list(volumePath(source, source));
    throw new AuditSourceError("SOURCE_NOT_FOUND", `${source} does not exist`);
  }
  if (local.isDirectory()) return walkLocal(source);
  return [fileAt("local", source)];
}

async function walkLocal(dir: string): Promise<AuditFile[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new AuditSourceError("SOURCE_UNREADABLE", `cannot list ${dir} (${codeOf(error)})`, { cause: error });
  }
  const files: AuditFile[] = [];
  for (const entry of entries.sort((a, b) => compare(a.name, b.name))) {
    // Hidden entries are editors' and sinks' temporary files, never audit data.
    if (entry.name.startsWith(".")) continue;
    const child = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walkLocal(child)));
    else if (entry.name.endsWith(".jsonl")) files.push(fileAt("local", child));
  }
  return files;
}

async function* readLocalLines(file: string): AsyncGenerator<AuditLine> {
  yield* numberLines(createReadStream(file), file);
}

/** Lines with 1-based numbers; a read error becomes a typed error that names the file. */
async function* numberLines(input: Readable, source: string): AsyncGenerator<AuditLine> {
  const reader = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  try {
    for await (const text of reader) {
      line += 1;
      yield { text, source, line };
    }
  } catch (error) {
    throw new AuditSourceError("SOURCE_UNREADABLE", `reading ${source} failed after line ${line} (${codeOf(error)})`, { cause: error });
  } finally {
    reader.close();
    input.destroy();
  }
}

function fileAt(kind: AuditFile["kind"], filePath: string): AuditFile {
  const order = auditFileOrder(path.posix.basename(filePath.split(path.sep).join("/")));
  return { kind, path: filePath, stream: order?.stream, rank: order?.rank ?? "" };
}

function volumePath(raw: string, given: string): string {
  const trimmed = raw.replace(/\/+$/, "");
  if (!VOLUME_PATH.test(trimmed) || trimmed.split("/").some((segment) => segment === "." || segment === "..")) {
    throw new AuditSourceError(
      "VOLUME_PATH_INVALID",
      `${given} is not a volume path; use /Volumes/<catalog>/<schema>/<volume>/... or dbfs:/Volumes/...`,
    );
  }
  return trimmed;
}

/** The volume sink through the Files API, as the gateway's service principal (or any principal the env names). */
class VolumeReader {
  readonly #options: AuditSourceOptions;
  #client: WorkspaceClient | undefined;
  #filesClient: FilesClient | undefined;

  constructor(options: AuditSourceOptions) {
    this.#options = options;
    this.#client = options.workspace;
  }

  async list(root: string): Promise<AuditFile[]> {
    if (root.endsWith(".jsonl")) return [fileAt("volume", root)];
    const files: AuditFile[] = [];
    const pending = [root];
    for (let dir = pending.shift(); dir !== undefined; dir = pending.shift()) {
      for (const entry of await this.#listDirectory(dir)) {
        if (entry.isDirectory) pending.push(entry.path);
        else if (entry.path.endsWith(".jsonl")) files.push(fileAt("volume", entry.path));
      }
    }
    return files;
  }

  async *readLines(file: string): AsyncGenerator<AuditLine> {
    const download = await this.#files(file)
      .download(file)
      .catch((error: unknown) => this.#failed(error, file));
    yield* numberLines(Readable.fromWeb(download.body), file);
  }

  async #listDirectory(dir: string): Promise<{ path: string; isDirectory: boolean }[]> {
    const entries = await this.#files(dir)
      .list(dir, { pageSize: this.#options.pageSize ?? DEFAULT_PAGE_SIZE })
      .catch((error: unknown) => this.#failed(error, dir));
    if (entries === undefined) throw new AuditSourceError("SOURCE_NOT_FOUND", `${dir} does not exist in ${this.#workspace(dir).host}`);
    return entries.map((entry) => ({ path: entry.path.replace(/\/+$/, ""), isDirectory: entry.isDir }));
  }

  /** The Files API retries throttling and server errors itself; what still fails is a typed error. */
  #failed(error: unknown, subject: string): never {
    const host = this.#workspace(subject).host;
    if (error instanceof FilesApiError && error.status === 404)
      throw new AuditSourceError("SOURCE_NOT_FOUND", `${subject} does not exist in ${host}`);
    if (error instanceof FilesApiError) {
      const code = error.error.code === undefined ? "" : ` (${error.error.code})`;
      throw new AuditSourceError("WORKSPACE_FAILED", `reading ${subject} from ${host} answered ${error.status}${code}`, { cause: error });
    }
    const reason = error instanceof WorkspaceError ? error.message : codeOf(error);
    throw new AuditSourceError("WORKSPACE_FAILED", `cannot read ${subject} from ${host}: ${reason}`, { cause: error });
  }

  #files(subject: string): FilesClient {
    this.#filesClient ??= new FilesClient(this.#workspace(subject));
    return this.#filesClient;
  }

  /** Configured on first use, with the gateway's own rules, so local-only runs need no credentials. */
  #workspace(subject: string): WorkspaceClient {
    if (this.#client !== undefined) return this.#client;
    const problems: ConfigProblem[] = [];
    const config = readDatabricks(new EnvReader(this.#options.env ?? process.env, problems), problems);
    if (config === undefined || problems.length > 0) {
      throw new AuditSourceError("WORKSPACE_CONFIG_INVALID", `Reading ${subject} needs the workspace and credentials.\n${formatProblems(problems)}`);
    }
    this.#client = new WorkspaceClient(config);
    return this.#client;
  }
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : error instanceof Error ? error.message : String(error);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
