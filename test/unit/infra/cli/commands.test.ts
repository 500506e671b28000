import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommandContext } from '../../../../infra/cli/command.ts';
import { command as evalCommand } from '../../../../infra/cli/commands/eval.ts';
import { command as gateway } from '../../../../infra/cli/commands/gateway.ts';
import { parseGatewayKeyArgs } from '../../../../infra/cli/commands/gateway-key.ts';
import { USAGE } from '../../../../infra/cli/commands/help.ts';
import { findCommand } from '../../../../infra/cli/commands/index.ts';
import { command as infra } from '../../../../infra/cli/commands/infra.ts';
import { command as reindex } from '../../../../infra/cli/commands/reindex.ts';
import { command as run } from '../../../../infra/cli/commands/run.ts';
import { command as search } from '../../../../infra/cli/commands/search.ts';
import { command as topologyCommand } from '../../../../infra/cli/commands/topology.ts';
import { command as watch } from '../../../../infra/cli/commands/watch.ts';
import { hasErrorCode } from '../../../../topology/index.ts';

// The command table and each command's parse, without services: what main dispatches to and what
// a command line turns into. Error messages here are the ones users see, so they are compared whole.

const usage = (message: string) => (error: unknown) => hasErrorCode(error, 'usage') && error.message === message;

function captured(): { context: CommandContext; results: string[] } {
  const results: string[] = [];
  const ignore = (): void => undefined;
  return {
    results,
    context: { out: { result: (line) => results.push(line), info: ignore, error: ignore }, untilSignal: () => new Promise(ignore) },
  };
}

describe('the command table', () => {
  it('finds every command under its own name', async () => {
    for (const name of [
      'up',
      'run',
      'ingest',
      'search',
      'gateway',
      'eval',
      'reindex',
      'eval-set',
      'status',
      'migrate-keys',
      'topology',
      'setup',
      'infra',
      'help',
    ]) {
      assert.equal((await findCommand(name)).name, name);
    }
  });

  it('answers help to no command, help, --help and -h, printing the usage text on stdout', async () => {
    for (const name of [undefined, 'help', '--help', '-h']) {
      const command = await findCommand(name);
      const { context, results } = captured();
      assert.equal(await command.execute([], context), 0);
      assert.deepEqual(results, [USAGE]);
    }
  });

  it('refuses an unknown command, including names every object has', async () => {
    await assert.rejects(findCommand('bogus'), usage('unknown command "bogus"'));
    await assert.rejects(findCommand('toString'), usage('unknown command "toString"'));
  });
});

