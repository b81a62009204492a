// The workspace's folder tree and its access control lists. MLflow experiments
// are workspace objects too (their names are workspace paths, their ids are
// node ids), so one tree decides both "may this principal create a folder
// here" and "may it read this experiment". Folders live here; experiments
// live in the backing MLflow server and only their ACLs are kept here.
//
// Sources (see test/emulator/README.md for the full list):
// - folder levels and abilities: docs.databricks.com/security/access-control/workspace-acl.html
//   (create, delete, move, change permissions: CAN_MANAGE; list: anyone),
//   experiment abilities: docs.databricks.com/en/mlflow/experiments-acl.html;
// - defaults: only admins create at the root, all users CAN_MANAGE in /Shared,
//   each user CAN_MANAGE on /Users/<userName> (same pages); a service
//   principal's home is /Users/<applicationId> (terraform-provider-databricks,
//   docs/resources/service_principal.md);
// - mkdirs creates parents and refuses a child of /Users (DIRECTORY_PROTECTED
//   "Folder Users is protected", mlflow-export-import#24);
// - messages: databricks/cli acceptance recordings (Cloud = true) for
//   "Path (...) doesn't exist.".
// Where the sources disagree (creating an experiment needs Edit or Manage on
// the folder) the emulator takes the stricter reading: CAN_MANAGE.

import { randomInt } from "node:crypto";
import { Refusal } from "./errors.js";
import type { Directory, Principal } from "./principals.js";

export type PermissionLevel = "CAN_READ" | "CAN_RUN" | "CAN_EDIT" | "CAN_MANAGE";
export const PERMISSION_LEVELS: readonly PermissionLevel[] = ["CAN_READ", "CAN_RUN", "CAN_EDIT", "CAN_MANAGE"];
const RANK: Record<PermissionLevel | "NONE", number> = { NONE: 0, CAN_READ: 1, CAN_RUN: 2, CAN_EDIT: 3, CAN_MANAGE: 4 };

/** The group every workspace principal belongs to, and the one whose members are admins. */
export const ALL_USERS_GROUP = "users";
export const ADMINS_GROUP = "admins";

export interface AccessControlEntry {
  kind: "user" | "group" | "service_principal";
  /** userName, group display name, or a service principal's application id. */
  name: string;
  level: PermissionLevel;
}

export interface Folder {
  objectId: string;
  path: string;
  createdAt: number;
  acl: AccessControlEntry[];
}

/** A refusal of the workspace tree (folders, experiments, ACLs). */
export class WorkspaceRefusal extends Refusal {}

export function atLeast(level: PermissionLevel | undefined, wanted: PermissionLevel): boolean {
  return RANK[level ?? "NONE"] >= RANK[wanted];
}

/** Parent folder of a normalised workspace path ("/" for a top-level object). */
export function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/** Collapses repeated slashes and a trailing slash; undefined for a relative path. */
export function normalizePath(raw: string): string | undefined {
  if (!raw.startsWith("/")) return undefined;
  const collapsed = `/${raw.split("/").filter(Boolean).join("/")}`;
  return collapsed;
}

/**
 * Node ids of folders: 16 digit numbers, as Databricks' are; experiments get theirs
 * from the backing store. The Workspace API writes object_id as a JSON number, and
 * this emulator writes JSON with JavaScript numbers, so ids stay below 2^53
 * (9.007e15) to be written exactly: a larger one came back rounded and the SDK then
 * asked for a folder that does not exist (a CI failure, 1 run in ~10).
 */
function folderId(): string {
  return String(randomInt(100_000, 900_000)) + String(randomInt(1_000_000_000, 9_999_999_999));
}

export class WorkspaceTree {
  readonly #folders = new Map<string, Folder>();
  /** Direct grants on experiments, by experiment id (they also inherit from their folder). */
  readonly #experimentAcls = new Map<string, AccessControlEntry[]>();

  constructor(private readonly directory: Directory) {
    // The root's id is 0 (terraform-provider-databricks permission_definitions.go: "/directories/0").
    this.#add("/", "0", []);
    this.#add("/Users", folderId(), []);
    this.#add("/Shared", folderId(), [{ kind: "group", name: ALL_USERS_GROUP, level: "CAN_MANAGE" }]);
    for (const user of directory.users) this.#addHome(user);
    this.#addHome(directory.servicePrincipal);
  }

