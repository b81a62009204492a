// Runs the workspace emulator by hand:
//   node --import tsx test/emulator/cli.ts [--port N] [--user a@b.com ...] [--workspace-id N]
// Prints what a client needs (host, service principal, a user token, a PAT)
// and the shell exports for MLflow, then runs until Ctrl-C. The first user is
// in the group "admins" (a workspace and metastore admin), so that user's
// token can create catalogs, schemas and volumes and grant privileges in the
// otherwise empty metastore; the others are in "users".

import { parseArgs } from "node:util";
import { startWorkspaceEmulator } from "./index.js";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: "string" },
      user: { type: "string", multiple: true },
      "workspace-id": { type: "string" },
      "uc-artifacts": { type: "string" },
      "verbose-mlflow": { type: "boolean" },
    },
  });
  const userNames = values.user ?? ["alice@example.com"];
  const emulator = await startWorkspaceEmulator({
    users: userNames.map((userName, i) => ({ userName, groups: i === 0 ? ["admins"] : ["users"] })),
    ...(values.port ? { port: Number(values.port) } : {}),
    ...(values["workspace-id"] ? { workspaceId: values["workspace-id"] } : {}),
    ...(values["uc-artifacts"] === "sdk" ? { ucModelArtifacts: "sdk" as const } : {}),
    ...(values["verbose-mlflow"] ? { onMlflowLog: (line: string) => console.error(`[mlflow] ${line}`) } : {}),
  });
  const firstUser = userNames[0] ?? "alice@example.com";
  const userToken = await emulator.mintUserToken({ userName: firstUser });
  const pat = emulator.addPersonalAccessToken(firstUser);
  const sp = emulator.servicePrincipal;

  console.log(`Databricks workspace emulator listening on ${emulator.url}`);
  console.log(`workspace id:            ${emulator.workspaceId}`);
  console.log(`service principal:       ${sp.displayName} (id ${sp.id})`);
  console.log(`  client id:             ${sp.applicationId}`);
  console.log(`  client secret:         ${sp.secret}`);
  console.log(`user ${firstUser} (group admins: workspace and metastore admin):`);
  console.log(`  OAuth token (1 h):     ${userToken}`);
  console.log(`  personal access token: ${pat}`);
  console.log(`backing mlflow server:   ${emulator.backingMlflowUrl}`);
  console.log("");
  console.log("# for the MLflow client as the service principal:");
  console.log(`export DATABRICKS_HOST=${emulator.url}`);
  console.log(`export DATABRICKS_CLIENT_ID=${sp.applicationId}`);
  console.log(`export DATABRICKS_CLIENT_SECRET=${sp.secret}`);
  console.log("export MLFLOW_TRACKING_URI=databricks MLFLOW_REGISTRY_URI=databricks-uc");
  console.log("");
  console.log("Press Ctrl-C to stop.");

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    emulator.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
