/** One input to the gateway's readiness (/-/ready): the child, the Databricks backend, ... */
export interface ReadinessCheck {
  name: string;
  check(): { ok: boolean; detail: string };
}
