import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { TrustedTransport } from './trusted-transport.js';

/** The part of every Azure SDK client's options (`CommonClientOptions`) that carries extra pipeline policies. */
export interface AzureSdkTransportOptions {
  readonly additionalPolicies: Array<{ policy: PipelinePolicy; position: 'perCall' | 'perRetry' }>;
}

/**
 * Options to spread into an Azure SDK client's options (`@azure/identity` credentials, `@azure/arm-dns`, ...)
 * so that its requests go through the transport's https agent and so trust the configured CA.
 *
 * An agent that a proxy policy already set is kept: replacing it would silently bypass the proxy.
 */
export function azureSdkOptions(transport: TrustedTransport): AzureSdkTransportOptions {
  const policy: PipelinePolicy = {
    name: 'trustedTransportAgent',
    sendRequest(request, next) {
      request.agent ??= transport.httpsAgent;
      return next(request);
    },
  };
  return { additionalPolicies: [{ policy, position: 'perCall' }] };
}
