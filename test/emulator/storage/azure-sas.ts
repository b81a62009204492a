// User delegation SAS, as Unity Catalog vends them for ADLS: a user
// delegation key fetched with an Entra ID (OAuth) token (Get User Delegation
// Key, POST /?restype=service&comp=userdelegationkey), then a SAS signed with
// that key. https://learn.microsoft.com/rest/api/storageservices/create-user-delegation-sas
// Azurite implements both halves (blob/handlers/ServiceHandler.js
// getUserDelegationKey; authentication/BlobSASAuthenticator.js validates the
// signature, key and SAS lifetimes and permissions).

import { createHmac } from "node:crypto";
import { httpsCall } from "./https-call.js";
import { xmlText } from "./xml.js";

/** SAS format version; its string-to-sign is the 2020-12-06 one (Azurite IBlobSASSignatureValues.js). */
export const SAS_VERSION = "2020-12-06";

/** The Entra ID identity that asks for delegation keys (Unity Catalog's access connector). */
export interface EntraPrincipal {
  objectId: string;
  tenantId: string;
}

export interface UserDelegationKey {
  signedOid: string;
  signedTid: string;
  signedStart: string;
  signedExpiry: string;
  signedService: string;
  signedVersion: string;
  /** Base64 HMAC key. */
  value: string;
}

/** Azure's SAS time format: ISO 8601 UTC without fractions. */
export const sasTime = (at: Date): string => at.toISOString().replace(/\.\d{3}Z$/, "Z");

const base64url = (value: object): string => Buffer.from(JSON.stringify(value)).toString("base64url");

/**
 * An Entra ID access token for storage. Azurite's "basic" OAuth level checks
 * issuer, audience and lifetime but not the signature
 * (BlobTokenAuthenticator.authenticateBasic), so an unsigned JWT is enough.
 */
export function entraAccessToken(principal: EntraPrincipal, lifetimeSeconds = 3600): string {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    aud: "https://storage.azure.com",
    iss: `https://sts.windows.net/${principal.tenantId}/`,
    iat: now,
    nbf: now - 60,
    exp: now + lifetimeSeconds,
    oid: principal.objectId,
    tid: principal.tenantId,
  };
  return `${base64url({ alg: "none", typ: "JWT" })}.${base64url(claims)}.`;
}

/** Get User Delegation Key from the blob service at `serviceUrl` (https://host:port/<account>). */
export async function getUserDelegationKey(
  serviceUrl: string,
  ca: string,
  principal: EntraPrincipal,
  start: Date,
  expiry: Date,
): Promise<UserDelegationKey> {
  const answer = await httpsCall({
    url: `${serviceUrl}/?restype=service&comp=userdelegationkey`,
    method: "POST",
    ca,
    headers: {
      authorization: `Bearer ${entraAccessToken(principal)}`,
      "x-ms-version": SAS_VERSION,
      "content-type": "application/xml",
    },
    body: `<?xml version="1.0" encoding="utf-8"?><KeyInfo><Start>${sasTime(start)}</Start><Expiry>${sasTime(expiry)}</Expiry></KeyInfo>`,
  });
  const xml = answer.body.toString("utf8");
  if (answer.status !== 200) throw new Error(`Get User Delegation Key failed: ${answer.status} ${xmlText(xml, "Code") ?? xml.slice(0, 200)}`);
  const field = (tag: string): string => {
    const value = xmlText(xml, tag);
    if (!value) throw new Error(`Get User Delegation Key answered without <${tag}>`);
    return value;
  };
  return {
    signedOid: field("SignedOid"),
    signedTid: field("SignedTid"),
    signedStart: field("SignedStart"),
    signedExpiry: field("SignedExpiry"),
    signedService: field("SignedService"),
    signedVersion: field("SignedVersion"),
    value: field("Value"),
  };
}

export interface ContainerSas {
  account: string;
  container: string;
  /** In Azure's canonical order, e.g. "rl" or "racwl". */
  permissions: string;
  start: Date;
  expiry: Date;
}

/** A container-scoped (sr=c) user delegation SAS query string, https only. */
export function signUserDelegationSas(key: UserDelegationKey, sas: ContainerSas): string {
  const fields = {
    sv: SAS_VERSION,
    st: sasTime(sas.start),
    se: sasTime(sas.expiry),
    sr: "c",
    sp: sas.permissions,
    skoid: key.signedOid,
    sktid: key.signedTid,
    skt: key.signedStart,
    ske: key.signedExpiry,
    sks: key.signedService,
    skv: key.signedVersion,
    spr: "https",
  };
  const stringToSign = [
    fields.sp,
    fields.st,
    fields.se,
    `/blob/${sas.account}/${sas.container}`,
    fields.skoid,
    fields.sktid,
    fields.skt,
    fields.ske,
    fields.sks,
    fields.skv,
    "", // signedAuthorizedUserObjectId
    "", // signedUnauthorizedUserObjectId
    "", // signedCorrelationId
    "", // signedIP
    fields.spr,
    fields.sv,
    fields.sr,
    "", // signedSnapshotTime
    "", // signedEncryptionScope
    "", // rscc
    "", // rscd
    "", // rsce
    "", // rscl
    "", // rsct
  ].join("\n");
  const sig = createSignature(key.value, stringToSign);
  return Object.entries({ ...fields, sig })
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join("&");
}

function createSignature(base64Key: string, stringToSign: string): string {
  return createHmac("sha256", Buffer.from(base64Key, "base64")).update(stringToSign, "utf8").digest("base64");
}
