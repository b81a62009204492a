// The workspace's identities: users, groups, one service principal and the
// personal access tokens mapped to them. Pure data; SCIM rendering lives in
// scim.ts and token checks in auth-middleware.ts.

import { randomBytes, randomInt, randomUUID } from "node:crypto";
import type { GroupSpec, PatSpec, PrincipalKind, ServicePrincipalSpec, UserSpec } from "./types.js";

export interface Principal {
  kind: PrincipalKind;
  /** SCIM id (numeric string, as Databricks uses). */
  id: string;
  /** userName for users, applicationId for service principals. */
  name: string;
  displayName: string;
  /** Group ids. */
  groupIds: string[];
  active: boolean;
  /** Only for service principals. */
  secret?: string;
}

export interface Group {
  id: string;
  displayName: string;
}

/** Databricks SCIM ids are 15-16 digit numbers. */
function numericId(): string {
  let id = String(randomInt(1, 10));
  for (let i = 0; i < 15; i += 1) id += String(randomInt(0, 10));
  return id;
}

export function randomPat(): string {
  return `dapi${randomBytes(16).toString("hex")}`;
}

export class Directory {
  readonly groups: Group[] = [];
  readonly users: Principal[] = [];
  readonly servicePrincipal: Principal;
  private readonly pats = new Map<string, Principal>();

  constructor(users: UserSpec[] | undefined, groups: GroupSpec[] | undefined, sp: ServicePrincipalSpec | undefined, pats: PatSpec[] | undefined) {
    for (const g of groups ?? []) this.groups.push({ id: g.id ?? numericId(), displayName: g.displayName });
    const userSpecs = users ?? [{ userName: "alice@example.com", displayName: "Alice Example", groups: ["users"] }];
    for (const u of userSpecs) {
      this.users.push({
        kind: "user",
        id: u.id ?? numericId(),
        name: u.userName,
        displayName: u.displayName ?? u.userName.split("@")[0] ?? u.userName,
        groupIds: (u.groups ?? []).map((name) => this.groupId(name)),
        active: u.active ?? true,
      });
    }
    this.servicePrincipal = {
      kind: "service_principal",
      id: sp?.id ?? numericId(),
      name: sp?.applicationId ?? randomUUID(),
      displayName: sp?.displayName ?? "mlflow-gateway",
      groupIds: (sp?.groups ?? []).map((name) => this.groupId(name)),
      active: true,
      // Databricks OAuth secrets start with "dose".
      secret: sp?.secret ?? `dose${randomBytes(16).toString("hex")}`,
    };
    for (const p of pats ?? []) this.addPat(p.principal, p.token);
  }

  /** Id of a group by display name, creating the group when it is new. */
  private groupId(displayName: string): string {
    const found = this.groups.find((g) => g.displayName === displayName);
    if (found) return found.id;
    const group = { id: numericId(), displayName };
    this.groups.push(group);
    return group.id;
  }

  all(): Principal[] {
    return [...this.users, this.servicePrincipal];
  }

  /** Looks a principal up by userName, applicationId or SCIM id. */
  find(nameOrId: string): Principal | undefined {
    return this.all().find((p) => p.name === nameOrId || p.id === nameOrId);
  }

  findGroup(id: string): Group | undefined {
    return this.groups.find((g) => g.id === id);
  }

  membersOf(groupId: string): Principal[] {
    return this.all().filter((p) => p.groupIds.includes(groupId));
  }

  addPat(principal: string, token?: string): string {
    const who = this.find(principal);
    if (!who) throw new Error(`No principal ${principal} to own a personal access token`);
    const value = token ?? randomPat();
    this.pats.set(value, who);
    return value;
  }

  principalForPat(token: string): Principal | undefined {
    return this.pats.get(token);
  }

  /** Client-credentials check for the token endpoint. */
  authenticateClient(clientId: string, secret: string): Principal | undefined {
    const sp = this.servicePrincipal;
    return sp.name === clientId && sp.secret === secret ? sp : undefined;
  }
}
