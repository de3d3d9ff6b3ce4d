/** Demo customers for the local run; created through the API, so a second start finds them and skips them. */
const DEMO_CUSTOMERS = [
  { fullName: 'Contoso Ltd', shortName: 'Contoso', licenseType: 'Hosted Pro', licensedUsers: 20 },
  { fullName: 'Fabrikam Inc', shortName: 'Fabrikam', licenseType: 'Hosted Essentials +', licensedUsers: 10 },
  { fullName: 'Northwind Traders', shortName: 'Northwind', licenseType: 'Hosted Essentials' },
] as const;

export async function seedDemoData(apiBaseUrl: string, token: string): Promise<void> {
  for (const customer of DEMO_CUSTOMERS) {
    const response = await fetch(`${apiBaseUrl}/customers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(customer),
    });
    if (response.status !== 201 && response.status !== 409) {
      throw new Error(`Seeding ${customer.shortName} failed: ${response.status} ${await response.text()}`);
    }
  }
}
