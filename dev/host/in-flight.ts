/** Tracks running invocations so that close() can wait for them instead of cutting them off. */
export class InFlight {
  readonly #running = new Set<Promise<unknown>>();

  track<T>(work: Promise<T>): Promise<T> {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.#running.add(settled);
    void settled.then(() => this.#running.delete(settled));
    return work;
  }

  get size(): number {
    return this.#running.size;
  }

  async drain(): Promise<void> {
    // Work may start more work while draining (a handler finishing lets a queue batch complete), so loop.
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }
}
