import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scrubUrl } from '../../shared/platform/telemetry-scrub.js';

/**
 * The Functions host's own request span and logs (OpenTelemetry mode) pass through no span processor of ours; the
 * workspace transformation rule of infra/modules/credential-path-transforms.bicep rewrites them as Log Analytics
 * ingests them. These tests read the rule as Azure receives it (the compiled template) and run its queries on the
 * records the host would send.
 */
interface Resource {
  type: string;
  name: string;
  kind?: string;
  properties: Record<string, unknown> & {
    template?: Template;
    parameters?: Record<string, { value: unknown }>;
  };
}
interface Template {
  variables: Record<string, unknown>;
  resources: Resource[];
}
const template = JSON.parse(
  readFileSync(join(import.meta.dirname, 'compiled', 'main.json'), 'utf8'),
) as Template;
const deployment = template.resources.find(
  (r) => r.type === 'Microsoft.Resources/deployments' && r.name.includes("'credential-path-transforms-{0}'"),
);
const inner = deployment?.properties.template;
const rule = inner?.resources.find((r) => r.type === 'Microsoft.Insights/dataCollectionRules');
const flows = (rule?.properties.dataFlows ?? []) as { streams: string[]; transformKql: string }[];

/** The query of a stream, with the `[variables('…')]` reference resolved as ARM does. */
function queryOf(stream: string): string {
  const flow = flows.find((f) => f.streams.includes(stream));
  const reference = /^\[variables\('(\w+)'\)\]$/.exec(flow?.transformKql ?? '');
  const query = reference ? inner?.variables[reference[1] as string] : flow?.transformKql;
  if (typeof query !== 'string') throw new Error(`No transformation for ${stream}`);
  return query;
}

type Row = Record<string, unknown>;

/** KQL's replace_regex (RE2, every match) in JavaScript: the inline `(?i)` becomes the `i` flag. */
function replaceRegex(value: string, pattern: string, replacement: string): string {
  const insensitive = pattern.startsWith('(?i)');
  const source = insensitive ? pattern.slice(4) : pattern;
  return value.replace(new RegExp(source, insensitive ? 'gi' : 'g'), () => replacement);
}

