/** How the gateway established who is calling. */
export type VerifiedBy = "token" | "headers" | "local";

/**
 * The caller, as the gateway proved it. `subject` is the stable key (a token's `sub`,
 * or the front door's X-Forwarded-User); the other fields are for people and audit.
 */
export interface Identity {
  subject: string;
  email: string | undefined;
  userName: string | undefined;
  /** Front door's X-Forwarded-User: "<numeric id>@<workspace id>". */
  forwardedUser: string | undefined;
  verifiedBy: VerifiedBy;
  /** Scopes granted to a verified token. */
  scopes: readonly string[];
}

/** The name MLflow should show as the owner of what this caller creates. */
export function displayName(identity: Identity): string {
  return identity.email ?? identity.userName ?? identity.subject;
}
