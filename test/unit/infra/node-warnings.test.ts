import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { filterKafkajsNegativeTimeoutWarnings, isKafkajsNegativeTimeout } from '../../../infra/node-warnings.ts';

// The stack Node 24+ gives the warning kafkajs #1751 reports (trimmed to its frames).
const KAFKAJS_STACK = `TimeoutNegativeWarning: -1795970000000 is a negative number.
Timeout duration was set to 1.
    at new Timeout (node:internal/timers:195:17)
    at setTimeout (node:timers:120:19)
    at RequestQueue.scheduleCheckPendingRequests (/app/node_modules/kafkajs/src/network/requestQueue/index.js:317:37)
    at RequestQueue.checkPendingRequests (/app/node_modules/kafkajs/src/network/requestQueue/index.js:297:10)`;

function warning(name: string, message: string, stack: string): Error {
  const error = new Error(message);
  error.name = name;
  error.stack = stack;
  return error;
}

/** A process with Node's default printer as its one 'warning' listener, writing to `written`. */
function fakeProcess(execArgv: string[] = []): { proc: NodeJS.Process; written: string[]; defaultPrinted: Error[] } {
  const emitter = new EventEmitter();
  const written: string[] = [];
  const defaultPrinted: Error[] = [];
  emitter.on('warning', (w: Error) => defaultPrinted.push(w));
  const proc = Object.assign(emitter, { pid: 42, execArgv, stderr: { write: (text: string) => written.push(text) } });
  return { proc: proc as unknown as NodeJS.Process, written, defaultPrinted };
}

describe('the kafkajs negative timeout warning', () => {
  it('recognises the warning kafkajs #1751 reports', () => {
    assert.equal(isKafkajsNegativeTimeout(warning('TimeoutNegativeWarning', '-1795970000000 is a negative number.', KAFKAJS_STACK)), true);
  });

  it('does not recognise the same warning from anywhere else, nor another warning from kafkajs', () => {
    const ours = KAFKAJS_STACK.replace(
      /\/app\/node_modules\/kafkajs\/src\/network\/requestQueue\/index\.js/g,
      '/app/dist/consumers/runtime/retry.js',
    );
    assert.equal(isKafkajsNegativeTimeout(warning('TimeoutNegativeWarning', '-5 is a negative number.', ours)), false);
    assert.equal(isKafkajsNegativeTimeout(warning('DeprecationWarning', 'old API', KAFKAJS_STACK)), false);
  });

  it('drops only that warning and prints every other one', () => {
    const { proc, written, defaultPrinted } = fakeProcess();
    filterKafkajsNegativeTimeoutWarnings(proc);
    proc.emit('warning', warning('TimeoutNegativeWarning', '-1795970000000 is a negative number.', KAFKAJS_STACK));
    proc.emit(
      'warning',
      warning('TimeoutNegativeWarning', '-5 is a negative number.', 'TimeoutNegativeWarning: -5\n    at elsewhere (/app/x.js:1:1)'),
    );
    assert.deepEqual(defaultPrinted, []);
    assert.deepEqual(written, ['(node:42) TimeoutNegativeWarning: -5 is a negative number.\n']);
  });

  it('leaves the process alone when warnings are off or someone else listens', () => {
    const off = fakeProcess();
    off.proc.removeAllListeners('warning');
    filterKafkajsNegativeTimeoutWarnings(off.proc);
    assert.equal(off.proc.listenerCount('warning'), 0);

    const other = fakeProcess();
    const theirs = (): void => undefined;
    other.proc.on('warning', theirs);
    filterKafkajsNegativeTimeoutWarnings(other.proc);
    assert.equal(other.proc.listenerCount('warning'), 2);
  });
});
