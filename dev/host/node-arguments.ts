/**
 * The V8 flags of the process that runs the functions: in Azure the App Setting `languageWorkers__node__arguments`
 * (infra/main.bicep, checked equal by test/infra/bicep.test.ts), locally the bench's processes that run the local
 * host, so that the bench measures the heap Azure runs. Why these: docs/decisions.md §81. Neither lowers the heap
 * limit, so no cycle that fits today's heap can run out of memory; they only make V8 collect sooner.
 */
export const WORKER_NODE_ARGUMENTS: readonly string[] = [
  '--max-semi-space-size=8',
  '--heap-growing-percent=25',
];
