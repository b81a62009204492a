// Test helper: sets up Unity Catalog objects and grants through the
// workspace's REST API with a metastore admin's token, exactly as an admin
// (or Terraform) would on a real workspace. The emulator starts with an empty
// metastore, so a test that registers models or writes to a volume first asks
// for what it needs here; nothing bypasses the API.
//
//   const uc = await ucAdmin(emu, "admin@example.com"); // a user in group "admins"
//   await uc.allowModels("main.default", emu.servicePrincipal.applicationId);
//   await uc.allowVolume("main.audit.events", emu.servicePrincipal.applicationId, "write");

import type { Privilege } from "./uc-privileges.js";
import type { WorkspaceEmulator } from "./types.js";

const BASE = "/api/2.1/unity-catalog";

export class UcAdmin {
  constructor(
    private readonly emu: WorkspaceEmulator,
    private readonly token: string,
  ) {}

  async #call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`${this.emu.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  async #ensure(getPath: string, createPath: string, body: Record<string, unknown>): Promise<void> {
    if ((await this.#call("GET", getPath)).status === 200) return;
    const created = await this.#call("POST", createPath, body);
    if (created.status !== 200) throw new Error(`POST ${createPath} ${JSON.stringify(body)}: ${created.status} ${JSON.stringify(created.json)}`);
  }

  /** Creates the catalog unless it exists (a new catalog comes with a `default` schema). */
  ensureCatalog(name: string): Promise<void> {
    return this.#ensure(`${BASE}/catalogs/${name}`, `${BASE}/catalogs`, { name });
  }

  /** Creates "catalog.schema" (and its catalog) unless they exist. */
  async ensureSchema(fullName: string): Promise<void> {
    const [catalog = "", name = ""] = fullName.split(".");
    await this.ensureCatalog(catalog);
    await this.#ensure(`${BASE}/schemas/${fullName}`, `${BASE}/schemas`, { catalog_name: catalog, name });
  }

  /** Creates the managed volume "catalog.schema.volume" (and its parents) unless they exist. */
  async ensureVolume(fullName: string): Promise<void> {
    const [catalog = "", schema = "", name = ""] = fullName.split(".");
    await this.ensureSchema(`${catalog}.${schema}`);
    await this.#ensure(`${BASE}/volumes/${fullName}`, `${BASE}/volumes`, {
      catalog_name: catalog,
      schema_name: schema,
      name,
      volume_type: "MANAGED",
    });
  }

  /** PATCH permissions; securable type as the SDK spells it (registered models are FUNCTION). */
  async grant(securableType: string, fullName: string, principal: string, privileges: Privilege[], remove: Privilege[] = []): Promise<void> {
    const path = `${BASE}/permissions/${securableType}/${fullName}`;
    const res = await this.#call("PATCH", path, { changes: [{ principal, add: privileges, remove }] });
    if (res.status !== 200) throw new Error(`PATCH ${path}: ${res.status} ${JSON.stringify(res.json)}`);
  }

  /** The principal may create registered models in "catalog.schema" (and then owns them). */
  async allowModels(schemaFullName: string, principal: string): Promise<void> {
    const [catalog = ""] = schemaFullName.split(".");
    await this.ensureSchema(schemaFullName);
    await this.grant("CATALOG", catalog, principal, ["USE_CATALOG"]);
    await this.grant("SCHEMA", schemaFullName, principal, ["USE_SCHEMA", "CREATE_MODEL"]);
  }

  /** The principal may read (or read and write) files in the volume. */
  async allowVolume(volumeFullName: string, principal: string, access: "read" | "write"): Promise<void> {
    const [catalog = "", schema = ""] = volumeFullName.split(".");
    await this.ensureVolume(volumeFullName);
    await this.grant("CATALOG", catalog, principal, ["USE_CATALOG"]);
    await this.grant("SCHEMA", `${catalog}.${schema}`, principal, ["USE_SCHEMA"]);
    await this.grant("VOLUME", volumeFullName, principal, access === "write" ? ["READ_VOLUME", "WRITE_VOLUME"] : ["READ_VOLUME"]);
  }
}

/** A UcAdmin acting as `userName`, who must be in the emulator's "admins" group (the metastore admins). */
export async function ucAdmin(emu: WorkspaceEmulator, userName: string): Promise<UcAdmin> {
  const user = emu.users.find((u) => u.userName === userName);
  if (!user?.groups.includes("admins")) {
    throw new Error(`ucAdmin: ${userName} must be an emulator user in group "admins", e.g. users: [{ userName: "${userName}", groups: ["admins"] }]`);
  }
  return new UcAdmin(emu, await emu.mintUserToken({ userName }));
}
