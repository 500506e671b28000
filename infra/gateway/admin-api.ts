import { EVAL_SET_NAME_PATTERN, type EvalSetSummary } from '../../consumers/quality/index.ts';
import { DEFAULT_MAX_NDCG_DROP, type ReindexJobData, type ReindexJobSummary, type ReindexRequest } from '../../consumers/reindex/index.ts';
import { ContractError, DEFAULT_TENANT, getModelSpec, RejectedError, SearchbusError } from '../../topology/index.ts';
import { chooseTenant, type Principal } from './authenticator.ts';

// The gateway's /admin/ endpoints, as pure request -> answer logic over an AdminBackend (Redis in
// production, a fake in unit tests). The HTTP layer (gateway-routes.ts) has already authenticated
// the caller, checked its admin scope, rate-limited it and parsed the JSON body:
//   GET  /admin/eval-sets[?tenant=T]     the tenant's eval sets
//   POST /admin/eval-sets                add one: uploaded queries + qrels, or a server-side BEIR folder
//   POST /admin/reindex                  queue a (gated) rebuild
//   GET  /admin/reindex/<job id>         its state, progress, gate figures and shadow overlap
// Tenants work as on /search: the credential's tenants, `tenant` picking among them.

/** What the endpoints need from Redis (eval sets, the rebuild queue) and the disk. */
export interface AdminBackend {
  listEvalSets(tenant: string): Promise<EvalSetSummary[]>;
  addEvalSet(source: EvalSetSource): Promise<{ summary: EvalSetSummary; replaced: boolean }>;
  hasEvalSet(tenant: string, name: string): Promise<boolean>;
  requestReindex(request: ReindexRequest): Promise<{ jobId: string; created: boolean }>;
  getReindexJob(jobId: string): Promise<ReindexJobSummary | null>;
}

/** An eval set to add: its judged queries uploaded as text, or read from a folder on the gateway's disk. */
export type EvalSetSource =
  | { name: string; tenant: string; split: string; path: string }
  | { name: string; tenant: string; split: string; queries: string; qrels: string };

export type AdminRoute =
  { name: 'list-eval-sets' } | { name: 'add-eval-set' } | { name: 'request-reindex' } | { name: 'get-reindex-job'; jobId: string };

export type AdminRouteMatch = { ok: true; route: AdminRoute } | { ok: false; status: 404 } | { ok: false; status: 405; allow: string[] };

export type AdminErrorCode = 'invalid-request' | 'invalid-eval-set' | 'unknown-eval-set' | 'unknown-model' | 'forbidden' | 'not-found';

export interface AdminAnswer {
  status: number;
  body: unknown;
}

export interface AdminCall {
  route: AdminRoute;
  principal: Principal;
  params: URLSearchParams;
  /** The parsed JSON body of a POST; undefined for GET. */
  body: unknown;
}

export interface AdminContext {
  backend: AdminBackend;
  /** SEARCHBUS_SHADOW_SAMPLE_RATE: the shadow rate of a rebuild that names none. */
  shadowSampleRate: number;
}

const ADMIN_PREFIX = '/admin/';
/** A BEIR split's name: it becomes part of a file name (`qrels/<split>.tsv`), so no path separators. */
const SPLIT_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$/;
const JOB_ID_PATTERN = /^[A-Za-z0-9:_-]{1,128}$/;
/** The longest shadow hold a request may ask for: a day. */
const MAX_SHADOW_MS = 24 * 3600 * 1000;

export function isAdminPath(pathname: string): boolean {
  return pathname === '/admin' || pathname.startsWith(ADMIN_PREFIX);
}

/** Which endpoint a method and path name; 404 or 405 (with Allow) otherwise. */
export function matchAdminRoute(method: string, pathname: string): AdminRouteMatch {
  const byMethod = (routes: Record<string, AdminRoute>): AdminRouteMatch => {
    const verb = method === 'HEAD' ? 'GET' : method;
    const route = routes[verb];
    if (route) return { ok: true, route };
    const allow = Object.keys(routes).flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]));
    return { ok: false, status: 405, allow };
  };
  if (pathname === '/admin/eval-sets') return byMethod({ GET: { name: 'list-eval-sets' }, POST: { name: 'add-eval-set' } });
  if (pathname === '/admin/reindex') return byMethod({ POST: { name: 'request-reindex' } });
  const job = /^\/admin\/reindex\/([^/]+)$/.exec(pathname);
  if (job) {
    let jobId: string;
    try {
      jobId = decodeURIComponent(job[1]!);
    } catch {
      return { ok: false, status: 404 };
    }
    if (!JOB_ID_PATTERN.test(jobId)) return { ok: false, status: 404 };
    return byMethod({ GET: { name: 'get-reindex-job', jobId } });
  }
  return { ok: false, status: 404 };
}

