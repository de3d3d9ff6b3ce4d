import type { EdgeContext } from './context.js';

/** One policy of the edge: it may act before and after the steps inside it, or answer without calling them. */
export type EdgeStep = (ctx: EdgeContext, next: () => Promise<void>) => Promise<void>;

/** Hono-style onion: the first step is outermost; the last `next` runs `inner` (the handler). */
export function compose(steps: readonly EdgeStep[]): (ctx: EdgeContext, inner: EdgeStep) => Promise<void> {
  return (ctx, inner) => {
    const chain = [...steps, inner];
    const run = async (index: number): Promise<void> => {
      const step = chain[index];
      if (step) await step(ctx, () => run(index + 1));
    };
    return run(0);
  };
}
