export { startGateway, type RunningGateway } from './gateway-server.ts';
export { displayHost, startGatewayService, type GatewayService } from './gateway-service.ts';
export { ApiKeyStore, appendKey, createApiKey, parseApiKey, parseKeysFile, readKeysFile, revokeKey, type RateLimit } from './api-keys.ts';
export { chooseTenant, claimScopes, claimTenants, credentialAuthenticator, presentedCredential, type Principal } from './authenticator.ts';
export { RateLimiter } from './rate-limiter.ts';
export { KafkaProbe } from './kafka-probe.ts';
export { handleAdmin, matchAdminRoute, type AdminBackend, type AdminRoute, type EvalSetSource } from './admin-api.ts';
export { allowedEvalSetFolder, resolveEvalSetDirs } from './admin-backend.ts';
