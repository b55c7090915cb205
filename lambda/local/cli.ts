#!/usr/bin/env node
import { runCli } from './dev-cli';

// Source maps make stack traces of the bundled handlers point to the user's TypeScript.
process.setSourceMapsEnabled(true);

void runCli(process.argv.slice(2)).then((code) => {
  if (code !== undefined) process.exit(code);
});
