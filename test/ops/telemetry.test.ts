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
    const other = tracer.startSpan('GET', {
      attributes: { 'url.full': 'https://drh.example.net/api/v1/customers?top=5' },
    });
    const recorded = (span: unknown) => {
      const { attributes, name } = span as { attributes: unknown; name: string };
      return JSON.stringify({ name, attributes });
    };
    for (const span of [callback, link]) {
      expect(recorded(span)).not.toMatch(/AAAA-secret|state=s1|Q2xpY2stbWU|OAuth2Callback/);
      expect(recorded(span)).toContain('/authenticate/[removed]');
    }
    expect(recorded(other)).toContain('/api/v1/customers?top=5');
    for (const span of [callback, link, other]) span.end();
  });
});
