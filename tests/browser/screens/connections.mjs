// Connections: create a token with a scope, see its secret once, use it
// against the API, revoke it, and see it refused.

import { BASE, assert, screen } from '../lib.mjs';

const audit = (token) => fetch(`${BASE}/admin/v1/audit?limit=1`, { headers: { Authorization: `Bearer ${token}` } });

export async function tokenOnce(page) {
  await page.goto(`${BASE}/console/users`);
  page.documents.splice(0);
  await page.getByRole('link', { name: 'Connections' }).click();
  await page.waitForURL(/\/console\/connections$/);
  await page.getByRole('heading', { name: 'Identity providers' }).waitFor();
  await screen(page, 'connections');
  await page.getByLabel('Name').fill('walk-reports');
  await page.locator('#scope-audit').check();
  await page.getByRole('button', { name: 'Create token' }).click();
  await page.getByRole('heading', { name: 'Token created' }).waitFor();
  const secret = await page.getByLabel('Token', { exact: true }).inputValue();
  assert(/^rc_[0-9a-f]{12}_/.test(secret), `a token: ${secret.slice(0, 16)}`);
  await screen(page, 'token-created');
  const used = await audit(secret);
  assert(used.status === 200, `the new token reads the audit trail: ${used.status}`);
  await page.goto(`${BASE}/console/connections`);
  assert(!(await page.content()).includes(secret), 'the secret again on Connections');
  const row = page.locator('tr', { hasText: 'walk-reports' });
  assert((await row.locator('td[data-label="Last used"]').textContent()) !== 'Never', 'its last use is shown');
  await page.getByRole('link', { name: 'Revoke token walk-reports' }).click();
  await page.getByRole('heading', { name: 'Revoke token walk-reports' }).waitFor();
  await page.getByRole('button', { name: 'Revoke token' }).click();
  await page.waitForURL(/\/console\/connections$/);
  const state = await page.locator('tr', { hasText: 'walk-reports' }).locator('td[data-label="State"]').textContent();
  assert(state.startsWith('Revoked'), `revoked: ${state}`);
  const refused = await audit(secret);
  assert(refused.status === 401, `a revoked token is refused: ${refused.status}`);
  page.documents.splice(0);
}
