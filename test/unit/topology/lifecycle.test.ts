import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import {
  CancelledError,
  CleanupError,
  closeAll,
  closeOnce,
  ConnectionScope,
  quitGracefully,
  StartDeadline,
  TimeoutError,
  trackSocket,
} from '../../../topology/index.ts';

describe('closeAll', () => {
  it('runs every step, in order, when none throws', async () => {
    const ran: string[] = [];
    await closeAll('x', [
      { name: 'a', run: () => void ran.push('a') },
      { name: 'b', run: () => Promise.resolve().then(() => void ran.push('b')) },
    ]);
    assert.deepEqual(ran, ['a', 'b']);
  });

  it('runs the remaining steps after one throws and reports every failure', async () => {
    const ran: string[] = [];
    const first = new Error('producer disconnect failed');
    const second = new Error('redis quit failed');
    const error = await closeAll('the query role', [
      { name: 'close the consumer', run: () => void ran.push('consumer') },
      {
        name: 'disconnect the producer',
        run: () => {
          ran.push('producer');
          throw first;
        },
      },
      { name: 'quit Redis', run: () => Promise.reject(second).finally(() => ran.push('redis')) },
      { name: 'close the model', run: () => void ran.push('model') },
    ]).then(
      () => assert.fail('closeAll should throw'),
      (e: unknown) => e,
    );
    assert.deepEqual(ran, ['consumer', 'producer', 'redis', 'model']);
    assert.ok(error instanceof CleanupError);
    assert.deepEqual(error.errors, [first, second]);
    assert.deepEqual(
      error.failures.map((f) => f.step),
      ['disconnect the producer', 'quit Redis'],
    );
    assert.match(
      error.message,
      /^2 of 4 cleanup steps failed while closing the query role: disconnect the producer: producer disconnect failed; quit Redis: redis quit failed$/,
    );
  });

  it('skips steps for things never opened', async () => {
    const ran: string[] = [];
    await closeAll('x', [false, undefined, null, { name: 'a', run: () => void ran.push('a') }]);
    assert.deepEqual(ran, ['a']);
  });
});

describe('closeOnce', () => {
  it('runs the teardown once; every later call, concurrent or not, gets the same promise', async () => {
    let runs = 0;
    let finish: () => void = () => undefined;
    const close = closeOnce(() => {
      runs += 1;
      return new Promise<void>((resolve) => (finish = resolve));
    });
    const first = close();
    const second = close();
    assert.equal(first, second);
    assert.equal(runs, 1);
    let settled = false;
    void second.then(() => (settled = true));
    await Promise.resolve();
    assert.equal(settled, false, 'a second close() waits for the first one to finish');
    finish();
    await first;
    assert.equal(close(), first);
    assert.equal(runs, 1);
  });

  it('gives every caller the same failure, even when the teardown throws at once', async () => {
    const failure = new Error('disconnect failed');
    let runs = 0;
    const close = closeOnce(() => {
      runs += 1;
      throw failure;
    });
    const first = close();
    await assert.rejects(first, (e) => e === failure);
    await assert.rejects(close(), (e) => e === failure);
    assert.equal(close(), first);
    assert.equal(runs, 1);
  });
});

describe('StartDeadline', () => {
  it('passes through what a phase returns, and its own errors', async () => {
    const deadline = new StartDeadline('the thing', 60_000);
    assert.equal(await deadline.step('connect', Promise.resolve(7)), 7);
    const own = new Error('refused');
    await assert.rejects(
      deadline.step('connect', () => Promise.reject(own)),
      (e) => e === own,
    );
  });

  it('fails a phase that never ends with a TimeoutError `start-timeout` naming what it waited for', async () => {
    const deadline = new StartDeadline('the encoder consumer', 20);
    await assert.rejects(
      deadline.step('join consumer group g', new Promise(() => undefined), () => 'is a member stuck?'),
      (e: unknown) => {
        assert.ok(e instanceof TimeoutError);
        assert.equal(e.code, 'start-timeout');
        assert.equal(e.timeoutMs, 20);
        assert.equal(e.message, 'the encoder consumer did not join consumer group g within 20 ms: is a member stuck?');
        assert.equal(e.retriable, true);
        return true;
      },
    );
  });

  it('gives up at once when stopped, and refuses later phases', async () => {
    const stop = new AbortController();
    const deadline = new StartDeadline('the worker', 3_600_000, stop.signal);
    const pending = deadline.step('connect to Redis', new Promise(() => undefined));
    stop.abort();
    await assert.rejects(
      pending,
      (e: unknown) =>
        e instanceof CancelledError &&
        e.code === 'start-aborted' &&
        e.message === 'the worker was stopped while it was starting (waiting to connect to Redis)',
    );
    let called = false;
    await assert.rejects(
      deadline.step('connect to Kafka', () => {
        called = true;
        return Promise.resolve();
      }),
      (e: unknown) => e instanceof CancelledError && e.code === 'start-aborted',
    );
    assert.equal(called, false);
  });
});