  #add(path: string, objectId: string, acl: AccessControlEntry[]): Folder {
    const folder = { objectId, path, createdAt: Date.now(), acl };
    this.#folders.set(path, folder);
    return folder;
  }

  #addHome(p: Principal): void {
    const kind = p.kind === "user" ? "user" : "service_principal";
    this.#add(`/Users/${p.name}`, folderId(), [{ kind, name: p.name, level: "CAN_MANAGE" }]);
  }

  folder(path: string): Folder | undefined {
    return this.#folders.get(path);
  }

  folderById(objectId: string): Folder | undefined {
    for (const folder of this.#folders.values()) if (folder.objectId === objectId) return folder;
    return undefined;
  }

  /** Direct sub-folders of a folder, sorted by path. */
  subfolders(path: string): Folder[] {
    return [...this.#folders.values()].filter((f) => f.path !== "/" && parentOf(f.path) === path).sort((a, b) => a.path.localeCompare(b.path));
  }

  isAdmin(p: Principal): boolean {
    return p.groupIds.some((id) => this.directory.findGroup(id)?.displayName === ADMINS_GROUP);
  }

  #matches(p: Principal, ace: AccessControlEntry): boolean {
    if (ace.kind === "group") {
      return ace.name === ALL_USERS_GROUP || p.groupIds.some((id) => this.directory.findGroup(id)?.displayName === ace.name);
    }
    return ace.name === p.name && (ace.kind === "user") === (p.kind === "user");
  }

  #best(p: Principal, acl: readonly AccessControlEntry[], current: PermissionLevel | undefined): PermissionLevel | undefined {
    let best = current;
    for (const ace of acl) if (this.#matches(p, ace) && !atLeast(best, ace.level)) best = ace.level;
    return best;
  }

  /** The principal's level on a folder, or on an experiment at `path` with id `experimentId`: direct grants plus inherited ones. */
  levelOn(p: Principal, path: string, experimentId?: string): PermissionLevel | undefined {
    if (this.isAdmin(p)) return "CAN_MANAGE";
    let level = experimentId === undefined ? undefined : this.#best(p, this.#experimentAcls.get(experimentId) ?? [], undefined);
    for (let folderPath = experimentId === undefined ? path : parentOf(path); ; folderPath = parentOf(folderPath)) {
      level = this.#best(p, this.#folders.get(folderPath)?.acl ?? [], level);
      if (folderPath === "/") return level;
    }
  }

  /**
   * Checks that `p` may create an object (folder or experiment) directly in `parent`:
   * the folder exists, is not /Users itself, and the principal manages it (only admins
   * create at the root).
   */
  checkCreateIn(p: Principal, parent: string): void {
    const folder = this.#folders.get(parent);
    if (!folder) throw new WorkspaceRefusal(404, "RESOURCE_DOES_NOT_EXIST", `Parent directory ${parent} does not exist.`);
    if (parent === "/Users") throw new WorkspaceRefusal(400, "DIRECTORY_PROTECTED", "Folder Users is protected");
    if (!atLeast(this.levelOn(p, parent), "CAN_MANAGE")) {
      throw new WorkspaceRefusal(
        403,
        "PERMISSION_DENIED",
        `${principalLabel(p)} does not have Manage permissions on ${parent}. Please contact the owner or an administrator for access.`,
      );
    }
  }

  /**
   * mkdirs: creates the folder and any missing parents (docs: "and necessary parent
   * directories"); an existing folder is a no-op. `occupied` says whether a
   * non-folder object (an experiment) sits at a path.
   */
  mkdirs(p: Principal, path: string, occupied: (path: string) => boolean): void {
    const segments = path.split("/").filter(Boolean);
    let current = "";
    for (const segment of segments) {
      const parent = current === "" ? "/" : current;
      current = `${current}/${segment}`;
      if (this.#folders.has(current)) continue;
      if (occupied(current)) throw new WorkspaceRefusal(400, "RESOURCE_ALREADY_EXISTS", `${current} already exists and it is not a folder`);
      this.checkCreateIn(p, parent);
      // The creator manages what it creates (docs: access-control.html).
      const kind = p.kind === "user" ? "user" : "service_principal";
      this.#add(current, folderId(), [{ kind, name: p.name, level: "CAN_MANAGE" }]);
    }
  }

  /** Removes a folder (and, when recursive, its sub-folders); the caller removes experiments. */
  deleteFolder(p: Principal, path: string): void {
    const protectedPaths = new Set(["/", "/Users", "/Shared", ...this.directory.all().map((x) => `/Users/${x.name}`)]);
    if (protectedPaths.has(path)) throw new WorkspaceRefusal(400, "DIRECTORY_PROTECTED", `Folder ${path.split("/").pop() ?? path} is protected`);
    if (!atLeast(this.levelOn(p, path), "CAN_MANAGE")) {
      throw new WorkspaceRefusal(
        403,
        "PERMISSION_DENIED",
        `${principalLabel(p)} does not have Manage permissions on ${path}. Please contact the owner or an administrator for access.`,
      );
    }
    for (const key of [...this.#folders.keys()]) if (key === path || key.startsWith(`${path}/`)) this.#folders.delete(key);
  }

  /** The direct grants of a folder or an experiment (Permissions API). */
  directAcl(target: { folder: Folder } | { experimentId: string }): AccessControlEntry[] {
    return "folder" in target ? target.folder.acl : (this.#experimentAcls.get(target.experimentId) ?? []);
  }

  /** Replaces (PUT) or merges (PATCH) the direct grants of a folder or an experiment. */
  setAcl(target: { folder: Folder } | { experimentId: string }, entries: AccessControlEntry[], mode: "replace" | "merge"): void {
    const current = this.directAcl(target);
    let next = mode === "replace" ? [] : [...current];
    for (const entry of entries) {
      next = next.filter((e) => !(e.kind === entry.kind && e.name === entry.name));
      next.push(entry);
    }
    if ("folder" in target) target.folder.acl = next;
    else this.#experimentAcls.set(target.experimentId, next);
  }

  /** Ancestor folders of a path, nearest first (for inherited grants). */
  ancestors(path: string): Folder[] {
    const out: Folder[] = [];
    for (let p = parentOf(path); ; p = parentOf(p)) {
      const folder = this.#folders.get(p);
      if (folder) out.push(folder);
      if (p === "/") return out;
    }
  }
}

/** "User alice@example.com" / "Service principal <application id>", as Databricks' messages name callers. */
export function principalLabel(p: Principal): string {
  return p.kind === "user" ? `User ${p.name}` : `Service principal ${p.name}`;
}
