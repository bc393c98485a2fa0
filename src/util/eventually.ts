/**
 * Waits until `check` holds, asking again every `everyMs`; fails with a message naming `what`
 * after `timeoutMs`. A check that throws (a member still starting, say) counts as not yet, and
 * its last error is reported if time runs out. For tests and tools that wait for a condition
 * rather than for a time.
 */
export async function eventually(
  what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000, everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const cause = lastError === undefined ? '' : ` (last error: ${(lastError as Error).message})`;
      throw new Error(`${what} did not happen within ${timeoutMs} ms${cause}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
