import { jsonLogger } from '../../../consumers/runtime/index.ts';
import { getServices } from '../../get-services.ts';
import type { Services } from '../../index.ts';
import { displayHost, startGatewayService } from '../../gateway/index.ts';
import { ContractError, closeOnce, createKafka, createRedis, createTopology, loadConfig } from '../../../topology/index.ts';
import { defineCommand } from '../command.ts';
import type { Output } from '../output.ts';
import { parseQueryArgs } from '../query-args.ts';
import { command as gatewayKey } from './gateway-key.ts';

export interface RunningFront {
  /** Closes the gateway, then the services it attached to. Idempotent. */
  close(): Promise<void>;
}

/** The HTTP gateway until stopped; `/readyz` is 200 while Kafka answers and the Redis subscription is up. */
export async function gatewayCommand(out: Output, options: { port?: number }): Promise<RunningFront> {
  const config = loadConfig();
  const topology = createTopology(config.namespace);
  const services: Services = await getServices({ profile: 'up', need: ['kafka', 'redis'], start: false, log: (l) => out.info(l) });
  try {
    const gateway = await startGatewayService({
      kafka: createKafka(services.kafka, 'searchbus-gateway'),
      redis: createRedis(services.redis, 'searchbus-gateway'),
      topology,
      config,
      logger: jsonLogger('gateway'),
      ...(options.port !== undefined ? { port: options.port } : {}),
    });
    out.info(
      `gateway on http://${displayHost(config.gateway.host)}:${gateway.port}/search?q=… (${gateway.auth}; search page: /; health: /healthz, /readyz)`,
    );
    return {
      close: closeOnce(async () => {
        await gateway.close();
        await services.close();
      }),
    };
  } catch (error) {
    await services.close().catch(() => undefined);
    throw error;
  }
}

type GatewayArgs = { key: string[] } | { port?: number };

/** `searchbus gateway [--port 8080]` until Ctrl-C; `searchbus gateway key …` is gateway-key.ts. */
export const command = defineCommand({
  name: 'gateway',
  parse(argv): GatewayArgs {
    if (argv[0] === 'key') return { key: argv.slice(1) };
    const { values } = parseQueryArgs(argv);
    const port = values.port === undefined ? undefined : Number(values.port);
    if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535))
      throw new ContractError('usage', '--port must be a port number');
    return port === undefined ? {} : { port };
  },
  async run(args, context) {
    if ('key' in args) return gatewayKey.execute(args.key, context);
    const gateway = await gatewayCommand(context.out, args);
    await context.untilSignal();
    await gateway.close();
    return 0;
  },
});
