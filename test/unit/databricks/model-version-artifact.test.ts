import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { attachmentDisposition, contentTypeFor, modelVersionFile } from "../../../src/databricks/model-version-artifact.js";

function query(params: Record<string, string>): URLSearchParams {
  return new URLSearchParams(params);
}

describe("modelVersionFile", () => {
  it("maps a Unity Catalog model version file to its Files API path, each segment encoded", () => {
    const file = modelVersionFile(query({ name: "main.team_a.churn", version: "3", path: "model/MLmodel" }));
    assert.equal(file.filesApiPath, "/api/2.0/fs/files/Models/main/team_a/churn/3/model/MLmodel");
    assert.equal(file.fileName, "MLmodel");
    assert.equal(
      modelVersionFile(query({ name: "main.s.m", version: "1", path: "a b/c#d.txt" })).filesApiPath,
      "/api/2.0/fs/files/Models/main/s/m/1/a%20b/c%23d.txt",
    );
  });

  for (const [what, params] of [
    ["a two-level name", { name: "s.m", version: "1", path: "MLmodel" }],
    ["a non-numeric version", { name: "a.b.c", version: "latest", path: "MLmodel" }],
    ["a path escaping the version", { name: "a.b.c", version: "1", path: "../2/MLmodel" }],
    ["an absolute path", { name: "a.b.c", version: "1", path: "/etc/passwd" }],
    ["an empty path", { name: "a.b.c", version: "1", path: "" }],
  ] as const) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => modelVersionFile(query(params)),
        (e: { code?: string; status?: number }) => e.code === "PARAMETER_REJECTED" && e.status === 400,
      );
    });
  }
});

describe("content type and disposition", () => {
  it("follows MLflow: text files as text/plain, others as downloads, always attachments", () => {
    assert.equal(contentTypeFor("MLmodel"), "text/plain");
    assert.equal(contentTypeFor("conda.yaml"), "text/plain");
    assert.equal(contentTypeFor("model.pkl"), "application/octet-stream");
    assert.equal(contentTypeFor("plot.png"), "image/png");
    assert.equal(contentTypeFor("page.html"), "application/octet-stream");
    assert.equal(attachmentDisposition('ré"sumé.txt'), `attachment; filename="r__sum_.txt"; filename*=UTF-8''r%C3%A9%22sum%C3%A9.txt`);
  });
});
