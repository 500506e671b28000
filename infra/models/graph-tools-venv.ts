// The Python venv that holds onnxruntime's offline transformer optimizer and quantizer. It is only
// needed by `searchbus setup` (derived model files are made once and cached); the encoder itself
// runs on onnxruntime-node.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePythonVenv } from '../local/index.ts';

export const GRAPH_TOOLS_DIR = fileURLToPath(new URL('./graph-tools/', import.meta.url));
const REQUIREMENTS = join(GRAPH_TOOLS_DIR, 'requirements.txt');

/** Returns the venv's python, installing the pinned requirements once (keyed by their hash). */
export function ensureGraphToolsVenv(log: (line: string) => void = () => undefined): Promise<string> {
  return ensurePythonVenv('graph-tools', REQUIREMENTS, log);
}
