export { startGateway, type GatewayOptions, type GatewaySearcher, type RunningGateway } from './gateway-server.ts';
