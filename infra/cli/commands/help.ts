import { defineCommand } from '../command.ts';
import { ROLE_NAMES } from '../role-names.ts';

// One text in the order a reader looks for things (the rebuild lines sit on either side of
// eval-set), kept here whole rather than pieced together from the commands, which would also load
// every command (and its dependencies) just to print it.
export const USAGE = `searchbus — neural search on an event stream

Usage:
  searchbus up [--no-sample]           start services, topology, every role and the sample corpus (Ctrl-C stops)
  searchbus run <role>                 run one role against running services (roles: ${ROLE_NAMES.join(', ')})
  searchbus ingest <file.jsonl|beir-dir|folder> [--tenant T] [--json]   (a folder: txt, md, jpg, png, webp, wav, mp3, ogg, flac)
                                       publish documents to the ingest topic
  searchbus search "<text>" | --image <file> | --audio <file> [--k 10] [--filter key=value …] [--tenant T] [--mode dense|sparse|hybrid] [--json]
                                       search through the bus (filters: key=v, key!=v, key>=n, key<n, or JSON)
  searchbus watch add "<text>" | --image <file> | --audio <file> [--filter key=value …] [--tenant T] [--threshold 0.6] [--json]
                                       store a standing query; prints its id. Every newly indexed document it matches is an event
  searchbus watch list [--tenant T] [--json] | watch remove <id> [--tenant T]
  searchbus watch tail [<id>] [--tenant T] [--json]   print match events as they come (JSON lines with --json) until Ctrl-C
  searchbus gateway [--port 8080]      HTTP front: GET|POST /search (q, k, filter, tenant, mode), /healthz, /readyz; /admin/eval-sets, /admin/reindex
  searchbus gateway key add --tenant T [--tenant T2 …] [--rate-per-second N] [--burst N] [--label L] [--admin] [--file F] [--json]
                                       create an API key (printed once); its salted hash goes to the keys file
  searchbus gateway key list [--file F] [--json]   list keys (ids, tenants, limits; never secrets)
  searchbus gateway key revoke <id> [--file F]     remove a key; running gateways reload the file
  searchbus eval <beir-dir> [--split test] [--mode dense|sparse|hybrid] [--concurrency 8] [--namespace N] [--model M]
                 [--compare <model|mode>] [--per-query F] [--json]
                                       nDCG@10, recall@100, MRR@10 and latency through the whole pipeline;
                                       --compare: a second run, per-query wins/losses/ties and a paired p-value
  searchbus reindex --model <id> [--watch] [--grace-ms N] [--allow-incomplete-history] [--json]
          [--gate <eval-set|beir-dir> [--tenant T] [--split S] [--max-ndcg-drop 0.005] [--force]]
          [--shadow-rate 0.05] [--shadow-ms N] [--shadow-samples N]
                                       rebuild the index behind the alias with a model, then swap it in; with --gate
                                       only if nDCG@10 on the judged queries drops by at most the margin
  searchbus eval-set add <name> <beir-dir> [--split test] [--tenant T] [--json]
                                       store a tenant's judged queries for gating rebuilds
  searchbus eval-set list [--tenant T] [--json]   the tenant's stored eval sets
  searchbus reindex --model <id> (--every <ms> | --cron "<pattern>")   schedule rebuilds; --unschedule stops them
  searchbus reindex --cancel <job-id>  cancel a rebuild (the live index is untouched)
  searchbus status [--json]            topics, consumer lag, collections, aliases, models and rebuild jobs
  searchbus migrate-keys [--dry-run] [--json]
                                       re-key documents published with bare-id keys to <tenant>/<id> (then reindex)
  searchbus topology apply [--dry-run] create or update topics, the collection, alias and payload indexes
  searchbus topology describe          print every name and setting as JSON
  searchbus setup                      install Kafka jars, redis-server, the Qdrant Edge engine, the text model and the image and audio models
  searchbus setup --models-only [--model <id> …]
                                       fetch and sha256-check only the text models (SEARCHBUS_MODEL by default); the image build runs this
  searchbus infra up [--profile up|test]  start Kafka, Redis and Qdrant (or use KAFKA_BROKERS/REDIS_URL/QDRANT_URL)
  searchbus infra down                 stop every service process searchbus started
  searchbus infra status [--json]      list the service processes searchbus started
  searchbus infra run -- <cmd…>        run a command against throwaway services (endpoints in its environment)
`;

/** `searchbus help`, `--help`, `-h`, and no command at all. */
export const command = defineCommand({
  name: 'help',
  parse: () => undefined,
  run: (_options, { out }) => {
    out.result(USAGE);
    return Promise.resolve(0);
  },
});
