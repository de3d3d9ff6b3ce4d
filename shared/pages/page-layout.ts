/**
 * The frame of every customer-facing page: one self-contained document (no external assets, so it works behind
 * strict proxies and leaks nothing to third parties), readable on a phone, usable with the keyboard alone.
 */
export const LAYOUT = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{title}} – {{brand.displayName}}</title>
<style nonce="{{nonce}}">
:root { color-scheme: light dark; --accent: #0f6cbd; --error: #b10e1c; --ok: #0e700e; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: Canvas; color: CanvasText; }
header { display: flex; align-items: center; gap: .75rem; padding: 1rem 1.25rem; border-bottom: 1px solid color-mix(in srgb, CanvasText 15%, transparent); }
header img { max-height: 40px; max-width: 160px; }
header span { font-weight: 600; font-size: 1.1rem; }
main { max-width: 40rem; margin: 0 auto; padding: 1.25rem; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
section { border: 1px solid color-mix(in srgb, CanvasText 20%, transparent); border-radius: 8px; padding: 1rem; margin: 1rem 0; }
label { display: block; font-weight: 600; margin: .75rem 0 .25rem; }
input[type=text], input[type=email], input[type=password] { width: 100%; padding: .6rem; font: inherit; border: 1px solid color-mix(in srgb, CanvasText 40%, transparent); border-radius: 4px; background: Field; color: FieldText; }
button, .button { display: inline-block; margin-top: 1rem; padding: .65rem 1.2rem; font: inherit; font-weight: 600; color: #fff; background: var(--accent); border: 0; border-radius: 4px; text-decoration: none; cursor: pointer; }
button.secondary { background: transparent; color: var(--accent); border: 1px solid var(--accent); }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.code { font: 700 1.75rem/1.2 ui-monospace, Consolas, monospace; letter-spacing: .15em; padding: .5rem .75rem; border: 2px dashed var(--accent); border-radius: 6px; display: inline-block; user-select: all; }
.error { color: var(--error); font-weight: 600; }
.ok { color: var(--ok); font-weight: 600; }
.hint { font-size: .9rem; opacity: .85; }
ul.notes { padding-left: 1.25rem; }
footer { max-width: 40rem; margin: 2rem auto; padding: 0 1.25rem; font-size: .85rem; opacity: .8; }
</style>
</head>
<body>
<header>{{#if brand.logoDataUri}}<img src="{{brand.logoDataUri}}" alt="">{{/if}}<span>{{brand.displayName}}</span></header>
<main id="main">
{{{content}}}
</main>
<footer>{{brand.displayName}} · Microsoft Teams Direct Routing</footer>
</body>
</html>
`;
