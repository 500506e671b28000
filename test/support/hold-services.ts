// Starts throwaway local services, prints their registry entries as one JSON line, and then waits
// to be killed: the stand-in for a test run that dies without stopping what it started.
import { getServices, listEntries } from '../../infra/index.ts';

const env = { ...process.env };
delete env.KAFKA_BROKERS;
delete env.REDIS_URL;
delete env.QDRANT_URL;
await getServices({ env: { ...env, SEARCHBUS_PROVIDER: 'local' } });
const mine = (await listEntries()).filter((e) => e.ownerPid === process.pid);
process.stdout.write(`${JSON.stringify(mine)}\n`);
setInterval(() => undefined, 60_000);
