export { WatchClient } from './watch-client.ts';
