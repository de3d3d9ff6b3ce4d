import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { shutdownAzureMonitor } from '@azure/monitor-opentelemetry';
import { trace } from '@opentelemetry/api';
import { afterAll, describe, expect, it } from 'vitest';
import { startTelemetry } from '../../functions/telemetry.js';

// Its last export goes to the unreachable endpoint and fails; that is the exporter's business, not this test's.
afterAll(() => shutdownAzureMonitor().catch(() => undefined));

describe('OpenTelemetry', () => {
  it('stays off without an Application Insights connection string: spans are not recorded', () => {
    expect(startTelemetry({})).toBe('off');
    expect(startTelemetry({ APPLICATIONINSIGHTS_CONNECTION_STRING: '  ' })).toBe('off');
    const span = trace.getTracer('direct-routing-hub-test').startSpan('before');
    expect(span.isRecording()).toBe(false);
    span.end();
  });

  it('records spans for Application Insights once its connection string is set', () => {
    // Sample everything: the default rate-limited sampler may leave out the first span of a cold process.
    process.env.OTEL_TRACES_SAMPLER = 'always_on';
    const mode = startTelemetry({
      // An unreachable ingestion endpoint: the spans are recorded and batched; sending them is the exporter's job.
      APPLICATIONINSIGHTS_CONNECTION_STRING:
        'InstrumentationKey=00000000-0000-4000-8000-000000000000;IngestionEndpoint=https://127.0.0.1:9/',
    });
    expect(mode).toBe('azure-monitor');
    const span = trace.getTracer('direct-routing-hub-test').startSpan('after');
    expect(span.isRecording()).toBe(true);
    span.end();
  });

  it('keeps no invitation link or OAuth code in a span about /authenticate/*', () => {
    // Runs after the test above has started the distro.
    const tracer = trace.getTracer('direct-routing-hub-test');
    const callback = tracer.startSpan('GET /authenticate/OAuth2Callback', {
      attributes: {
        'url.full': 'https://drh.example.net/authenticate/OAuth2Callback?code=0.AAAA-secret&state=s1',
        'url.path': '/authenticate/OAuth2Callback',
        'url.query': 'code=0.AAAA-secret&state=s1',
        'http.target': '/authenticate/OAuth2Callback?code=0.AAAA-secret&state=s1',
      },
    });
    const link = tracer.startSpan('GET', {
      attributes: { 'http.url': 'https://drh.example.net/authenticate/Q2xpY2stbWU' },
    });
    // The wizard's one-time Sign in now link: its token starts a sign-in.
    const launch = tracer.startSpan('GET /authenticate/launch/TGF1bmNoLXRva2Vu', {
      attributes: { 'url.path': '/authenticate/launch/TGF1bmNoLXRva2Vu' },
    });
    const other = tracer.startSpan('GET', {
      attributes: { 'url.full': 'https://drh.example.net/api/v1/customers?top=5' },
    });
    const recorded = (span: unknown) => {
      const { attributes, name } = span as { attributes: unknown; name: string };
      return JSON.stringify({ name, attributes });
    };
    for (const span of [callback, link, launch]) {
      expect(recorded(span)).not.toMatch(/AAAA-secret|state=s1|Q2xpY2stbWU|OAuth2Callback|TGF1bmNoLXRva2Vu/);
      expect(recorded(span)).toContain('/authenticate/[removed]');
    }
    expect(recorded(other)).toContain('/api/v1/customers?top=5');
    for (const span of [callback, link, launch, other]) span.end();
  });
});

describe("the Functions host's own request telemetry (host.json)", () => {
  const host = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'host.json'), 'utf8')) as {
    logging: { applicationInsights: { httpAutoCollectionOptions?: Record<string, boolean> } };
  };

  it('records no HTTP path or response of a trigger in the Application Insights mode', () => {
    // The host's request telemetry would carry /authenticate/{linkId} and the callback's query (the worker's span
    // processor cannot reach the host's telemetry). This is the host's mode whenever
    // AzureFunctionsJobHost__telemetryMode is not OpenTelemetry, e.g. an app deployed without infra/main.bicep.
    expect(host.logging.applicationInsights.httpAutoCollectionOptions).toMatchObject({
      enableHttpTriggerExtendedInfoCollection: false,
      // Nothing of ours in the response headers either; correlation still works through traceparent.
      enableResponseHeaderInjection: false,
      enableW3CDistributedTracing: true,
    });
  });
});
