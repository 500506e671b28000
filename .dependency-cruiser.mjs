// The import rules that keep the floors honest (`npm run lint` runs `depcruise`). Floors, lowest
// first: topology/ (names, contracts, config, connections, errors, lifecycle), then producers/ and
// consumers/ (peers), then infra/ (the fronts and everything that composes both sides). A floor
// imports only the floors below it; test/ may import anything.
//
// A role folder (a folder directly under a floor, e.g. consumers/query/ or topology/connections/)
// is imported from outside through its index.ts; inside it, files import each other directly.
// infra/build/ is the exception: plain .mjs build scripts with no index, which the bin reads.
// topology/connections/qdrant-client.ts is imported by path on purpose: createQdrant loads
// @qdrant/js-client-rest, so it stays out of connections/index.ts, which topology/index.ts (and so
// `searchbus search`'s cold start and the package entry) loads; its few users name the file.
//
// Type-only imports count too (tsPreCompilationDeps): a type pulled across a floor couples the
// floors as much as a value does.
const FLOORS = '(producers|consumers|infra|topology)';
const ROLE_FOLDER_INDEX = `^${FLOORS}/[^/]+/index\\.ts$`;
const NO_INDEX_FOLDERS = '^infra/build/';
const IMPORTED_BY_PATH = '^topology/connections/qdrant-client\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'producers-not-to-consumers-or-infra',
      comment: 'producers/ may import topology/ only: consumers/ is its peer and infra/ is above it.',
      severity: 'error',
      from: { path: '^producers/' },
      to: { path: '^(consumers|infra)/' },
    },
    {
      name: 'consumers-not-to-producers-or-infra',
      comment: 'consumers/ may import topology/ only: producers/ is its peer and infra/ is above it.',
      severity: 'error',
      from: { path: '^consumers/' },
      to: { path: '^(producers|infra)/' },
    },
    {
      name: 'topology-imports-no-other-floor',
      comment: 'topology/ is the lowest floor: it imports no other project folder.',
      severity: 'error',
      from: { path: '^topology/' },
      to: { path: '^(producers|consumers|infra|test)/' },
    },
    {
      name: 'not-to-test',
      comment: 'Only tests import test/ code.',
      severity: 'error',
      from: { path: `^${FLOORS}/` },
      to: { path: '^test/' },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles (type-only imports included).',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'role-folder-through-index',
      comment: 'From another role folder, a role folder is imported through its index.ts.',
      severity: 'error',
      from: { path: `^(${FLOORS}/[^/]+)/` },
      to: { path: `^${FLOORS}/[^/]+/`, pathNot: ['^$1/', ROLE_FOLDER_INDEX, NO_INDEX_FOLDERS, IMPORTED_BY_PATH] },
    },
    {
      name: 'role-folder-through-index-from-floor',
      comment: 'From a file directly in a floor (e.g. infra/services.ts), a role folder is imported through its index.ts.',
      severity: 'error',
      from: { path: `^${FLOORS}/[^/]+$` },
      to: { path: `^${FLOORS}/[^/]+/`, pathNot: [ROLE_FOLDER_INDEX, NO_INDEX_FOLDERS, IMPORTED_BY_PATH] },
    },
  ],
  options: {
    includeOnly: '^(producers|consumers|infra|topology|test)/',
    exclude: { path: '(^|/)(node_modules|dist|\\.cache)/' },
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};
