/**
 * The one wait-for helper of the tests: polls `probe` until it returns a value (anything
 * but undefined), and fails naming `what` it waited for when `timeoutMs` passes. Tests wait
 * for the event they need this way instead of sleeping a guessed time.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
  }
}

/** waitFor for a yes/no condition. */
export async function waitUntil(
  what: string,
  condition: () => Promise<boolean> | boolean,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  await waitFor(what, async () => ((await condition()) ? true : undefined), options);
}
