import { isDomainError } from './domain-errors.js';

/**
 * A lookup that throws when the thing does not exist, read as null; every other failure (a storage outage above
 * all) is thrown on, so that it is retried and never taken for "there is none".
 */
export async function nullIfNotFound<T>(lookup: Promise<T>): Promise<T | null> {
  try {
    return await lookup;
  } catch (error) {
    if (isDomainError(error, 'not_found')) return null;
    throw error;
  }
}
