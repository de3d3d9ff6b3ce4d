import type * as CsvParse from 'csv-parse/sync';
import type * as CsvStringify from 'csv-stringify/sync';
import { lazyRequire } from './lazy.js';

/** csv-parse and csv-stringify, loaded with the first CSV read or written, not at start-up (docs/decisions.md, 82). */
export const csvParse = lazyRequire<typeof CsvParse>('csv-parse/sync');
export const csvStringify = lazyRequire<typeof CsvStringify>('csv-stringify/sync');
