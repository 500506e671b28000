#!/usr/bin/env node
// The `searchbus` executable: runs the TypeScript sources directly through tsx, so a clone needs
// no build step.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
