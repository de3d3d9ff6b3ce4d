import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type DemoAppRegistration, runDemoOnboarding } from './demo-onboarding.js';

/**
 * `npm run demo:onboard [-- --data-dir DIR]`: onboards the demo customer "Tailwind" through the wizard against the
 * running `npm start` of DIR (default .data), with the demo app registration it printed, and waits for its first
 * replication. It sends what docs/onboarding.md's worked session sends, and prints each request.
 */
const { values: args } = parseArgs({
  options: { 'data-dir': { type: 'string', default: '.data' } },
});
const sessionFile = join(resolve(args['data-dir']), 'local-session.json');
let session: { apiBaseUrl: string; token: string; demoAppRegistration: DemoAppRegistration };
try {
  session = JSON.parse(readFileSync(sessionFile, 'utf8'));
} catch (error) {
  process.stderr.write(`Cannot read ${sessionFile} (is "npm start" running?): ${(error as Error).message}\n`);
  process.exit(1);
}
try {
  const result = await runDemoOnboarding({
    apiBaseUrl: session.apiBaseUrl,
    token: session.token,
    app: session.demoAppRegistration,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(
    `\n${result.customerId} is onboarded (${result.taskState}) and replicated (${result.replicatedUsers} users).\n`,
  );
} catch (error) {
  process.stderr.write(`\n${(error as Error).message}\n`);
  process.exit(1);
}
