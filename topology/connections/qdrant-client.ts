import { QdrantClient } from '@qdrant/js-client-rest';
import type { QdrantEndpoint } from './endpoints.ts';

// Apart from the Kafka and Redis clients (clients.ts) so that what needs no Qdrant (`searchbus
// search`, the search client) does not load its client at start-up.
export function createQdrant(endpoint: QdrantEndpoint): QdrantClient {
  const url = new URL(endpoint.url);
  return new QdrantClient({
    url: endpoint.url,
    port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80,
    ...(endpoint.apiKey ? { apiKey: endpoint.apiKey } : {}),
  });
}
