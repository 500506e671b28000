// The ONNX file the encoder runs for a model and a variant choice (topology/model-variants.ts).
// Derived files are made once from the registry's fp32 file by onnxruntime's own Python tools,
// checked against their sha256 pin, and only then renamed into place: a file at its final path is
// always a verified one.
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RejectedError, UnavailableError } from '../../topology/errors.ts';
import { getModelSpec, type ModelSpec } from '../../topology/models.ts';
import {
  DEFAULT_ENCODER_GRAPH,
  DEFAULT_INT8_SOURCE,
  DERIVED_MODEL_PINS,
  type DerivedKind,
  type EncoderGraph,
  type Int8Source,
} from '../../topology/model-variants.ts';
import { cacheDir } from '../cache-dir.ts';
import { runCommand } from '../local/index.ts';
import { ensureModel, sha256File, type ModelFiles } from './fetch-model.ts';
import { ensureGraphToolsVenv, GRAPH_TOOLS_DIR } from './graph-tools-venv.ts';

export interface ModelVariantChoice {
  /** fp32 models only. */
  graph?: EncoderGraph;
  /** int8 (`-q`) models only. */
  int8Source?: Int8Source;
}

export interface EncoderModelFiles extends ModelFiles {
  /** What runs: `stock`, `optimized`, `int8-registry` or `int8-per-channel`. */
  readonly variant: string;
}

export interface EnsureEncoderFilesOptions {
  log?: (line: string) => void;
  /** Defaults to cacheDir('models'). */
  modelsDir?: string;
}

const ACTIONS: Record<DerivedKind, string> = { optimized: 'optimize', 'int8-per-channel': 'quantize' };

// Concurrent callers in one process share one derivation.
const inFlight = new Map<string, Promise<string>>();

/** Fetches the registry files and derives the chosen variant's ONNX file if needed. */
export async function ensureEncoderFiles(
  spec: ModelSpec,
  choice: ModelVariantChoice = {},
  options: EnsureEncoderFilesOptions = {},
): Promise<EncoderModelFiles> {
  const fetchOptions = { ...(options.log && { log: options.log }), ...(options.modelsDir && { modelsDir: options.modelsDir }) };
  if (spec.quantized) {
    const source = choice.int8Source ?? DEFAULT_INT8_SOURCE;
    if (source === 'registry') return { ...(await ensureModel(spec, fetchOptions)), variant: 'int8-registry' };
    const fp32 = fp32Of(spec);
    const files = await ensureModel(fp32, fetchOptions);
    const onnxPath = await ensureDerived(fp32, files, 'int8-per-channel', options);
    // Same vocabulary and casing as the -q jar's tokenizer (the registry's lowercase flag is checked at load).
    return { ...files, modelId: spec.id, onnxPath, variant: 'int8-per-channel' };
  }
  const graph = choice.graph ?? DEFAULT_ENCODER_GRAPH;
  const files = await ensureModel(spec, fetchOptions);
  if (graph === 'stock') return { ...files, variant: 'stock' };
  return { ...files, onnxPath: await ensureDerived(spec, files, 'optimized', options), variant: 'optimized' };
}

/** Every derived file pinned for a model (its fp32 sibling's, for an int8 id): what `setup` prepares. */
export async function ensureAllEncoderFiles(spec: ModelSpec, options: EnsureEncoderFilesOptions = {}): Promise<EncoderModelFiles[]> {
  const fp32 = spec.quantized ? fp32Of(spec) : spec;
  const pins = DERIVED_MODEL_PINS[fp32.id];
  const wanted: Array<[ModelSpec, ModelVariantChoice]> = [[spec, {}]];
  if (pins?.optimized) wanted.push([fp32, { graph: 'optimized' }]);
  if (pins?.['int8-per-channel']) wanted.push([getModelSpec(`${fp32.id}-q`), { int8Source: 'per-channel' }]);
  const out: EncoderModelFiles[] = [];
  for (const [target, choice] of wanted) out.push(await ensureEncoderFiles(target, choice, options));
  return out;
}

function derivedPath(modelsDir: string, fp32Id: string, kind: DerivedKind, sha256: string): string {
  return join(modelsDir, `${fp32Id}.derived`, `${kind}-${sha256.slice(0, 16)}.onnx`);
}

function fp32Of(spec: ModelSpec): ModelSpec {
  return getModelSpec(spec.id.replace(/-q$/, ''));
}

function ensureDerived(fp32: ModelSpec, files: ModelFiles, kind: DerivedKind, options: EnsureEncoderFilesOptions): Promise<string> {
  const pin = DERIVED_MODEL_PINS[fp32.id]?.[kind];
  if (!pin) {
    return Promise.reject(
      new UnavailableError(
        'model-variant-unavailable',
        `Model ${fp32.id} has no pinned ${kind} file in topology/model-variants.ts; use the stock/registry file.`,
        { retriable: false },
      ),
    );
  }
  const target = derivedPath(options.modelsDir ?? cacheDir('models'), fp32.id, kind, pin.sha256);
  let pending = inFlight.get(target);
  if (!pending) {
    pending = derive(fp32, files, kind, pin, target, options.log ?? (() => undefined)).finally(() => inFlight.delete(target));
    inFlight.set(target, pending);
  }
  return pending;
}

async function derive(
  fp32: ModelSpec,
  files: ModelFiles,
  kind: DerivedKind,
  pin: { sha256: string; bytes: number },
  target: string,
  log: (line: string) => void,
): Promise<string> {
  const existing = await stat(target).catch(() => undefined);
  if (existing?.size === pin.bytes) return target;

  const python = await ensureGraphToolsVenv(log);
  log(`Deriving the ${kind} file of ${fp32.id} with onnxruntime's ${kind === 'optimized' ? 'transformer optimizer' : 'quantizer'} (once)…`);
  await mkdir(join(target, '..'), { recursive: true });
  const staging = `${target}.staging-${randomBytes(4).toString('hex')}`;
  try {
    const result = await runCommand(python, [join(GRAPH_TOOLS_DIR, 'derive.py'), ACTIONS[kind], files.onnxPath, staging]);
    if (result.code !== 0)
      throw new UnavailableError(
        'model-derivation-failed',
        `Deriving the ${kind} file of ${fp32.id} failed:\n${result.output.slice(-2000)}`,
        { retriable: false },
      );
    const sha256 = await sha256File(staging);
    if (sha256 !== pin.sha256) {
      throw new RejectedError(
        'model-integrity',
        `Model ${fp32.id}: the ${kind} file derived by infra/models/graph-tools has sha256 ${sha256}, but ` +
          `topology/model-variants.ts pins ${pin.sha256}. The tools' versions (graph-tools/requirements.txt) ` +
          'or the source file changed; re-pin only after checking the new file against the reference vectors.',
      );
    }
    await rename(staging, target);
  } finally {
    await rm(staging, { force: true });
  }
  log(`Model ${fp32.id}: ${kind} file ready in ${target}`);
  return target;
}