export async function handleAdmin(call: AdminCall, context: AdminContext): Promise<AdminAnswer> {
  try {
    switch (call.route.name) {
      case 'list-eval-sets':
        return await listEvalSets(call, context);
      case 'add-eval-set':
        return await addEvalSet(call, context);
      case 'request-reindex':
        return await requestReindex(call, context);
      case 'get-reindex-job':
        return await getReindexJob(call, call.route.jobId, context);
    }
  } catch (error) {
    // The endpoints' own refusals, and the backend's errors that are the caller's doing (a broken
    // BEIR file, a folder outside the allowed ones, an unknown model), by code; anything else is
    // left to the HTTP layer's 500.
    const answer = error instanceof SearchbusError ? ANSWERS.get(error.code) : undefined;
    if (answer) return failure(answer[0], answer[1], (error as Error).message);
    throw error;
  }
}

/** Error code -> HTTP status and the code the answer carries. */
const ANSWERS: ReadonlyMap<string, [number, AdminErrorCode]> = new Map<string, [number, AdminErrorCode]>([
  // Thrown here, before the backend sees the request.
  ['invalid-request', [400, 'invalid-request']],
  ['unknown-eval-set', [400, 'unknown-eval-set']],
  ['forbidden', [403, 'forbidden']],
  ['not-found', [404, 'not-found']],
  // From the backend.
  ['beir-format', [400, 'invalid-eval-set']],
  ['invalid-eval-set', [400, 'invalid-eval-set']],
  ['eval-set-path-refused', [403, 'forbidden']],
  ['unknown-model', [400, 'unknown-model']],
]);

async function listEvalSets(call: AdminCall, { backend }: AdminContext): Promise<AdminAnswer> {
  const unknown = [...new Set(call.params.keys())].filter((k) => k !== 'tenant');
  if (unknown.length > 0)
    throw invalid(`unknown parameter(s) ${unknown.map((k) => JSON.stringify(k.slice(0, 64))).join(', ')}; expected tenant`);
  if (call.params.getAll('tenant').length > 1) throw invalid('tenant is given more than once');
  const tenant = tenantOf(call.principal, call.params.get('tenant'));
  return { status: 200, body: { tenant, sets: await backend.listEvalSets(tenant) } };
}

async function addEvalSet(call: AdminCall, { backend }: AdminContext): Promise<AdminAnswer> {
  const body = objectBody(call.body, ['name', 'tenant', 'split', 'path', 'queries', 'qrels']);
  const name = requiredString(body, 'name');
  if (!EVAL_SET_NAME_PATTERN.test(name)) throw invalid(`name must match ${String(EVAL_SET_NAME_PATTERN)}`);
  const split = optionalString(body, 'split') ?? 'test';
  if (!SPLIT_PATTERN.test(split)) throw invalid(`split must match ${String(SPLIT_PATTERN)}`);
  const tenant = tenantOf(call.principal, optionalString(body, 'tenant') ?? null);
  const path = optionalString(body, 'path');
  const queries = optionalString(body, 'queries');
  const qrels = optionalString(body, 'qrels');
  let source: EvalSetSource;
  if (path !== undefined) {
    if (queries !== undefined || qrels !== undefined) throw invalid('give either path, or queries and qrels, not both');
    source = { name, tenant, split, path };
  } else {
    if (queries === undefined || qrels === undefined)
      throw invalid('give path (a BEIR folder on the gateway), or queries (queries.jsonl) and qrels (qrels/<split>.tsv) as text');
    source = { name, tenant, split, queries, qrels };
  }
  const { summary, replaced } = await backend.addEvalSet(source);
  return { status: replaced ? 200 : 201, body: { ...summary, replaced } };
}

