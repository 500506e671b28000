export { startGateway, type RunningGateway } from './gateway-server.ts';
export { DEFAULT_GATEWAY_LIMITS, type GatewayAdmin, type GatewayLimits, type GatewayOptions, type GatewaySearcher } from './gateway-options.ts';
export type { GatewayErrorCode } from './gateway-responses.ts';
export { displayHost, startGatewayService, type GatewayService, type GatewayServiceOptions } from './gateway-service.ts';
export {
  API_KEY_PREFIX,
  ApiKeyStore,
  appendKey,
  createApiKey,
  parseApiKey,
  parseKeysFile,
  readKeysFile,
  revokeKey,
  API_KEY_SCOPES,
  type ApiKeyEntry,
  type ApiKeyScope,
  type NewApiKey,
  type RateLimit,
} from './api-keys.ts';
export { chooseTenant, claimScopes, claimTenants, credentialAuthenticator, openAuthenticator, presentedCredential, type Authenticator, type Principal } from './authenticator.ts';
export { RateLimiter, type RateDecision } from './rate-limiter.ts';
export { KafkaProbe } from './kafka-probe.ts';
export {
  handleAdmin,
  matchAdminRoute,
  reindexJobView,
  type AdminAnswer,
  type AdminBackend,
  type AdminCall,
  type AdminErrorCode,
  type AdminRoute,
  type EvalSetSource,
} from './admin-api.ts';
export { allowedEvalSetFolder, RedisAdminBackend, resolveEvalSetDirs } from './admin-backend.ts';
