import { randomBytes } from 'node:crypto';
import type { HttpResponseInit } from '@azure/functions';
import type Handlebars from 'handlebars';
import type { WhiteLabel } from '../provider/provider-settings.js';
import { LAYOUT } from './page-layout.js';
import { lazyRequire, once } from '../platform/lazy.js';

/** The provider's white label as a page shows it. */
export interface Brand {
  readonly displayName: string;
  readonly logoDataUri: string | null;
}

export function brandOf(whiteLabel: WhiteLabel): Brand {
  return {
    displayName: whiteLabel.displayName,
    logoDataUri: whiteLabel.logo
      ? `data:${whiteLabel.logo.contentType};base64,${whiteLabel.logo.base64}`
      : null,
  };
}

export interface PageOptions {
  readonly title: string;
  readonly brand: Brand;
  readonly status?: number;
  /** Origins a form on the page may end up at after redirects (Microsoft's sign-in page); CSP checks them. */
  readonly formTargets?: readonly string[];
}

// Handlebars loads with the first page rendered, not at start-up (docs/decisions.md, 82).
const handlebarsApi = lazyRequire<typeof Handlebars>('handlebars');
const handlebars = once(() => {
  const pages = handlebarsApi().create();
  // For values placed inside <script>: JSON with the characters that could end the script element escaped.
  pages.registerHelper('json', (value: unknown) =>
    JSON.stringify(value ?? null)
      .replace(/</g, '\\u003c')
      .replace(/>/g, '\\u003e')
      .replace(/&/g, '\\u0026')
      .replace(/\u2028/g, '\\u2028')
      .replace(/\u2029/g, '\\u2029'),
  );
  return pages;
});

const compiled = new Map<string, Handlebars.TemplateDelegate>();
const compile = (template: string) => {
  let found = compiled.get(template);
  if (!found) {
    found = handlebars().compile(template, { strict: false, noEscape: false });
    compiled.set(template, found);
  }
  return found;
};

/**
 * Renders a page into a response with the headers every customer-facing page carries: a nonce-based CSP that
 * allows nothing from elsewhere, no caching (the pages show codes and state), no referrer (the URL holds the
 * invitation link), no framing.
 */
export function renderPage(
  template: string,
  data: Record<string, unknown>,
  options: PageOptions,
): HttpResponseInit {
  const nonce = randomBytes(16).toString('base64');
  const context = { ...data, brand: options.brand, nonce };
  const content = compile(template)(context);
  const body = compile(LAYOUT)({ ...context, title: options.title, content });
  const formAction = ["'self'", ...(options.formTargets ?? [])].join(' ');
  return {
    status: options.status ?? 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; img-src data:; connect-src 'self'; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
    },
    body,
  };
}

/** A 303 to the next page of a flow, with the same caching and referrer rules. */
export function redirectTo(location: string): HttpResponseInit {
  return {
    status: 303,
    headers: { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' },
  };
}
