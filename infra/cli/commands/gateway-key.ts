import { parseArgs } from 'node:util';
import { appendKey, createApiKey, readKeysFile, revokeKey, type RateLimit } from '../../gateway/index.ts';
import { ContractError, SETTINGS, TENANT_PATTERN } from '../../../topology/index.ts';
import { defineCommand } from '../command.ts';
import type { Output } from '../output.ts';

// `searchbus gateway key add|list|revoke`: the gateway's API keys file. The file holds salted
// hashes only; a new key is printed once, on stdout, and cannot be shown again.

export type GatewayKeyArgs =
  | {
      sub: 'add';
      file: string;
      tenants: string[];
      rateLimit: RateLimit | undefined;
      admin: boolean;
      label: string | undefined;
      json: boolean;
    }
  | { sub: 'list'; file: string; json: boolean }
  | { sub: 'revoke'; file: string; id: string };

export function parseGatewayKeyArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): GatewayKeyArgs {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      file: { type: 'string' },
      tenant: { type: 'string', multiple: true, default: [] },
      'rate-per-second': { type: 'string' },
      burst: { type: 'string' },
      label: { type: 'string' },
      admin: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const file = values.file ?? env[SETTINGS.gatewayKeysFile]?.trim();
  if (!file) throw new ContractError('usage', `name the keys file with --file or ${SETTINGS.gatewayKeysFile}`);
  switch (sub) {
    case 'add': {
      const tenants = values.tenant;
      if (tenants.length === 0)
        throw new ContractError('usage', 'key add needs --tenant (repeat it for a key that may search several tenants)');
      const bad = tenants.find((t) => !TENANT_PATTERN.test(t));
      if (bad !== undefined) throw new ContractError('usage', `--tenant "${bad}" must match ${String(TENANT_PATTERN)}`);
      const rateLimit = parseRateLimit(values['rate-per-second'], values.burst);
      return { sub, file, tenants, rateLimit, admin: values.admin, label: values.label, json: values.json };
    }
    case 'list':
      return { sub, file, json: values.json };
    case 'revoke': {
      const id = positionals[0];
      if (!id) throw new ContractError('usage', 'key revoke needs the key id (see key list)');
      return { sub, file, id };
    }
    default:
      throw new ContractError('usage', `unknown gateway key command "${sub ?? ''}": add, list or revoke`);
  }
}

async function gatewayKeyCommand(out: Output, args: GatewayKeyArgs): Promise<number> {
  const { file } = args;
  switch (args.sub) {
    case 'add': {
      const { key, entry } = await createApiKey({
        tenants: args.tenants,
        ...(args.admin ? { scopes: ['admin' as const] } : {}),
        ...(args.rateLimit ? { rateLimit: args.rateLimit } : {}),
        ...(args.label !== undefined ? { label: args.label } : {}),
      });
      await appendKey(file, entry, SETTINGS.gatewayKeysFile);
      if (args.json) out.result(JSON.stringify({ key, id: entry.id, tenants: entry.tenants, scopes: entry.scopes ?? [], file }));
      else {
        out.result(key);
        out.info(
          `key ${entry.id} for ${entry.tenants.join(', ')}${args.admin ? ' (admin)' : ''} added to ${file}. This is the only time the key is shown: store it now.`,
        );
      }
      return 0;
    }
    case 'list': {
      const entries = await readKeysFile(file, SETTINGS.gatewayKeysFile);
      if (args.json) out.result(JSON.stringify(entries.map(({ hash: _hash, ...rest }) => rest)));
      else {
        for (const e of entries) {
          const limit = e.rateLimit ? `  ${e.rateLimit.perSecond}/s burst ${e.rateLimit.burst}` : '';
          out.result(
            `${e.id}  ${e.tenants.join(',')}${e.scopes?.length ? `  [${e.scopes.join(',')}]` : ''}  ${e.created}${limit}${e.label ? `  ${e.label}` : ''}`,
          );
        }
        out.info(`${entries.length} key(s) in ${file}`);
      }
      return 0;
    }
    case 'revoke': {
      if (!(await revokeKey(file, args.id, SETTINGS.gatewayKeysFile))) {
        out.error(`no key ${args.id} in ${file}`);
        return 1;
      }
      out.info(`key ${args.id} revoked; running gateways stop accepting it within a second`);
      return 0;
    }
  }
}

function parseRateLimit(perSecondRaw: string | undefined, burstRaw: string | undefined): RateLimit | undefined {
  if (perSecondRaw === undefined) {
    if (burstRaw !== undefined) throw new ContractError('usage', '--burst needs --rate-per-second');
    return undefined;
  }
  const perSecond = Number(perSecondRaw);
  if (!Number.isFinite(perSecond) || perSecond <= 0)
    throw new ContractError('usage', `--rate-per-second must be a number above 0, got "${perSecondRaw}"`);
  const burst = burstRaw === undefined ? Math.max(1, Math.ceil(perSecond * 2)) : Number(burstRaw);
  if (!Number.isFinite(burst) || burst < 1) throw new ContractError('usage', `--burst must be a number of at least 1, got "${burstRaw}"`);
  return { perSecond, burst };
}

/** Reached through `searchbus gateway key …` (gateway.ts), not from the table: its name is two words. */
export const command = defineCommand({
  name: 'gateway key',
  parse: (argv) => parseGatewayKeyArgs(argv),
  run: (args, { out }) => gatewayKeyCommand(out, args),
});
