export {
  startGateway,
  DEFAULT_GATEWAY_LIMITS,
  type GatewayErrorCode,
  type GatewayLimits,
  type GatewayOptions,
  type GatewaySearcher,
  type RunningGateway,
} from './gateway-server.ts';
export { displayHost, startGatewayService, type GatewayService, type GatewayServiceOptions } from './gateway-service.ts';
export {
  API_KEY_PREFIX,
  ApiKeyStore,
  KeysFileError,
  appendKey,
  createApiKey,
  parseApiKey,
  parseKeysFile,
  readKeysFile,
  revokeKey,
  type ApiKeyEntry,
  type NewApiKey,
  type RateLimit,
} from './api-keys.ts';
export { chooseTenant, claimTenants, credentialAuthenticator, openAuthenticator, presentedCredential, type Authenticator, type Principal } from './authenticator.ts';
export { RateLimiter, type RateDecision } from './rate-limiter.ts';
export { KafkaProbe } from './kafka-probe.ts';
