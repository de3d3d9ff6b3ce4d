// `node --import` this file to run the product's TypeScript sources in a plain child (see ts-source-hooks.mjs).
import { register } from 'node:module';

register('./ts-source-hooks.mjs', import.meta.url);
