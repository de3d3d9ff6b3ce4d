import { describe, expect, it } from 'vitest';
import { compose, type EdgeStep } from '../../shared/http/edge/compose.js';
import { edgeContext } from './edge-fixtures.js';

describe('compose', () => {
  it('runs the steps as an onion, the first outermost, the inner step last', async () => {
    const seen: string[] = [];
    const step =
      (name: string): EdgeStep =>
      async (_ctx, next) => {
        seen.push(`${name} in`);
        await next();
        seen.push(`${name} out`);
      };
    await compose([step('a'), step('b')])(edgeContext({}), async () => {
      seen.push('handler');
    });
    expect(seen).toEqual(['a in', 'b in', 'handler', 'b out', 'a out']);
  });

  it('lets a step answer without calling the steps inside it', async () => {
    let handled = false;
    const refuse: EdgeStep = async (ctx) => {
      ctx.response = { status: 403 };
    };
    const ctx = edgeContext({});
    await compose([refuse])(ctx, async () => {
      handled = true;
    });
    expect(handled).toBe(false);
    expect(ctx.response).toEqual({ status: 403 });
  });
});
