// Node 24 and later emit a TimeoutNegativeWarning when setTimeout gets a negative delay. kafkajs
// 2.2.4 does that on every connection (RequestQueue.scheduleCheckPendingRequests subtracts
// Date.now() from `throttledUntil = -1`; kafkajs issue #1751, unfixed in a release). Node has always
// run such a timer after 1 ms, and still does: only the warning is new, so the behaviour is the same
// on every supported Node. The CLI filters exactly that warning (by its name and the kafkajs frame
// it comes from) and prints every other warning as Node does. Library users keep Node's default.

/** The warning kafkajs #1751 describes, and nothing else. */
export function isKafkajsNegativeTimeout(warning: Error): boolean {
  return (
    warning.name === 'TimeoutNegativeWarning' &&
    /kafkajs[\\/]src[\\/]network[\\/]requestQueue[\\/]index\.js/.test(warning.stack ?? '') &&
    /scheduleCheckPendingRequests/.test(warning.stack ?? '')
  );
}

/**
 * Replaces Node's default warning printer with one that drops isKafkajsNegativeTimeout warnings.
 * Does nothing under --no-warnings (then Node prints none) or when the printer was already replaced.
 */
export function filterKafkajsNegativeTimeoutWarnings(processLike: NodeJS.Process = process): void {
  // Node's own printer is the only listener unless warnings are off (none) or someone added theirs.
  if (processLike.listenerCount('warning') !== 1) return;
  const trace = processLike.execArgv.includes('--trace-warnings');
  processLike.removeAllListeners('warning');
  processLike.on('warning', (warning: Error) => {
    if (isKafkajsNegativeTimeout(warning)) return;
    const code = (warning as { code?: string }).code;
    const text = trace && warning.stack ? warning.stack : `${warning.name}: ${warning.message}`;
    processLike.stderr.write(`(node:${processLike.pid}) ${code ? `[${code}] ` : ''}${text}\n`);
  });
}
