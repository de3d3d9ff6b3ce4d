import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { productLog } from '../platform/product-log.js';
import type { ProblemCode } from '../errors/problem-codes.js';
import type { z } from 'zod';
import { problemOfDomainError } from './problem-mapper.js';
import type { HttpFunctionDefinition, HttpMethod } from '../platform/function-definitions.js';
import type { ProviderSettingsService } from '../provider/provider-settings-service.js';
import { MESSAGE } from '../pages/consent-templates.js';
import { type Brand, brandOf, renderPage } from '../pages/page-renderer.js';

export interface PageInput {
  readonly request: HttpRequest;
  readonly context: InvocationContext;
  readonly params: Readonly<Record<string, string>>;
  readonly brand: Brand;
}

export interface PageSpec {
  readonly name: string;
  readonly methods: readonly HttpMethod[];
  readonly route: string;
  readonly handler: (input: PageInput) => Promise<HttpResponseInit>;
}

/** A form post larger than this is not one of ours. */
export const MAX_FORM_BYTES = 16 * 1024;

export function messagePage(
  brand: Brand,
  status: number,
  content: {
    heading: string;
    message: string;
    advice?: string | undefined;
    retryUrl?: string;
    /** A stable code for a refusal, shown under the text (support can search for it). */
    code?: ProblemCode;
  },
): HttpResponseInit {
  return renderPage(
    MESSAGE,
    { ...content, isError: status >= 400 },
    { title: content.heading, brand, status },
  );
}

/**
 * A server-rendered page for people, not programs: every failure becomes a page that says what happened and
 * what to do, never a stack trace or a JSON problem.
 */
/** What every page needs besides its handler's own: the provider's white label for its frame. */
export interface PageEdge {
  readonly providerSettings: Pick<ProviderSettingsService, 'whiteLabel'>;
}

export function definePage(edge: PageEdge, spec: PageSpec): HttpFunctionDefinition {
  return {
    kind: 'http',
    name: spec.name,
    methods: spec.methods,
    route: spec.route,
    async handler(request, context) {
      let brand: Brand = { displayName: 'Direct Routing Hub', logoDataUri: null };
      try {
        brand = brandOf(await edge.providerSettings.whiteLabel());
        return await spec.handler({ request, context, params: request.params, brand });
      } catch (error) {
        const mapped = problemOfDomainError(error);
        if (mapped) {
          const { problem } = mapped;
          return messagePage(brand, problem.status, {
            heading: problem.status === 409 ? 'Not ready yet' : problem.title,
            message: problem.detail ?? problem.title,
            advice:
              problem.code === 'prerequisite_missing'
                ? 'The service provider has not finished setting up authentication. Please contact them.'
                : undefined,
          });
        }
        productLog(
          context,
          'error',
          `Page ${spec.name} failed: ${error instanceof Error ? error.name : 'error'}`,
        );
        return messagePage(brand, 503, {
          heading: 'Temporarily unavailable',
          message: 'Something went wrong on our side. Nothing was lost; try again in a few minutes.',
        });
      }
    },
  };
}

export type FormResult<T> =
  | { readonly ok: true; readonly data: T }
  | { readonly ok: false; readonly status: number; readonly message: string };

/** Reads an HTML form post: the right content type, a sane size, and fields that pass the schema. */
export async function readForm<S extends z.ZodType>(
  request: HttpRequest,
  schema: S,
): Promise<FormResult<z.output<S>>> {
  const type = request.headers.get('content-type') ?? '';
  if (!type.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    return { ok: false, status: 415, message: 'This page accepts only its own form.' };
  }
  const length = Number(request.headers.get('content-length') ?? '0');
  if (length > MAX_FORM_BYTES) return { ok: false, status: 413, message: 'The form is too large.' };
  const text = await request.text();
  if (Buffer.byteLength(text) > MAX_FORM_BYTES)
    return { ok: false, status: 413, message: 'The form is too large.' };
  const fields = Object.fromEntries(new URLSearchParams(text));
  const parsed = schema.safeParse(fields);
  if (!parsed.success) {
    return { ok: false, status: 400, message: parsed.error.issues.map((issue) => issue.message).join(' ') };
  }
  return { ok: true, data: parsed.data };
}

/**
 * A post must come from our own page: the browser's Origin (when sent) is our public origin and the form carries
 * the tag we signed for this link. Cross-site posts fail both.
 */
export function sameSite(request: HttpRequest, publicBaseUrl: string): boolean {
  const origin = request.headers.get('origin');
  if (origin && origin !== 'null' && origin !== new URL(publicBaseUrl).origin) return false;
  return request.headers.get('sec-fetch-site') !== 'cross-site';
}
