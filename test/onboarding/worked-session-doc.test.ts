import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEMO_ONBOARDING_PAGES } from '../../dev/demo-onboarding.js';

const doc = readFileSync('docs/onboarding.md', 'utf8');
const section = doc.slice(doc.indexOf('## A worked session'), doc.indexOf('### Where the SBC page'));

describe("docs/onboarding.md's worked session", () => {
  it('sends the bodies the demo script sends, page by page, which an npm start test runs', () => {
    const bodies = [...section.matchAll(/ -d '([^']+)'/g)].map((m) => JSON.parse(m[1] ?? ''));
    const pages = DEMO_ONBOARDING_PAGES;
    expect(bodies).toEqual([
      pages.customer,
      pages.dns,
      pages.m365Routing,
      pages.sbc,
      pages.prefixes,
      pages.sbcScripts,
      { dryRun: true },
      { dryRun: false },
    ]);
  });

  it('visits the pages in the order the script does', () => {
    const script = readFileSync('dev/demo-onboarding.ts', 'utf8');
    // First visits: the document submits twice (dry run, then for real) where the script calls one helper twice.
    const order = (text: string, pattern: RegExp) => [
      ...new Set([...text.matchAll(pattern)].map((m) => m[1])),
    ];
    const docPages = order(section, /\$ID\/([a-z0-9-]+)/g);
    const scriptPages = order(script, /\$\{session\}\/([a-z0-9-]+)/g);
    expect(docPages).toEqual(scriptPages);
  });
});
