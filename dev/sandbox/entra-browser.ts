/**
 * A user at the sandbox's Entra ID pages, without a browser: fetch, read the page's form, fill it in, post it,
 * until Entra ID redirects back to the app or stops on a page. For tests of the product's interactive flows.
 */

export type BrowserOutcome =
  | { readonly kind: 'redirect'; readonly location: string }
  /** A page the user cannot get past: `page` is its `data-page` (e.g. `error`, `device-done`). */
  | { readonly kind: 'page'; readonly page: string; readonly html: string; readonly text: string };

export interface BrowserUser {
  readonly username: string;
  readonly password: string;
  /** What to press on the consent page; Accept when omitted. */
  readonly consent?: 'accept' | 'cancel';
  /** For the device code flow's "Enter code" page. */
  readonly userCode?: string;
}

const MAX_STEPS = 10;

export async function browseSignIn(
  fetch: typeof globalThis.fetch,
  startUrl: string,
  user: BrowserUser,
): Promise<BrowserOutcome> {
  let response = await fetch(startUrl, { redirect: 'manual' });
  let url = startUrl;
  let signInTried = false;
  for (let step = 0; step < MAX_STEPS; step++) {
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      return { kind: 'redirect', location: new URL(location, url).toString() };
    }
    const html = await response.text();
    const page = /<body data-page="([^"]+)"/.exec(html)?.[1] ?? 'unknown';
    let fields: Record<string, string>;
    if (page === 'sign-in' && !signInTried) {
      signInTried = true;
      fields = { login: user.username, passwd: user.password };
    } else if (page === 'consent') {
      fields = { action: user.consent ?? 'accept' };
    } else if (page === 'device-code' && user.userCode && step === 0) {
      fields = { otc: user.userCode };
    } else {
      return { kind: 'page', page, html, text: textOf(html) };
    }
    const form = formOf(html);
    if (!form) return { kind: 'page', page, html, text: textOf(html) };
    url = new URL(form.action, url).toString();
    response = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...form.hidden, ...fields }),
    });
  }
  throw new Error(`The sign-in pages did not finish within ${MAX_STEPS} steps.`);
}

/** The page's (first) form: where it posts and its hidden fields. */
function formOf(html: string): { action: string; hidden: Record<string, string> } | null {
  const form = /<form method="post" action="([^"]+)">([\s\S]*?)<\/form>/.exec(html);
  if (!form?.[1]) return null;
  const hidden: Record<string, string> = {};
  for (const input of (form[2] ?? '').matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    if (input[1]) hidden[input[1]] = unescape(input[2] ?? '');
  }
  return { action: unescape(form[1]), hidden };
}

/** The visible text, for assertions on messages. */
function textOf(html: string): string {
  const body = /<main>([\s\S]*)<\/main>/.exec(html)?.[1] ?? html;
  return unescape(body.replace(/<br>/g, '\n').replace(/<[^>]+>/g, ' '))
    .replace(/[ \t]+/g, ' ')
    .trim();
}

function unescape(text: string): string {
  return text.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
}