describe('command lines', () => {
  it('reindex: milliseconds, fractions and the flags that need --gate', () => {
    assert.deepEqual(reindex.parse(['--model', 'm', '--grace-ms', '500', '--shadow-rate', '0.25', '--gate', 'claims', '--force']), {
      watch: false,
      allowIncompleteHistory: false,
      unschedule: false,
      json: false,
      model: 'm',
      graceMs: 500,
      gate: 'claims',
      force: true,
      shadowRate: 0.25,
    });
    assert.throws(() => reindex.parse(['--every', '1.5']), usage('--every must be a whole number of milliseconds, got "1.5"'));
    assert.throws(() => reindex.parse(['--shadow-samples', 'x']), usage('--shadow-samples must be a whole number, got "x"'));
    assert.throws(() => reindex.parse(['--max-ndcg-drop', '2']), usage('--max-ndcg-drop must be a number from 0 to 1, got "2"'));
    assert.throws(() => reindex.parse(['--force']), usage('--max-ndcg-drop and --force go with --gate'));
  });

  it('search: exactly one query, then k', () => {
    assert.deepEqual(search.parse(['how', 'do', 'stars', 'die', '--k', '3', '--mode', 'hybrid', '--filter', 'a=b']), {
      text: 'how do stars die',
      topK: 3,
      filters: ['a=b'],
      mode: 'hybrid',
      json: false,
    });
    assert.throws(
      () => search.parse(['--image', 'a.png', 'words']),
      usage('search needs exactly one of: the text to search for, --image <file>, --audio <file>, --code <file>'),
    );
    assert.throws(() => search.parse(['--k', 'x', 'words']), usage('--k must be a whole number, got "x"'));
  });

  it('gateway: a port, or the key subcommand with the rest of the line', () => {
    assert.deepEqual(gateway.parse(['--port', '8081']), { port: 8081 });
    assert.deepEqual(gateway.parse([]), {});
    assert.deepEqual(gateway.parse(['key', 'list', '--json']), { key: ['list', '--json'] });
    assert.throws(() => gateway.parse(['--port', '99999']), usage('--port must be a port number'));
  });

  it('gateway key: the keys file first, then the subcommand', () => {
    assert.throws(() => parseGatewayKeyArgs(['bogus'], {}), usage('name the keys file with --file or SEARCHBUS_GATEWAY_KEYS_FILE'));
    assert.deepEqual(
      parseGatewayKeyArgs(['add', '--tenant', 'acme', '--rate-per-second', '2.5'], { SEARCHBUS_GATEWAY_KEYS_FILE: '/k.json' }),
      {
        sub: 'add',
        file: '/k.json',
        tenants: ['acme'],
        rateLimit: { perSecond: 2.5, burst: 5 },
        admin: false,
        label: undefined,
        json: false,
      },
    );
    assert.throws(() => parseGatewayKeyArgs(['revoke', '--file', 'k.json'], {}), usage('key revoke needs the key id (see key list)'));
  });

  it('eval: a folder and a concurrency from 1 to 256', () => {
    assert.deepEqual(evalCommand.parse(['beir/scifact', '--compare', 'hybrid']), {
      dir: 'beir/scifact',
      options: { split: 'test', json: false, concurrency: 8, compare: 'hybrid' },
    });
    assert.throws(() => evalCommand.parse([]), usage('eval needs a BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv)'));
    assert.throws(() => evalCommand.parse(['d', '--concurrency', '0']), usage('--concurrency must be a whole number from 1 to 256'));
  });

  it('infra: everything after -- goes to infra run as it is', () => {
    assert.deepEqual(infra.parse(['run', '--', 'node', '--test', 'x.ts']), { sub: 'run', argv: ['node', '--test', 'x.ts'] });
    assert.deepEqual(infra.parse(['up', '--profile', 'test']), { sub: 'up', profile: 'test' });
    assert.throws(() => infra.parse(['up', '--profile', 'x']), usage('--profile must be "up" or "test"'));
    assert.throws(() => infra.parse([]), usage('unknown infra command ""'));
  });

  it('watch: add one of words, --image, --audio, with its options; remove needs an id; tail an optional one', () => {
    assert.deepEqual(
      watch.parse(['add', 'volcanic', 'eruptions', '--threshold', '0.7', '--tenant', 'acme', '--filter', 'year>=2020', '--json']),
      {
        sub: 'add',
        text: 'volcanic eruptions',
        filters: ['year>=2020'],
        json: true,
        tenant: 'acme',
        threshold: 0.7,
      },
    );
    assert.equal(watch.parse(['add', '--image', 'photo.jpg']).image, 'photo.jpg');
    assert.deepEqual(watch.parse(['tail']), { sub: 'tail', text: '', filters: [], json: false });
    assert.equal(watch.parse(['tail', 'abc', '--json']).text, 'abc');
    assert.throws(
      () => watch.parse(['add']),
      usage('watch add needs exactly one of: the text to watch for, --image <file>, --audio <file>'),
    );
    assert.throws(
      () => watch.parse(['add', 'x', '--image', 'a.jpg']),
      usage('watch add needs exactly one of: the text to watch for, --image <file>, --audio <file>'),
    );
    assert.throws(() => watch.parse(['add', 'x', '--threshold', 'high']), usage('--threshold must be a number from -1 to 1, got "high"'));
    assert.throws(() => watch.parse(['remove']), usage('watch remove needs the watch id'));
    assert.throws(
      () => watch.parse(['watch']),
      usage('watch needs add "<text>" | --image <file> | --audio <file>, list, remove <id> or tail [<id>]'),
    );
  });

  it('topology describe: the media group beside the text encoder and query groups (its lag is in `searchbus status`)', async () => {
    const { context, results } = captured();
    assert.equal(await topologyCommand.execute(['describe'], context), 0);
    const described = JSON.parse(results.join('\n')) as { namespace: string; groups: Record<string, string> };
    assert.deepEqual(
      [described.groups.encoder, described.groups.mediaEncoder, described.groups.query],
      [`${described.namespace}.encoder`, `${described.namespace}.encoder.media`, `${described.namespace}.query`],
    );
  });

  it('run: one of the roles', () => {
    assert.equal(run.parse(['query']), 'query');
    assert.throws(() => run.parse(['bogus']), usage('run needs a role: encoder, query, reindex, watch, gateway'));
  });
});
