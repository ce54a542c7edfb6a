// The Requests screen: a refused token and a failed create are sent over
// SCIM, then the page shows the provisioning token's health, the refusal
// and the failure with its body masked; filter to errors with the keyboard.

import { BASE, assert, env, screen } from '../lib.mjs';

export async function requestsScreens(page) {
  const token = env('SCIM_TOKEN');
  const forged = `${token.slice(0, 15)}_not-the-secret`;
  const headers = (t) => ({ Authorization: `Bearer ${t}`, 'Content-Type': 'application/scim+json' });
  const refused = await page.request.get(`${BASE}/scim/v2/Users`, { headers: headers(forged) });
  assert(refused.status() === 401, `a forged token is refused: ${refused.status()}`);
  const bad = await page.request.post(`${BASE}/scim/v2/Users`, {
    headers: headers(token),
    data: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'walk-bad@acme.test', active: 'maybe', password: 'Walk-secret-1' }),
  });
  assert(bad.status() === 400, `a bad create is refused: ${bad.status()}`);
  await page.goto(`${BASE}/console/requests`);
  await page.getByRole('heading', { name: 'Requests', exact: true }).waitFor();
  const health = await page.locator('td[data-label="Health"]').allTextContents();
  assert(health.includes('Failing'), `the token's last request failed: ${health}`);
  const statuses = await page.locator('td[data-label="Status"]').allTextContents();
  assert(statuses[0] === '400' && statuses[1] === '401', `newest first: ${statuses.slice(0, 3)}`);
  const body = page.getByText('Request body (secrets masked)').first();
  await body.click();
  const text = await page.locator('pre.body').first().textContent();
  assert(text.includes('********') && !text.includes('Walk-secret'), `masked: ${text}`);
  assert(!(await page.content()).includes('not-the-secret'), 'the presented secret is not shown');
  await screen(page, 'requests');
  // Errors only, with the keyboard.
  await page.getByLabel('Status').focus();
  await page.keyboard.press('ArrowDown');
  await page.getByRole('button', { name: 'Apply' }).focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(/status=errors/);
  const errors = await page.locator('td[data-label="Status"]').allTextContents();
  assert(errors.length >= 2 && errors.every((s) => Number(s) >= 400), `errors only: ${errors}`);
  await screen(page, 'requests-errors', { shot: false });
  page.documents.splice(0);
}
