#!/usr/bin/env node
// The published CLI runs the compiled code; in the repository use `npx tsx src/cli/main.ts`.
import '../dist/cli/main.js';
