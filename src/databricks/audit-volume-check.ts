import type { Logger } from "../log/create-logger.js";
import type { ReadinessCheck } from "../readiness.js";
import { FilesApiError, FilesClient } from "./files-client.js";
import { readDatabricksError, WORKSPACE_TIMEOUT_MS, WorkspaceError, type WorkspaceClient } from "./workspace-client.js";

/** A usable volume is re-checked this often (two small calls). */
export const VOLUME_CHECK_INTERVAL_OK_MS = 5 * 60_000;
/** A missing or unwritable volume is re-checked this often, so a fix is noticed by itself. */
export const VOLUME_CHECK_INTERVAL_FAILING_MS = 5_000;
/** The probe object: not a .jsonl file, so audit readers never take it for a batch. */
export const PROBE_NAME = ".gateway-write-check";

/** The workspace could not answer the check (throttling, 5xx, unreachable): nothing about the volume's setup. */
class TransientProblem extends Error {}

interface VolumeName {
  catalog: string;
  schema: string;
  volume: string;
  fullName: string;
}

/** `/Volumes/<catalog>/<schema>/<volume>[/<prefix>]` -> its three-level name (Unity Catalog names are lower case). */
export function volumeNameOf(volumePath: string): VolumeName {
  const [, , catalog = "", schema = "", volume = ""] = volumePath.split("/");
  const name = { catalog: catalog.toLowerCase(), schema: schema.toLowerCase(), volume: volume.toLowerCase() };
  return { ...name, fullName: `${name.catalog}.${name.schema}.${name.volume}` };
}

/**
 * Readiness of the durable audit sink in Databricks mode: the Unity Catalog volume named
 * by GATEWAY_AUDIT_VOLUME exists and the app's service principal may write it. Getting a
 * token proves neither; a first real deployment otherwise learns it only when the first
 * batch is refused. The answer names exactly what is missing (the catalog, the schema, the
 * volume, or which privilege) and the grant that fixes it. A workspace that cannot answer
 * for a while (5xx, throttling) does not undo a verified setup: the audit spool rides out
 * such outages (audit/sinks/volume-sink.ts), and the audit check reports them.
 */
export class AuditVolumeCheck implements ReadinessCheck {
  readonly name = "audit-volume";
  readonly #name: VolumeName;
  #status = { ok: false, detail: "not checked yet" };
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    private readonly client: WorkspaceClient,
    private readonly volumePath: string,
    private readonly logger: Logger,
  ) {
    this.#name = volumeNameOf(volumePath);
  }

  check(): { ok: boolean; detail: string } {
    return this.#status;
  }

  async start(): Promise<void> {
    await this.runOnce();
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async runOnce(): Promise<{ ok: boolean; detail: string }> {
    const previous = this.#status;
    try {
      this.#status = { ok: true, detail: await this.#probe() };
      if (!previous.ok) this.logger.info("audit volume check passed", { volume: this.#name.fullName });
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      if (previous.ok && error instanceof TransientProblem) {
        this.#status = { ok: true, detail: `${previous.detail.split("; last re-check")[0] ?? ""}; last re-check could not reach it (${detail})` };
        return this.#status;
      }
      this.#status = { ok: false, detail };
      if (previous.ok || previous.detail !== detail) this.logger.error(`audit volume check failed: ${detail}`, { volume: this.#name.fullName });
    }
    return this.#status;
  }

  async #probe(): Promise<string> {
    const { catalog, schema, fullName } = this.#name;
    const grants = `GRANT USE CATALOG ON CATALOG ${catalog}, USE SCHEMA ON SCHEMA ${catalog}.${schema}, READ VOLUME and WRITE VOLUME ON VOLUME ${fullName} to the app's service principal`;
    const info = await this.#call(`/api/2.1/unity-catalog/volumes/${encodeURIComponent(fullName)}`, {}, `see the volume ${fullName} (${grants})`);
    if (info.status === 404) {
      const { code } = await readDatabricksError(info);
      if (code === "CATALOG_DOES_NOT_EXIST")
        throw new Error(
          `the catalog ${catalog} of GATEWAY_AUDIT_VOLUME does not exist: create it, or point GATEWAY_AUDIT_VOLUME at an existing volume`,
        );
      if (code === "SCHEMA_DOES_NOT_EXIST")
        throw new Error(
          `the schema ${catalog}.${schema} of GATEWAY_AUDIT_VOLUME does not exist: create it, or point GATEWAY_AUDIT_VOLUME at an existing volume`,
        );
      throw new Error(`the audit volume ${fullName} does not exist: create it (CREATE VOLUME ${fullName}) and ${grants}`);
    }
    if (!info.ok) throw new Error(`reading the audit volume ${fullName} answered ${info.status}${await codeSuffix(info)}`);
    await info.body?.cancel();
    await this.#writeProbe(fullName);
    return `the audit volume ${fullName} exists and the service principal can write ${this.volumePath}`;
  }

  /** Writes the probe object through the Files API, as the audit sink writes its batches. */
  async #writeProbe(fullName: string): Promise<void> {
    const body = Buffer.from(`gateway write check ${new Date().toISOString()}\n`);
    try {
      await new FilesClient(this.client).upload(`${this.volumePath}/${PROBE_NAME}`, body, body.length, { timeoutMs: WORKSPACE_TIMEOUT_MS });
    } catch (error) {
      if (error instanceof FilesApiError && error.status === 403) {
        throw new Error(
          `the app's service principal may not write the audit volume ${fullName} (GRANT WRITE VOLUME ON VOLUME ${fullName} to the app's service principal)`,
        );
      }
      if (error instanceof FilesApiError && error.status !== 429 && error.status < 500) {
        throw new Error(
          `writing the audit volume ${fullName} answered ${error.status}${error.error.code === undefined ? "" : ` ${error.error.code}`}`,
        );
      }
      // Throttling, 5xx, an unreachable workspace or a token problem: nothing about the volume's setup.
      throw new TransientProblem(`cannot check the audit volume: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** A call whose 403 means "the service principal may not <what>"; other failures say what the workspace answered. */
  async #call(path: string, init: RequestInit, what: string): Promise<Response> {
    try {
      return await this.client.request(path, init);
    } catch (error) {
      if (error instanceof WorkspaceError && error.failure === "forbidden") throw new Error(`the app's service principal may not ${what}`);
      // Throttling, 5xx, an unreachable workspace or a token problem: nothing about the volume's setup.
      throw new TransientProblem(`cannot check the audit volume: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    const delay = this.#status.ok ? VOLUME_CHECK_INTERVAL_OK_MS : VOLUME_CHECK_INTERVAL_FAILING_MS;
    this.#timer = setTimeout(() => {
      void this.runOnce().finally(() => this.#schedule());
    }, delay);
    this.#timer.unref();
  }
}

async function codeSuffix(response: Response): Promise<string> {
  const { code } = await readDatabricksError(response);
  return code === undefined ? "" : ` ${code}`;
}