async function requestReindex(call: AdminCall, { backend, shadowSampleRate }: AdminContext): Promise<AdminAnswer> {
  const body = objectBody(call.body, ['model', 'gate', 'tenant', 'maxNdcgDrop', 'force', 'shadowRate', 'shadowMs', 'shadowSamples']);
  const model = requiredString(body, 'model');
  getModelSpec(model);
  const gate = optionalString(body, 'gate');
  const maxNdcgDrop = optionalNumber(body, 'maxNdcgDrop', 0, 1, false);
  const force = body.force;
  if (force !== undefined && typeof force !== 'boolean') throw invalid('force must be true or false');
  if (gate === undefined && (maxNdcgDrop !== undefined || force !== undefined)) throw invalid('maxNdcgDrop and force go with gate');
  const shadow = {
    rate: optionalNumber(body, 'shadowRate', 0, 1, false) ?? shadowSampleRate,
    holdMs: optionalNumber(body, 'shadowMs', 0, MAX_SHADOW_MS, true) ?? 0,
    minSamples: optionalNumber(body, 'shadowSamples', 0, 1_000_000, true) ?? 0,
  };
  const request: ReindexRequest = { modelId: model, shadow };
  if (gate !== undefined) {
    const tenant = tenantOf(call.principal, optionalString(body, 'tenant') ?? null);
    if (!(await backend.hasEvalSet(tenant, gate))) {
      throw new ContractError(
        'unknown-eval-set',
        `no eval set ${JSON.stringify(gate.slice(0, 64))} for tenant ${tenant} (GET /admin/eval-sets lists them)`,
      );
    }
    request.gate = { set: gate, tenant, maxNdcgDrop: maxNdcgDrop ?? DEFAULT_MAX_NDCG_DROP, force: force ?? false };
  } else if (body.tenant !== undefined) {
    throw invalid('tenant goes with gate (it names whose eval set gates the rebuild)');
  }
  const { jobId, created } = await backend.requestReindex(request);
  return { status: created ? 202 : 200, body: { jobId, created, status: `${ADMIN_PREFIX}reindex/${encodeURIComponent(jobId)}` } };
}

async function getReindexJob(call: AdminCall, jobId: string, { backend }: AdminContext): Promise<AdminAnswer> {
  if ([...call.params.keys()].length > 0) throw invalid('GET /admin/reindex/<job id> takes no parameters');
  const job = await backend.getReindexJob(jobId);
  // A job gated on another tenant's set is not shown, not even as existing: its figures are that tenant's.
  if (!job || job.name !== 'rebuild' || !mayRead(call.principal, job.data as ReindexJobData)) {
    throw new RejectedError('not-found', `no rebuild job ${jobId}`);
  }
  return { status: 200, body: reindexJobView(job) };
}

function mayRead(principal: Principal, data: ReindexJobData): boolean {
  const tenant = data.gate?.tenant;
  return tenant === undefined || principal.tenants === 'any' || principal.tenants.includes(tenant);
}

/** A rebuild job as the gateway shows it: the request (without an inline set's queries), progress and result. */
function reindexJobView(job: ReindexJobSummary): Record<string, unknown> {
  const data = job.data as ReindexJobData;
  const gate = data.gate
    ? { set: data.gate.set, tenant: data.gate.tenant, maxNdcgDrop: data.gate.maxNdcgDrop, force: data.gate.force }
    : null;
  return {
    id: job.id,
    state: job.state,
    model: data.modelId,
    alias: data.alias,
    gate,
    shadow: data.shadow ?? null,
    progress: job.progress,
    result: job.result,
    failedReason: job.failedReason,
    attemptsMade: job.attemptsMade,
    createdAt: job.createdAt,
    finishedAt: job.finishedAt,
  };
}

function tenantOf(principal: Principal, requested: string | null): string {
  const choice = chooseTenant(principal, requested);
  if (!choice.ok) throw choice.status === 403 ? new RejectedError('forbidden', choice.message) : invalid(choice.message);
  return choice.tenant ?? DEFAULT_TENANT;
}

function objectBody(body: unknown, fields: string[]): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('the body must be a JSON object');
  const record = body as Record<string, unknown>;
  const unknown = Object.keys(record).filter((k) => !fields.includes(k));
  if (unknown.length > 0)
    throw invalid(`unknown field(s) ${unknown.map((k) => JSON.stringify(k.slice(0, 64))).join(', ')}; expected ${fields.join(', ')}`);
  return record;
}

function requiredString(body: Record<string, unknown>, field: string): string {
  const value = optionalString(body, field);
  if (value === undefined || value === '') throw invalid(`${field} is required`);
  return value;
}

function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(`${field} must be a string`);
  return value;
}

function optionalNumber(body: Record<string, unknown>, field: string, min: number, max: number, whole: boolean): number | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (whole && !Number.isSafeInteger(value))) {
    throw invalid(`${field} must be a ${whole ? 'whole ' : ''}number from ${min} to ${max}`);
  }
  return value;
}

function invalid(message: string): ContractError {
  return new ContractError('invalid-request', message);
}

function failure(status: number, code: AdminErrorCode, message: string): AdminAnswer {
  return { status, body: { error: { code, message } } };
}
