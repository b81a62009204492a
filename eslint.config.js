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
    // Express 5 must stay at the edge: the core is plain TypeScript a unit test calls without HTTP.
    files: ["src/config/**", "src/guards/**", "src/routes/**", "src/supervisor/**", "src/log/**", "src/metrics/**", "src/errors.ts"],
    rules: { "no-restricted-imports": ["error", { paths: [{ name: "express", message: "Express belongs in src/http only." }] }] },
  },
);
