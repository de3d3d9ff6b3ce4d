// azd's preprovision hook (azure.yaml): checks the azd environment's values before anything reaches Azure, and
// creates the one value a deployer should never type, SECRETS_ENCRYPTION_KEY. Plain Node with no dependencies: it
// runs before the project is restored or built, on Windows (pwsh) as on Linux and macOS (sh).
//
// azd hands the environment's values to hooks as environment variables. AZD_BINARY (tests) replaces `azd`.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

/** @param {Record<string, string | undefined>} env */
export function problemsOf(env) {
  /** @type {string[]} */
  const problems = [];
  const value = (name) => (env[name] ?? '').trim();

  if (!GUID.test(value('API_TENANT_ID'))) {
    problems.push(
      "API_TENANT_ID must be the tenant id (a GUID) of the Entra tenant that issues the portal's tokens: azd env set API_TENANT_ID <guid>",
    );
  }
  if (value('API_AUDIENCE') === '') {
    problems.push(
      "API_AUDIENCE must be the API app registration's Application ID URI: azd env set API_AUDIENCE api://direct-routing-hub",
    );
  }
  const key = value('SECRETS_ENCRYPTION_KEY');
  if (key !== '' && !(/^[A-Za-z0-9+/]{43}=$/.test(key) && Buffer.from(key, 'base64').length === 32)) {
    problems.push(
      'SECRETS_ENCRYPTION_KEY must be 32 random bytes, base64-encoded (44 characters ending in "="). ' +
        'If secrets were already sealed with another key, set that key back; otherwise unset it and a new one is made.',
    );
  }
  for (const name of ['LICENSE_TENANT_COUNT', 'LICENSE_USER_COUNT']) {
    if (value(name) !== '' && !/^\d+$/.test(value(name))) problems.push(`${name} must be a whole number`);
  }
  const expires = value('LICENSE_EXPIRES');
  if (expires !== '' && !(/^\d{4}-\d{2}-\d{2}$/.test(expires) && !Number.isNaN(Date.parse(expires)))) {
    problems.push('LICENSE_EXPIRES must be a date, YYYY-MM-DD');
  }
  const customDomain = value('CUSTOM_DOMAIN_NAME');
  if (customDomain !== '' && !HOST_NAME.test(customDomain)) {
    problems.push(
      'CUSTOM_DOMAIN_NAME must be a host name such as hub.voice.example.com (no scheme, no path)',
    );
  }
  const publicBaseUrl = value('PUBLIC_BASE_URL');
  if (publicBaseUrl !== '') {
    if (customDomain !== '') {
      problems.push(
        'Set CUSTOM_DOMAIN_NAME (bound to the app here) or PUBLIC_BASE_URL (something in front of the app), not both',
      );
    } else if (!/^https:\/\/[^/]+$/i.test(publicBaseUrl.replace(/\/+$/, ''))) {
      problems.push('PUBLIC_BASE_URL must be an https:// origin such as https://hub.voice.example.com');
    }
  }
  const origins = value('API_CORS_ALLOWED_ORIGINS');
  if (origins !== '' && origins !== '*') {
    for (const origin of origins.split(',').map((o) => o.trim())) {
      // http only for a developer's local portal, as the app's own check allows.
      if (!/^(https:\/\/[a-z0-9.-]+|http:\/\/(localhost|127\.0\.0\.1|\[::1\]))(:\d+)?$/i.test(origin)) {
        problems.push(
          `API_CORS_ALLOWED_ORIGINS: "${origin}" is not an origin; write it as the browser sends it, such as https://portal.example.com (no path, no trailing slash)`,
        );
      }
    }
  }
  const dnsZone = value('DNS_ZONE_NAME');
  if (dnsZone !== '' && !HOST_NAME.test(dnsZone)) {
    problems.push('DNS_ZONE_NAME must be the name of an existing Azure DNS zone such as voice.example.com');
  }
  if (value('DNS_ZONE_RESOURCE_GROUP') !== '' && dnsZone === '') {
    problems.push('DNS_ZONE_RESOURCE_GROUP is set without DNS_ZONE_NAME');
  }
  return problems;
}

function main() {
  const problems = problemsOf(process.env);
  if (problems.length > 0) {
    console.error(`The azd environment is not ready to deploy (${problems.length}):`);
    for (const problem of problems) console.error(`  - ${problem}`);
    process.exit(1);
  }
  if ((process.env.SECRETS_ENCRYPTION_KEY ?? '').trim() === '') {
    const azd = process.env.AZD_BINARY ?? 'azd';
    // The value travels as an argument, never through a shell or the console.
    const result = spawnSync(
      azd,
      ['env', 'set', 'SECRETS_ENCRYPTION_KEY', randomBytes(32).toString('base64')],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    if (result.status !== 0) {
      console.error(
        `Could not store a new SECRETS_ENCRYPTION_KEY with "${azd} env set" (${result.error?.message ?? `exit ${result.status}`})`,
      );
      process.exit(1);
    }
    console.log(
      'Made a new SECRETS_ENCRYPTION_KEY and stored it in the azd environment (.azure/<environment>/.env) and, ' +
        'at provisioning, in Key Vault. Keep a copy somewhere safe: without it the sealed secrets cannot be read.',
    );
  }
  console.log('The azd environment is ready to deploy.');
}

// Run as a script (the hook); imported (tests), it only exports the checks.
if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) main();
