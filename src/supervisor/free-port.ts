import { createServer } from "node:net";
import { CHILD_HOST } from "./child-command.js";

/** Asks the kernel for a free loopback port (the child binds it a moment later). */
export async function findFreePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once("error", reject);
    probe.listen(0, CHILD_HOST, () => {
      const address = probe.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
