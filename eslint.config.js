// Type-aware linting: floating promises and misused promises are bugs in a proxy.
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "**/node_modules/", ".venv/", ".data/", "test-output/", "bench-output/", "eslint.config.js"] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's describe/it return promises the runner itself tracks.
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            { from: "package", package: "node:test", name: ["describe", "it", "test", "before", "after", "beforeEach", "afterEach"] },
          ],
        },
      ],
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
  { files: ["**/*.mjs"], ...tseslint.configs.disableTypeChecked },
  {
    // Express 5 stays at the edge: it serves the gateway's own pages (gateway-pages.ts) and
    // nothing else; MLflow traffic runs on node:http, and the core is plain TypeScript a unit
    // test calls without HTTP.
    files: ["src/**/*.ts"],
    ignores: ["src/http/gateway-pages.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { paths: [{ name: "express", message: "Express serves only the gateway's own pages (src/http/gateway-pages.ts)." }] },
      ],
    },
  },
  {
    // The request layer (context, error answers, body observation, API paths) sits below both
    // the pipeline (src/http) and the proxy (src/proxy); neither of those lower layers reaches up.
    files: ["src/request/**/*.ts", "src/proxy/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [{ name: "express", message: "Express serves only the gateway's own pages (src/http/gateway-pages.ts)." }],
          patterns: [{ group: ["**/http/*"], message: "src/request and src/proxy sit below src/http: move what both need into src/request." }],
        },
      ],
    },
  },
);
