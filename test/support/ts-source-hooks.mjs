// Node module hooks that let a plain `node` child import the product's TypeScript sources, and that record every
// module Node loads through them in the file named by LOADED_MODULES_FILE: what a test of the entry point's module
// graph reads. Types are stripped as tsc emits them under the project's verbatimModuleSyntax (only `import type`
// and `type` specifiers go), by vite's transform (oxc), which is fast enough to transpile the app in a test.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { fileURLToPath, URL } from 'node:url';
import { transformWithOxc } from 'vite';

const record = process.env.LOADED_MODULES_FILE;

export async function resolve(specifier, context, next) {
  // The sources import each other by their emitted names (./x.js), as NodeNext requires.
  if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
    const url = new URL(`${specifier.slice(0, -'.js'.length)}.ts`, context.parentURL);
    if (existsSync(fileURLToPath(url))) return { url: url.href, shortCircuit: true };
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (record) appendFileSync(record, `${url}\n`);
  if (!url.endsWith('.ts')) return next(url, context);
  const fileName = fileURLToPath(url);
  const { code } = await transformWithOxc(readFileSync(fileName, 'utf8'), fileName, {
    lang: 'ts',
    typescript: { onlyRemoveTypeImports: true },
  });
  return { format: 'module', source: code, shortCircuit: true };
}
