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
});
