// The non-code files the compiled code reads at run time, through paths relative to its own module
// (`new URL('./x', import.meta.url)`): `npm run build` copies each next to its compiled module, so
// dist/ is the whole runnable package. A unit test checks every such path in the sources is here.
export const ASSETS = [
  'infra/kafka/pom.xml',
  'infra/kafka/log4j2.yaml',
  'infra/qdrant-edge/server.py',
  'infra/qdrant-edge/requirements.txt',
  'infra/qdrant-edge/qdrant_rest',
  // The image model converter and the graph tools that derive the optimised and int8 files.
  'infra/models/media',
  'infra/models/graph-tools',
  'infra/demo',
  // The gateway's search page (infra/gateway/search-page.ts serves them).
  'infra/gateway/page',
];
