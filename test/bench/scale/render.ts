// Re-renders the table of docs/benchmarks/scale.md and docs/benchmarks/scale.svg from
// test/bench/scale-report.json, after report.ts or plot.ts changed; measures nothing.
// Run: node --import tsx test/bench/scale/render.ts
import { writePlot } from './plot.ts';
import { readReport, writeReport } from './report.ts';

const saved = await readReport();
if (!saved) throw new Error('test/bench/scale-report.json does not exist yet: run npm run bench:scale first');
await writeReport(saved);
await writePlot(saved);
