// A throwaway certificate authority and a server certificate for 127.0.0.1,
// made with the openssl CLI at start-up. MLflow's Azure repository always
// speaks https (mlflow/store/artifact/azure_data_lake_artifact_repo.py builds
// https://<account>.<suffix>), and Azurite only accepts OAuth over https, so
// the loopback servers need a certificate the clients trust. A CA plus a leaf
// (rather than one self-signed certificate) passes strict X.509 checks
// (Python 3.13's VERIFY_X509_STRICT, Node) as a real chain does.

import { randomBytes } from "node:crypto";
import { access, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";

/** Certificates only live as long as one test run. */
const VALIDITY_DAYS = "2";
/** System trust stores appended to the bundle, so other https calls of the MLflow process keep working. */
const SYSTEM_CA_FILES = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"];

export interface LoopbackTls {
  /** PEM of the CA, for Node clients (`ca` option). */
  readonly caPem: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** The CA plus the system roots: what REQUESTS_CA_BUNDLE / SSL_CERT_FILE point at. */
  readonly bundleFile: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await execa("openssl", args, { cwd, stdin: "ignore" });
  } catch (err) {
    const missing = (err as { code?: string }).code === "ENOENT";
    throw new Error(
      missing
        ? "openssl is not on PATH; the Azure model storage needs it to make a loopback TLS certificate (install the openssl package)"
        : `openssl ${args[0] ?? ""} failed: ${String((err as { stderr?: unknown }).stderr ?? err)}`,
      { cause: err },
    );
  }
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** Writes ca.pem, server.pem, server.key and ca-bundle.pem into `dir`. */
export async function createLoopbackTls(dir: string): Promise<LoopbackTls> {
  const file = (name: string): string => path.join(dir, name);
  await openssl(
    ["req", "-x509", ...EC_KEY, "-keyout", "ca.key", "-out", "ca.pem", "-days", VALIDITY_DAYS, "-subj", "/CN=Workspace emulator loopback CA"].concat([
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]),
    dir,
  );
  await openssl(["req", "-new", ...EC_KEY, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"], dir);
  await writeFile(
    file("server.ext"),
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "authorityKeyIdentifier=keyid",
      "subjectKeyIdentifier=hash",
    ].join("\n"),
  );
  const serial = `0x${randomBytes(8).toString("hex")}`;
  await openssl(
    [
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-set_serial",
      serial,
      "-days",
      VALIDITY_DAYS,
      "-extfile",
      "server.ext",
      "-out",
      "server.pem",
    ],
    dir,
  );
  const caPem = await readFile(file("ca.pem"), "utf8");
  const roots: string[] = [];
  for (const candidate of SYSTEM_CA_FILES) {
    if (
      await access(candidate).then(
        () => true,
        () => false,
      )
    ) {
      roots.push(await readFile(candidate, "utf8"));
      break;
    }
  }
  await writeFile(file("ca-bundle.pem"), [caPem, ...roots].join("\n"));
  return { caPem, certFile: file("server.pem"), keyFile: file("server.key"), bundleFile: file("ca-bundle.pem") };
}
