/**
 * The customer admin's pages of the consent flow. Texts follow the manual's invitation wizard ("Start
 * authentication", "Use App Registration", "Application Registration is valid", the final "Thank you!").
 */

const NOTES = `<ul class="notes">
<li>The Authentication process will run against your Microsoft M365 Tenant, we will not know or save your password.</li>
<li>Revoke Token Authentication: you are able to revoke the authentication at any time. Revoking the authentication will stop the service.</li>
</ul>`;

export const WELCOME = `<h1>Welcome {{customerId}}</h1>
<p>{{brand.displayName}} asks you, the Microsoft 365 administrator of <strong>{{fullName}}</strong>, to connect your tenant so that Microsoft Teams Direct Routing can be set up for you. This invitation is valid until {{expiresAt}}.</p>
${NOTES}
<section aria-labelledby="token-heading">
<h2 id="token-heading">Authenticate with your Microsoft 365 administrator account</h2>
{{#if deviceError}}<p class="error" role="alert">{{deviceError}}</p>{{/if}}
{{#if deviceErrorCode}}<p class="hint">Error code: <code>{{deviceErrorCode}}</code></p>{{/if}}
{{#if deviceCode}}
<form method="post" action="{{base}}/device">
<input type="hidden" name="csrf" value="{{csrf}}">
<label for="m365AdminEmail">M365 admin username</label>
<input type="email" id="m365AdminEmail" name="m365AdminEmail" value="{{m365AdminEmail}}" autocomplete="username" required aria-describedby="m365-hint">
<p class="hint" id="m365-hint">A Global Administrator (or Teams Administrator) of your tenant. You will get a code to enter at Microsoft.</p>
<button type="submit">Start authentication</button>
</form>
<form method="post" action="{{base}}/sign-in">
<input type="hidden" name="csrf" value="{{csrf}}">
<button type="submit" class="secondary">Sign in with Microsoft in this browser instead</button>
</form>
{{else}}
<p class="hint">Sign in at Microsoft with a Global Administrator (or Teams Administrator) of your tenant, in this browser, and accept the permissions requested.</p>
<form method="post" action="{{base}}/sign-in">
<input type="hidden" name="csrf" value="{{csrf}}">
<button type="submit">Sign in with Microsoft</button>
</form>
{{/if}}
</section>
<section aria-labelledby="app-heading">
<h2 id="app-heading">Use App Registration</h2>
<p class="hint">If you created an app registration for {{brand.displayName}} in your tenant, enter its details instead.</p>
{{#if appError}}<p class="error" role="alert">{{appError}}</p>{{/if}}
<form method="post" action="{{base}}/app-registration" autocomplete="off">
<input type="hidden" name="csrf" value="{{csrf}}">
<label for="tenantId">Customer Microsoft Tenant ID</label>
<input type="text" id="tenantId" name="tenantId" value="{{tenantId}}" required inputmode="text" spellcheck="false">
<label for="clientId">Application (Client) ID</label>
<input type="text" id="clientId" name="clientId" value="{{clientId}}" required spellcheck="false">
<label for="clientSecret">Client Secret</label>
<input type="password" id="clientSecret" name="clientSecret" required autocomplete="new-password">
<button type="submit">Start authentication</button>
</form>
</section>`;

export const DEVICE_CODE = `<h1>{{stepTitle}}</h1>
<p>{{stepIntro}}</p>
<p>To sign in, use a web browser to open the page <a href="{{verificationUri}}" target="_blank" rel="noopener noreferrer">{{verificationUri}}</a> and enter the code below to authenticate.</p>
<p><span class="code" id="user-code">{{userCode}}</span> <button type="button" class="secondary" id="copy" hidden>Copy code</button></p>
<p id="status" role="status" aria-live="polite">Waiting for you to sign in at Microsoft… The code is valid until {{expiresAt}}.</p>
<form method="get" action="{{flowUrl}}">
<button type="submit">I have signed in – continue</button>
</form>
<script nonce="{{nonce}}">
(() => {
  const copy = document.getElementById('copy');
  if (navigator.clipboard) {
    copy.hidden = false;
    copy.addEventListener('click', () => navigator.clipboard.writeText({{{json userCode}}}).then(() => { copy.textContent = 'Copied'; }));
  }
  const status = document.getElementById('status');
  const step = {{{json step}}};
  const poll = () => fetch({{{json statusUrl}}}, { headers: { accept: 'application/json' } })
    .then((r) => r.json())
    .then((s) => {
      if (s.status === 'pending' && s.step === step) { setTimeout(poll, s.intervalSeconds * 1000); return; }
      location.assign({{{json flowUrl}}});
    })
    .catch(() => { status.textContent = 'Lost contact with the server; retrying…'; setTimeout(poll, 10000); });
  setTimeout(poll, {{intervalMs}});
})();
</script>`;

/** The tenant and account a consent connected, as Microsoft and Graph name them (never what was typed). */
const CONNECTED = `<dl class="connected">
<dt>Microsoft 365 tenant</dt><dd id="tenant-name">{{#if signedIn.tenantDisplayName}}{{signedIn.tenantDisplayName}}{{else}}{{signedIn.tenantId}}{{/if}}</dd>
{{#if signedIn.initialDomain}}<dt>Initial domain</dt><dd id="tenant-domain">{{signedIn.initialDomain}}</dd>{{/if}}
{{#if signedIn.username}}<dt>Signed in as</dt><dd id="signed-in-as">{{signedIn.username}}</dd>{{/if}}
</dl>`;

export const THANK_YOU = `<h1>Thank you!</h1>
{{#if appRegistrationValid}}<p class="ok" role="status">Application Registration is valid</p>{{/if}}
{{#if signedIn}}${CONNECTED}{{/if}}
<p>Thank you! You may close this window. Service provider will contact you when service is ready for operation</p>`;

export const WIZARD_SIGNED_IN = `<h1>Authentication complete</h1>
<p class="ok" role="status">The Microsoft 365 tenant {{tenant}} is connected.</p>
{{#if signedIn}}${CONNECTED}{{/if}}
<p>You may close this window and continue in the onboarding wizard.</p>`;

export const MESSAGE = `<h1>{{heading}}</h1>
<p{{#if isError}} class="error" role="alert"{{/if}}>{{message}}</p>
{{#if advice}}<p>{{advice}}</p>{{/if}}
{{#if code}}<p class="hint">Error code: <code>{{code}}</code></p>{{/if}}
{{#if retryUrl}}<p><a class="button" href="{{retryUrl}}">Try again</a></p>{{/if}}`;
