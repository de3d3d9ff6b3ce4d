/** The API's app roles (docs/access.md). */
export type Role = 'provider-admin' | 'channel-admin' | 'customer-admin';
