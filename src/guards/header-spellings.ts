import { GatewayError } from "../errors.js";

/**
 * Headers that carry identity or credentials, or that MLflow reads for routing. WSGI
 * (Flask behind MLflow's FastAPI app) folds `X_Forwarded_Email` and `X-Forwarded-Email`
 * into the same HTTP_X_FORWARDED_EMAIL variable, so an underscore spelling of one of
 * these could smuggle a value past a proxy that only strips the dash spelling.
 */
const PROTECTED_HEADER =
  /^(x-forwarded-[a-z0-9-]+|forwarded|x-real-ip|x-request-id|authorization|proxy-authorization|cookie|host|origin|referer|x-databricks-[a-z0-9-]+|x-mlflow-[a-z0-9-]+)$/;

export interface HeaderSpellingVerdict {
  /** Lower-case names of harmless underscore headers to drop before proxying (nginx does the same). */
  drop: string[];
}

/**
 * Refuses a request that spells a protected header with underscores; other underscore
 * headers are dropped so they cannot collide with anything the child reads.
 * `rawHeaders` is Node's flat [name, value, name, value, ...] list.
 */
export function checkHeaderSpellings(rawHeaders: readonly string[]): HeaderSpellingVerdict {
  const drop: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? "";
    if (!name.includes("_")) continue;
    const folded = name.toLowerCase().replace(/_/g, "-");
    if (PROTECTED_HEADER.test(folded)) {
      throw new GatewayError(
        "HEADER_REJECTED",
        `Header "${name.slice(0, 64)}" is refused: underscores in the name of ${folded.slice(0, 64)} would be read as that header by MLflow. Send it with dashes, or not at all.`,
      );
    }
    drop.push(name.toLowerCase());
  }
  return { drop };
}
