import { mkdirSync } from "node:fs";
import path from "node:path";
import { type Browser, chromium } from "playwright-core";
import { REPO_ROOT } from "./gateway-process.js";

/** Debian's chromium package; the setup script installs it. */
export const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";
/** Screenshots land here; CI keeps the folder out of git (.gitignore). */
export const TEST_OUTPUT = path.join(REPO_ROOT, "test-output");

/**
 * Headless Chromium with a fresh profile (Playwright makes one per launch). The
 * background-networking flags matter on a machine without internet: without them
 * Chromium keeps trying to reach Google's services.
 */
export async function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  return await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      ...extraArgs,
    ],
  });
}

export function screenshotPath(name: string): string {
  mkdirSync(TEST_OUTPUT, { recursive: true });
  return path.join(TEST_OUTPUT, `${name}.png`);
}
