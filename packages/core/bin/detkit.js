#!/usr/bin/env node
// The `detkit` command. This file is committed (not built) so npm can link it into
// node_modules/.bin during install, before `prepare` has built dist/.
import { runCli } from '../dist/cli/main.js';

process.exit(await runCli(process.argv.slice(2)));