async function server(): Promise<{ server: Server; port: number; accepted: Socket[] }> {
  const accepted: Socket[] = [];
  const s = createServer((socket) => accepted.push(socket));
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  return { server: s, port: (s.address() as { port: number }).port, accepted };
}

describe('ConnectionScope', () => {
  function open(port: number): Socket {
    const socket = connect(port, '127.0.0.1');
    trackSocket(socket);
    return socket;
  }

  it('closes, with an error, the sockets opened inside it and refuses new ones', async () => {
    const { server: s, port, accepted } = await server();
    const scope = new ConnectionScope();
    const outside = open(port);
    const outsideConnected = once(outside, 'connect');
    const inside = await scope.run(async () => {
      const socket = open(port);
      await once(socket, 'connect');
      return socket;
    });
    await outsideConnected;
    assert.equal(scope.openSockets, 1);
    const failed = once(inside, 'error');
    scope.close('stopping');
    const [error] = (await failed) as [Error];
    assert.match(error.message, /stopping/);
    assert.equal(inside.destroyed, true);
    assert.equal(outside.destroyed, false, 'a socket opened outside the scope is not touched');
    assert.equal(scope.openSockets, 0);

    const late = scope.run(() => open(port));
    const [refused] = (await once(late, 'error')) as [Error];
    assert.match(refused.message, /refused by searchbus: stopping/);
    outside.destroy();
    for (const socket of accepted) socket.destroy();
    s.close();
  });

  it('follows work scheduled from inside it (timers, promises)', async () => {
    const { server: s, port, accepted } = await server();
    const scope = new ConnectionScope();
    const later = await scope.run(
      () =>
        new Promise<Socket>((resolve) =>
          setTimeout(() => {
            const socket = open(port);
            socket.once('connect', () => resolve(socket));
          }, 1),
        ),
    );
    assert.equal(scope.openSockets, 1);
    // events.once would reject on the 'error' that comes first; the close is what is awaited.
    const closed = new Promise((resolve) => later.once('close', resolve));
    later.once('error', () => undefined);
    scope.close('done');
    await closed;
    assert.equal(scope.openSockets, 0);
    for (const socket of accepted) socket.destroy();
    s.close();
  });
});

describe('quitGracefully', () => {
  class FakeRedis extends EventEmitter {
    quits = 0;
    disconnects = 0;
    constructor(
      public status: string,
      private readonly answer: boolean,
    ) {
      super();
    }
    quit(): Promise<unknown> {
      this.quits += 1;
      if (!this.answer) return new Promise(() => undefined);
      this.end();
      return Promise.resolve('OK');
    }
    disconnect(): void {
      this.disconnects += 1;
      if (this.status !== 'reconnecting') setImmediate(() => this.end());
    }
    private end(): void {
      this.status = 'end';
      this.emit('end');
    }
  }

  it('sends QUIT to a ready client and waits for the end', async () => {
    const client = new FakeRedis('ready', true);
    await quitGracefully(client);
    assert.deepEqual([client.quits, client.disconnects, client.status], [1, 0, 'end']);
  });

  it('disconnects a client that never became ready instead of queueing QUIT, and waits for its socket to close', async () => {
    const connecting = new FakeRedis('connect', true);
    await quitGracefully(connecting);
    assert.deepEqual([connecting.quits, connecting.disconnects, connecting.status], [0, 1, 'end']);
    const waiting = new FakeRedis('reconnecting', true);
    await quitGracefully(waiting);
    assert.deepEqual([waiting.quits, waiting.disconnects], [0, 1]);
  });

  it('disconnects after the grace when QUIT gets no answer', async () => {
    const frozen = new FakeRedis('ready', false);
    await quitGracefully(frozen, 10);
    assert.deepEqual([frozen.quits, frozen.disconnects, frozen.status], [1, 1, 'end']);
  });

  it('destroys the socket when the server does not close its side either', async () => {
    const { server: s, port, accepted } = await server();
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    // ioredis' disconnect() only half-closes (end()); a frozen server never closes its side.
    const client = Object.assign(new EventEmitter(), {
      status: 'connect',
      stream: socket,
      quit: () => Promise.resolve(),
      disconnect: () => void socket.end(),
    });
    socket.on('close', () => {
      client.status = 'end';
      client.emit('end');
    });
    await quitGracefully(client, 10);
    assert.equal(client.status, 'end');
    assert.equal(socket.destroyed, true);
    for (const a of accepted) a.destroy();
    s.close();
  });
});
