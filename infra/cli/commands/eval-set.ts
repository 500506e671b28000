import { EvalSetStore, summariseEvalSet } from '../../../consumers/quality/index.ts';
import { createRedis, getServices } from '../../index.ts';
import { ContractError, createTopology, DEFAULT_TENANT, loadConfig } from '../../../topology/index.ts';
import { readEvalSet } from '../../eval/index.ts';
import { parseArgs } from 'node:util';
import { defineCommand } from '../command.ts';
import type { Output } from '../output.ts';

export interface EvalSetOptions {
  name?: string;
  dir?: string;
  split: string;
  tenant?: string;
  json: boolean;
}

/** `eval-set add <name> <beir-dir>` and `eval-set list`, per tenant. */
export async function evalSetCommand(out: Output, sub: 'add' | 'list', args: EvalSetOptions): Promise<number> {
  const config = loadConfig();
  const topology = createTopology(config.namespace);
  const tenant = args.tenant ?? DEFAULT_TENANT;
  const services = await getServices({ profile: 'up', need: ['redis'], start: false, log: (l) => out.info(l) });
  const redis = createRedis(services.redis, 'searchbus-cli-eval-set');
  try {
    const store = new EvalSetStore(redis, topology);
    if (sub === 'add') {
      if (!args.name || !args.dir) throw new Error('eval-set add needs a name and a BEIR folder');
      const set = await readEvalSet(args.name, args.dir, args.split, tenant);
      const replaced = await store.add(set);
      const summary = summariseEvalSet(set);
      out.result(
        args.json
          ? JSON.stringify({ ...summary, replaced })
          : `${replaced ? 'replaced' : 'added'} eval set ${set.name} of tenant ${tenant}: ${summary.queries} queries, ${summary.judgements} judgements (split ${set.split} of ${set.source})`,
      );
      return 0;
    }
    const sets = await store.list(tenant);
    if (args.json) out.result(JSON.stringify(sets));
    else if (sets.length === 0) out.result(`no eval sets for tenant ${tenant}`);
    else
      for (const s of sets)
        out.result(
          `${s.name.padEnd(24)} ${String(s.queries).padStart(6)} queries ${String(s.judgements).padStart(7)} judgements  split ${s.split}  added ${s.addedAt}  from ${s.source}`,
        );
    return 0;
  } finally {
    redis.disconnect();
    await services.close();
  }
}

export const command = defineCommand({
  name: 'eval-set',
  parse(argv): { sub: 'add' | 'list'; options: EvalSetOptions } {
    const [sub, ...tail] = argv;
    if (sub !== 'add' && sub !== 'list') throw new ContractError('usage', 'eval-set needs "add <name> <beir-dir>" or "list"');
    const { values, positionals } = parseArgs({
      args: tail,
      allowPositionals: true,
      options: { split: { type: 'string', default: 'test' }, tenant: { type: 'string' }, json: { type: 'boolean', default: false } },
    });
    if (sub === 'add' && positionals.length !== 2) throw new ContractError('usage', 'eval-set add needs <name> <beir-dir>');
    return {
      sub,
      options: {
        split: values.split,
        json: values.json,
        ...(positionals[0] !== undefined && { name: positionals[0] }),
        ...(positionals[1] !== undefined && { dir: positionals[1] }),
        ...(values.tenant !== undefined && { tenant: values.tenant }),
      },
    };
  },
  run: ({ sub, options }, { out }) => evalSetCommand(out, sub, options),
});
