import type { Reply } from './router.js';

/**
 * Entra ID's sign-in pages as plain server-rendered HTML: no scripts, no external assets, labelled fields, and
 * the flow's id in a hidden field. `data-page` on the body names the step, for tests that drive the pages.
 */

const STYLE = `body{font-family:"Segoe UI",system-ui,sans-serif;background:#f2f2f2;margin:0}
main{max-width:440px;margin:48px auto;background:#fff;padding:44px;box-shadow:0 2px 6px rgba(0,0,0,.2)}
h1{font-size:1.5rem;font-weight:600;margin:0 0 16px}label{display:block;margin:12px 0 4px}
input[type=text],input[type=email],input[type=password]{width:100%;box-sizing:border-box;padding:6px;font-size:1rem}
button{margin:20px 8px 0 0;padding:6px 20px;font-size:1rem}.primary{background:#0067b8;color:#fff;border:0}
.error{color:#e81123}.trace{font-size:.75rem;color:#666;word-break:break-all}`;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(step: string, title: string, content: string): Reply {
  const html =
    `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>` +
    `<body data-page="${step}"><main>${content}</main></body></html>`;
  return {
    status: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store, no-cache',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
    },
    body: html,
  };
}

function flowField(flowId: string): string {
  return `<input type="hidden" name="flow" value="${escapeHtml(flowId)}">`;
}

function problem(message: string | undefined): string {
  return message ? `<p class="error" role="alert" id="problem">${escapeHtml(message)}</p>` : '';
}

export function signInPage(o: { flowId: string; appName: string; username: string; error?: string }): Reply {
  return page(
    'sign-in',
    'Sign in to your account',
    `<h1>Sign in</h1><p>to continue to ${escapeHtml(o.appName)}</p>${problem(o.error)}` +
      `<form method="post" action="/entra/login">${flowField(o.flowId)}` +
      `<label for="login">Email, phone, or Skype</label>` +
      `<input type="email" id="login" name="login" autocomplete="username" required value="${escapeHtml(o.username)}"` +
      `${o.error ? ' aria-describedby="problem"' : ''}>` +
      `<label for="passwd">Password</label>` +
      `<input type="password" id="passwd" name="passwd" autocomplete="current-password" required>` +
      `<button type="submit" class="primary">Sign in</button></form>`,
  );
}

export function consentPage(o: {
  flowId: string;
  appName: string;
  username: string;
  permissions: readonly string[];
  forOrganization: boolean;
}): Reply {
  const items = o.permissions.map((p) => `<li>${escapeHtml(p)}</li>`).join('');
  return page(
    'consent',
    'Permissions requested',
    `<p>${escapeHtml(o.username)}</p><h1>Permissions requested</h1>` +
      `<p><strong>${escapeHtml(o.appName)}</strong></p>` +
      `<p>This app would like to:</p><ul aria-label="Requested permissions">${items}</ul>` +
      (o.forOrganization
        ? '<p>If you accept, this app will get access to the specified resources for all users in your organization.</p>'
        : '') +
      `<form method="post" action="/entra/consent">${flowField(o.flowId)}` +
      `<button type="submit" name="action" value="accept" class="primary">Accept</button>` +
      `<button type="submit" name="action" value="cancel">Cancel</button></form>`,
  );
}

/** AADSTS90094: the signed-in user may not consent; the app can still be told so. */
export function adminApprovalPage(o: {
  flowId: string;
  appName: string;
  message: string;
  canReturn: boolean;
}): Reply {
  return page(
    'need-admin-approval',
    'Need admin approval',
    `<h1>Need admin approval</h1><p>${escapeHtml(o.appName)}</p>${problem(o.message)}` +
      (o.canReturn
        ? `<form method="post" action="/entra/consent">${flowField(o.flowId)}` +
          `<button type="submit" name="action" value="cancel">Return to the application without granting consent</button></form>`
        : ''),
  );
}

export function deviceCodePage(o: { error?: string } = {}): Reply {
  return page(
    'device-code',
    'Enter code',
    `<h1>Enter code</h1><p>Enter the code displayed on your app or device.</p>${problem(o.error)}` +
      `<form method="post" action="/entra/devicelogin"><label for="otc">Code</label>` +
      `<input type="text" id="otc" name="otc" autocomplete="off" required maxlength="20">` +
      `<button type="submit" class="primary">Next</button></form>`,
  );
}

export function deviceDonePage(o: { appName: string; approved: boolean }): Reply {
  return o.approved
    ? page(
        'device-done',
        'Signed in',
        `<h1>${escapeHtml(o.appName)}</h1><p>You have signed in to the ${escapeHtml(o.appName)} application on ` +
          'your device. You may now close this window.</p>',
      )
    : page(
        'device-declined',
        'Sign-in declined',
        `<h1>${escapeHtml(o.appName)}</h1><p>You have declined to sign in to the ${escapeHtml(o.appName)} ` +
          'application on your device. You may now close this window.</p>',
      );
}

/** Entra ID's "Sorry, but we're having trouble signing you in" page, for errors it cannot redirect. */
export function errorPage(o: {
  code: number;
  message: string;
  trace: { traceId: string; correlationId: string; timestamp: string };
}): Reply {
  return page(
    'error',
    'Sign in error',
    `<h1>Sorry, but we're having trouble signing you in.</h1>` +
      `<p class="error" role="alert" data-aadsts="${o.code}">AADSTS${o.code}: ${escapeHtml(o.message)}</p>` +
      `<p class="trace">Trace ID: ${escapeHtml(o.trace.traceId)}<br>Correlation ID: ` +
      `${escapeHtml(o.trace.correlationId)}<br>Timestamp: ${escapeHtml(o.trace.timestamp)}</p>`,
  );
}
