import { memoryTables } from '../../shared/storage/memory-tables.js';
import { azureRefusals } from './azure-cost-tables.js';
import { serveTables } from './ipc-tables.js';

/**
 * The replication bench's Table storage: the in-memory twin, in a process of its own that the product's process
 * starts and talks to over its IPC channel (ipc-tables.ts), as Azure's storage is a service of its own. Its rows are
 * not in the product's RSS, and its work neither runs on the product's event loop nor delays the sandbox's Graph
 * answers in the bench's parent (it did when the twin lived there: a cycle's Graph pages came ~40 % slower than
 * the floor's, the parent's one thread storing a million rows meanwhile).
 */
serveTables(process, azureRefusals(memoryTables()));
process.on('disconnect', () => process.exit(0));
