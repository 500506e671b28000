import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * This process's established TCP connections to `port`, as socket inodes, read from /proc (Linux):
 * what the kernel says is open, whatever a client library believes. Compare two calls to see
 * which connections a step opened or left behind.
 */
export function connectionsTo(port: number): Set<string> {
  const mine = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (match?.[1]) mine.add(match[1]);
    } catch {
      // The descriptor closed while we looked.
    }
  }
  const found = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const cols = line.trim().split(/\s+/);
      const remote = cols[2]?.split(':')[1];
      const [state, inode] = [cols[3], cols[9]];
      if (remote === undefined || inode === undefined) continue;
      // 01 = ESTABLISHED.
      if (parseInt(remote, 16) === port && state === '01' && mine.has(inode)) found.add(inode);
    }
  }
  return found;
}

/** Connections in `now` that were not in `before`. */
export function opened(before: Set<string>, now: Set<string>): string[] {
  return [...now].filter((inode) => !before.has(inode));
}

/** The port of the first broker of a `host:port` list. */
export function brokerPort(brokers: readonly string[]): number {
  const port = Number(brokers[0]?.split(':').pop());
  if (!Number.isInteger(port) || port <= 0) throw new Error(`no port in broker list ${brokers.join(',')}`);
  return port;
}