const STRING_COLUMN = /^\| extend (\w+) = replace_regex\((\w+), @'([^']*)', '([^']*)'\)$/;
const DYNAMIC_COLUMN =
  /^\| extend (\w+) = parse_json\(replace_regex\(tostring\((\w+)\), @'([^']*)', '([^']*)'\)\)$/;

/**
 * Runs the query on one record. Only the statements the rule uses are understood; any other fails the test, so a
 * change to the query is either covered here or noticed.
 */
function transform(query: string, record: Row): Row {
  const [first, ...statements] = query.trim().split('\n');
  expect(first).toBe('source');
  const row: Row = { ...record };
  for (const statement of statements) {
    const plain = STRING_COLUMN.exec(statement);
    const dynamic = DYNAMIC_COLUMN.exec(statement);
    const match = plain ?? dynamic;
    if (!match) throw new Error(`A statement this test does not understand: ${statement}`);
    const [, target, column, pattern, replacement] = match as unknown as [
      string,
      string,
      string,
      string,
      string,
    ];
    expect(target).toBe(column);
    const value = row[column];
    if (plain) {
      if (typeof value === 'string') row[target] = replaceRegex(value, pattern, replacement);
    } else {
      row[target] = JSON.parse(replaceRegex(JSON.stringify(value ?? {}), pattern, replacement));
    }
  }
  return row;
}

const LINK = 'k7Q2vX9pL0mN4rT8wY1zA3bC5dE6fG';
const host = 'https://func-drh-prod.azurewebsites.net';
const credentialPaths = [
  `/authenticate/${LINK}`,
  `/api/authenticate/${LINK}`,
  `/authenticate/launch/${LINK}`,
  `/authenticate/callback?code=${LINK}&state=${LINK}`,
  `/Authenticate/${LINK}/consent`,
];
const harmlessPaths = ['/api/v1/customers/Contoso', '/api/v1/invitations', '/api/v1/authentication-settings'];

function requestRecord(path: string): Row {
  return {
    Url: `${host}${path}`,
    Name: `GET ${path.split('?')[0]}`,
    OperationName: `GET ${path.split('?')[0]}`,
    Properties: {
      'url.path': path.split('?')[0],
      'url.full': `${host}${path}`,
      'http.request.method': 'GET',
    },
  };
}

describe('the workspace transformation rule that keeps invitation links out of Application Insights', () => {
  it('is a WorkspaceTransforms rule for the host requests and traces, and becomes the workspace default', () => {
    expect(rule?.kind).toBe('WorkspaceTransforms');
    expect(flows.flatMap((f) => f.streams).sort()).toEqual([
      'Microsoft-Table-AppRequests',
      'Microsoft-Table-AppTraces',
    ]);
    const workspace = inner?.resources.find((r) => r.type === 'Microsoft.OperationalInsights/workspaces');
    expect(workspace?.properties.defaultDataCollectionRuleResourceId).toMatch(/dataCollectionRules/);
    // Re-putting the workspace keeps the settings main.bicep gives it.
    const logs = template.resources.find((r) => r.type === 'Microsoft.OperationalInsights/workspaces');
    expect(logs?.properties).toMatchObject({
      sku: { name: "[variables('logsSku')]" },
      retentionInDays: "[variables('logsRetentionDays')]",
    });
    expect(deployment?.properties.parameters).toMatchObject({
      workspaceName: { value: "[variables('logsName')]" },
      sku: { value: "[variables('logsSku')]" },
      retentionInDays: { value: "[variables('logsRetentionDays')]" },
    });
  });

  it.each(credentialPaths)('stores a host request span for %s with no trace of the credential', (path) => {
    const stored = transform(queryOf('Microsoft-Table-AppRequests'), requestRecord(path));
    expect(JSON.stringify(stored)).not.toContain(LINK);
    expect(stored.Url).toBe(`${host}/authenticate/[removed]`);
    expect(stored.Name).toBe('GET /authenticate/[removed]');
    expect(stored.Properties).toMatchObject({
      'url.path': '/authenticate/[removed]',
      'http.request.method': 'GET',
    });
    // The worker's own scrubber removes the same requests.
    expect(scrubUrl(`${host}${path}`)).not.toBeNull();
  });

  it.each(harmlessPaths)('leaves the request span for %s as the host sent it', (path) => {
    const record = requestRecord(path);
    expect(transform(queryOf('Microsoft-Table-AppRequests'), record)).toEqual(record);
    expect(scrubUrl(`${host}${path}`)).toBeNull();
  });

  it("removes the credential from the host's log lines, and keeps the rest of the line", () => {
    const query = queryOf('Microsoft-Table-AppTraces');
    const stored = transform(query, {
      Message: `Request starting HTTP/1.1 GET ${host}/api/authenticate/${LINK} - - -`,
      OperationName: `GET /api/authenticate/${LINK}`,
      Properties: {
        RequestPath: `/api/authenticate/${LINK}`,
        Category: 'Microsoft.AspNetCore.Hosting.Diagnostics',
      },
    });
    expect(JSON.stringify(stored)).not.toContain(LINK);
    expect(stored.Message).toBe(`Request starting HTTP/1.1 GET ${host}/authenticate/[removed] - - -`);
    expect(stored.Properties).toMatchObject({ Category: 'Microsoft.AspNetCore.Hosting.Diagnostics' });
    const harmless = {
      Message: "Executing 'Functions.customers-get'",
      OperationName: 'GET /api/v1/customers',
      Properties: { Category: 'Host.Function' },
    };
    expect(transform(query, harmless)).toEqual(harmless);
  });
});
